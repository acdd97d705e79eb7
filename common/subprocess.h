// Running another program to its end with its stdout and stderr kept apart: the server runs
// squeue and sbatch, tests run the client and check its contract (exit codes, stdout for results
// only). The child starts with no signal blocked, whatever the caller blocks (the server blocks
// SIGTERM in every thread for its signal thread).
#ifndef AFFSIG_COMMON_SUBPROCESS_H_
#define AFFSIG_COMMON_SUBPROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace affsig {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] a path, or a name looked up in PATH) with `environment` ("NAME=value")
// added to ours. UNAVAILABLE when it cannot be started; DEADLINE_EXCEEDED, the command killed,
// when it runs longer than `timeout`.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& environment = {},
                                         absl::Duration timeout = absl::InfiniteDuration());

}  // namespace affsig

#endif  // AFFSIG_COMMON_SUBPROCESS_H_
