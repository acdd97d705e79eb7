#include "proto/channel_credentials.h"

#include <grpcpp/security/credentials.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "common/pem_file.h"
#include "common/status_macros.h"

namespace affsig {
namespace {

std::string OrVariable(std::string flag_value, const char* variable) {
  if (!flag_value.empty()) return flag_value;
  const char* value = std::getenv(variable);
  return value != nullptr ? value : "";
}

}  // namespace

ChannelSecurity ChannelSecurityFromFlags(bool tls, std::string ca_file, std::string cert_file,
                                         std::string key_file) {
  ChannelSecurity security;
  security.ca_file = OrVariable(std::move(ca_file), "AFFSIG_TLS_CA");
  security.cert_file = OrVariable(std::move(cert_file), "AFFSIG_TLS_CERT");
  security.key_file = OrVariable(std::move(key_file), "AFFSIG_TLS_KEY");
  security.tls = tls || OrVariable("", "AFFSIG_TLS") == "1" || !security.ca_file.empty() ||
                 !security.cert_file.empty();
  return security;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> GrpcChannelCredentials(
    const ChannelSecurity& security, const std::string& address) {
  if (!security.tls || absl::StartsWith(address, "unix:") ||
      absl::StartsWith(address, "unix-abstract:")) {
    return grpc::InsecureChannelCredentials();
  }
  if (security.cert_file.empty() != security.key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: give both or neither");
  }
  grpc::SslCredentialsOptions options;  // empty roots: the system's
  if (!security.ca_file.empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs, ReadPemFile("--tls-ca", security.ca_file));
  }
  if (!security.cert_file.empty()) {
    ASSIGN_OR_RETURN(options.pem_cert_chain, ReadPemFile("--tls-cert", security.cert_file));
    ASSIGN_OR_RETURN(options.pem_private_key, ReadPemFile("--tls-key", security.key_file));
  }
  return grpc::SslCredentials(options);
}

}  // namespace affsig
