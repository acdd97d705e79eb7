// Runs the real affsig-worker binary for integration tests, as a remote worker would run: its own
// process, flags and cache folder, its log kept in a file that tests can wait on.
#ifndef AFFSIG_TESTS_API_WORKER_PROCESS_H_
#define AFFSIG_TESTS_API_WORKER_PROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/api/logged_process.h"

namespace affsig::testing {

class WorkerProcess : public LoggedProcess {
 public:
  // affsig-worker --server=`server` `flags`..., stdout and stderr to `log_path`.
  static absl::StatusOr<WorkerProcess> Start(const std::string& server,
                                             const std::vector<std::string>& flags,
                                             const std::string& log_path);

 private:
  explicit WorkerProcess(LoggedProcess process) : LoggedProcess(std::move(process)) {}
};

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_API_WORKER_PROCESS_H_
