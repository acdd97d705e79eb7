#include "tests/subprocess.h"

#include <signal.h>
#include <sys/wait.h>

namespace affsig::testing {

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& environment) {
  absl::StatusOr<CommandResult> result = RunCommand(argv, environment);
  if (!result.ok()) return {127, "", std::string(result.status().message())};
  return *std::move(result);
}

int SignalAndWait(pid_t pid, int signal) {
  kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace affsig::testing
