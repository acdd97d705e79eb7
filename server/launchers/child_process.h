// Starting workers from the server, which is multi-threaded and blocks SIGTERM and SIGINT in every
// thread (a signal thread takes them): children get a clean signal mask and are bound to the
// server's life. (Commands that run to their end: common/subprocess.h.)
#ifndef AFFSIG_SERVER_LAUNCHERS_CHILD_PROCESS_H_
#define AFFSIG_SERVER_LAUNCHERS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace affsig::launchers {

struct Child {
  pid_t pid = -1;
  int output_fd = -1;  // the child's stdout and stderr, merged; the caller closes it
};

// Starts `argv` (argv[0] a path) in its own process group, its stdout and stderr into one pipe.
// The child is killed when the server dies, however it dies (PR_SET_PDEATHSIG), so that no worker
// outlives the server that leased its job. `environment` (NAME=VALUE entries) adds to, or
// replaces in, the server's own environment.
absl::StatusOr<Child> SpawnBoundChild(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& environment = {});

// "exit status N" or "signal N", from waitpid's status.
std::string DescribeExit(int wait_status);

}  // namespace affsig::launchers

#endif  // AFFSIG_SERVER_LAUNCHERS_CHILD_PROCESS_H_
