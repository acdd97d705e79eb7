// Runs the real affsig-server binary for integration tests: 127.0.0.1 with a kernel-picked port.
#ifndef AFFSIG_TESTS_API_SERVER_PROCESS_H_
#define AFFSIG_TESTS_API_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace affsig::testing {

// The affsig-server binary of this build.
std::string ServerBinary();

class ServerProcess {
 public:
  // Starts the server (`binary`, by default this build's) with --listen=127.0.0.1:0 --threads=1
  // and `flags` (which may override them), and waits for its address lines. Its log (stderr)
  // goes to `log_path` when given, else to the test's.
  static absl::StatusOr<ServerProcess> Start(const std::vector<std::string>& flags,
                                             const std::string& binary = ServerBinary(),
                                             const std::string& log_path = "");
  ServerProcess(ServerProcess&& other) noexcept;
  ~ServerProcess();

  const std::string& address() const { return address_; }
  // HOST:PORT of its HTTP port (given --http-listen); "" without one.
  const std::string& http_address() const { return http_address_; }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits; returns the exit status (or 128 + signal when killed by it).
  int Stop(int signal);

 private:
  ServerProcess(pid_t pid, std::string address, std::string http_address)
      : pid_(pid), address_(std::move(address)), http_address_(std::move(http_address)) {}
  pid_t pid_ = -1;
  std::string address_;
  std::string http_address_;
};

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_API_SERVER_PROCESS_H_
