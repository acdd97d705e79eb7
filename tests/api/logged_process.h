// A program that integration tests run beside the server — a worker, Prometheus, a WebDriver —
// in its own process, its output kept in a log file that tests can wait on. It dies with the test.
#ifndef AFFSIG_TESTS_API_LOGGED_PROCESS_H_
#define AFFSIG_TESTS_API_LOGGED_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace affsig::testing {

class LoggedProcess {
 public:
  // Runs `argv` (argv[0] a path), stdout and stderr to `log_path`.
  static absl::StatusOr<LoggedProcess> Start(const std::vector<std::string>& argv,
                                             const std::string& log_path);
  LoggedProcess(LoggedProcess&& other) noexcept;
  ~LoggedProcess();

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
  LoggedProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_ = -1;
  std::string log_path_;
};

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_API_LOGGED_PROCESS_H_
