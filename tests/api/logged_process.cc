#include "tests/api/logged_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "tests/subprocess.h"

namespace affsig::testing {

absl::StatusOr<LoggedProcess> LoggedProcess::Start(const std::vector<std::string>& arguments,
                                                   const std::string& log_path) {
  std::vector<std::string> args = arguments;
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) return absl::InternalError("cannot open " + log_path);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that crashes takes its programs with it
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log);
  return LoggedProcess(pid, log_path);
}

LoggedProcess::LoggedProcess(LoggedProcess&& other) noexcept
    : pid_(other.pid_), log_path_(std::move(other.log_path_)) {
  other.pid_ = -1;
}

LoggedProcess::~LoggedProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGCONT);  // a stopped process cannot die of SIGKILL until it runs
    Stop(SIGKILL);
  }
}

void LoggedProcess::Signal(int signal) const {
  if (pid_ > 0) kill(pid_, signal);
}

int LoggedProcess::Stop(int signal) {
  if (pid_ <= 0) return -1;
  const int status = SignalAndWait(pid_, signal);
  pid_ = -1;
  return status;
}

int LoggedProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (pid_ > 0 && absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return -1;
}

std::string LoggedProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool LoggedProcess::WaitForLog(const std::string& text, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Log().find(text) != std::string::npos) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return Log().find(text) != std::string::npos;
}

}  // namespace affsig::testing
