// Runs the real affsig-worker binary for integration tests, as a remote worker would run: its own
// process, flags and cache folder, its log kept in a file that tests can wait on.
#ifndef AFFSIG_TESTS_API_WORKER_PROCESS_H_
#define AFFSIG_TESTS_API_WORKER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace affsig::testing {

class WorkerProcess {
 public:
  // affsig-worker --server=`server` `flags`..., stdout and stderr to `log_path`.
  static absl::StatusOr<WorkerProcess> Start(const std::string& server,
                                             const std::vector<std::string>& flags,
                                             const std::string& log_path);
  WorkerProcess(WorkerProcess&& other) noexcept;
  ~WorkerProcess();

  pid_t pid() const { return pid_; }
  // Sends `signal` without waiting (SIGSTOP, SIGCONT).
  void Signal(int signal) const;
  // Sends `signal` and waits; returns the exit status (or 128 + signal when killed by it).
  int Stop(int signal);
  // Waits for the process to end by itself, up to `timeout`; -1 if it did not.
  int Wait(absl::Duration timeout);
  std::string Log() const;
  // True once the log holds `text`; false when `timeout` passed first.
  bool WaitForLog(const std::string& text, absl::Duration timeout) const;

 private:
  WorkerProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_ = -1;
  std::string log_path_;
};

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_API_WORKER_PROCESS_H_
