// How the server's clients — the command-line client and the workers — secure their channel:
// TLS when asked for (--tls, a CA, or a client certificate), verifying the server with the CA
// given or else the system's roots, and presenting a client certificate when one is given
// (workers, to a server with --tls-client-ca); plaintext otherwise.
#ifndef AFFSIG_PROTO_CHANNEL_CREDENTIALS_H_
#define AFFSIG_PROTO_CHANNEL_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class ChannelCredentials;
}

namespace affsig {

struct ChannelSecurity {
  bool tls = false;
  std::string ca_file;    // PEM: the authority to verify the server with; "": the system's roots
  std::string cert_file;  // PEM: a client certificate, with key_file; "": none
  std::string key_file;
};

// From the flags --tls, --tls-ca, --tls-cert and --tls-key, each empty one replaced by its
// variable ($AFFSIG_TLS=1, $AFFSIG_TLS_CA, $AFFSIG_TLS_CERT, $AFFSIG_TLS_KEY). A CA or a
// certificate means TLS.
ChannelSecurity ChannelSecurityFromFlags(bool tls, std::string ca_file, std::string cert_file,
                                         std::string key_file);

// The credentials for a channel to `address`, the files read now (errors name their flag). A
// Unix socket ("unix:", "unix-abstract:"; the server's local workers use one) is always
// plaintext: nothing on it crosses the network.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> GrpcChannelCredentials(
    const ChannelSecurity& security, const std::string& address);

}  // namespace affsig

#endif  // AFFSIG_PROTO_CHANNEL_CREDENTIALS_H_
