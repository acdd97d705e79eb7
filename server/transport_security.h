// How affsig-server's ports are secured (issue 13). With --tls-cert and --tls-key every port
// speaks TLS: the gRPC port, and the HTTP port with the same certificate. With --tls-client-ca the
// gRPC port also asks clients for a certificate and verifies one that is presented against that
// authority (workers present one; users may go without). Without TLS a port serves plaintext only
// on a loopback address, where nothing crosses the network; anywhere else only with --insecure,
// and says so in a warning.
#ifndef AFFSIG_SERVER_TRANSPORT_SECURITY_H_
#define AFFSIG_SERVER_TRANSPORT_SECURITY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class ServerCredentials;
}

namespace affsig {

struct TransportSecurity {
  std::string tls_cert;       // PEM: the server's certificate (chain); TLS on every port
  std::string tls_key;        // PEM: its private key
  std::string tls_client_ca;  // PEM: the authority that client certificates must verify against
  bool insecure = false;      // plaintext allowed on a non-loopback address
  bool tls() const { return !tls_cert.empty(); }
};

// The gRPC port's credentials: TLS from the files (read and checked now), else plaintext.
// INVALID_ARGUMENT, naming the flags, for a certificate without its key (or the reverse),
// --tls-client-ca without TLS, --insecure with TLS, or a file that is not PEM.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const TransportSecurity& security);

// 127.0.0.0/8, ::1 and localhost (HOST of a HOST:PORT address): hosts no other machine reaches.
bool IsLoopbackAddress(absl::string_view address);

// Whether the port that `flag` (e.g. "--listen") asks for at `address` (HOST:PORT) may be
// served as `security` says: with TLS, or plaintext on loopback, or plaintext elsewhere with
// --insecure (then it logs a warning). FAILED_PRECONDITION otherwise, naming the flags to give.
absl::Status CheckListenAddress(const TransportSecurity& security, absl::string_view flag,
                                absl::string_view address);

}  // namespace affsig

#endif  // AFFSIG_SERVER_TRANSPORT_SECURITY_H_
