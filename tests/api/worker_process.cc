#include "tests/api/worker_process.h"

#include <utility>

namespace affsig::testing {

absl::StatusOr<WorkerProcess> WorkerProcess::Start(const std::string& server,
                                                   const std::vector<std::string>& flags,
                                                   const std::string& log_path) {
  std::vector<std::string> args = {AFFSIG_WORKER_BINARY, "--server=" + server, "--threads=1"};
  args.insert(args.end(), flags.begin(), flags.end());
  auto process = LoggedProcess::Start(args, log_path);
  if (!process.ok()) return process.status();
  return WorkerProcess(*std::move(process));
}

}  // namespace affsig::testing
