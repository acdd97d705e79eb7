#include "tests/api/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/subprocess.h"

namespace affsig::testing {

std::string ServerBinary() { return AFFSIG_SERVER_BINARY; }

absl::StatusOr<ServerProcess> ServerProcess::Start(const std::vector<std::string>& flags,
                                                   const std::string& binary,
                                                   const std::string& log_path) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return absl::InternalError("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // A test that crashes takes its servers with it (and so releases ctest's output pipe).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    if (!log_path.empty()) {
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) dup2(log, STDERR_FILENO);
    }
    // One LibTorch thread unless `flags` say otherwise: test servers run side by side.
    std::vector<std::string> args = {binary, "--listen=127.0.0.1:0", "--threads=1"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  FILE* out = fdopen(pipe_fds[0], "r");
  char line[512];
  // The HTTP address comes first when there is one, the gRPC address last.
  constexpr char kHttpPrefix[] = "affsig-server serving HTTP on ";
  constexpr char kPrefix[] = "affsig-server listening on ";
  std::string http_address;
  bool got_line = fgets(line, sizeof(line), out) != nullptr;
  if (got_line && absl::StartsWith(line, kHttpPrefix)) {
    http_address = std::string(absl::StripAsciiWhitespace(line + std::strlen(kHttpPrefix)));
    got_line = fgets(line, sizeof(line), out) != nullptr;
  }
  fclose(out);
  if (!got_line || !absl::StartsWith(line, kPrefix)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return absl::UnavailableError(absl::StrCat("the server did not start: ", got_line ? line : ""));
  }
  std::string rest(line + std::strlen(kPrefix));
  return ServerProcess(pid, rest.substr(0, rest.find(' ')), std::move(http_address));
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : pid_(other.pid_),
      address_(std::move(other.address_)),
      http_address_(std::move(other.http_address_)) {
  other.pid_ = -1;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGKILL);
}

int ServerProcess::Stop(int signal) {
  if (pid_ <= 0) return -1;
  const int status = SignalAndWait(pid_, signal);
  pid_ = -1;
  return status;
}

}  // namespace affsig::testing
