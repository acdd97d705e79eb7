#include "server/transport_security.h"

#include <arpa/inet.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log_line.h"
#include "common/pem_file.h"
#include "common/status_macros.h"

namespace affsig {
namespace {

// gRPC finds a key that is not the certificate's only when it binds the port, and then says no
// more than that it cannot listen: checked here, to say which file is wrong.
absl::Status CheckKeyFitsCertificate(
    const TransportSecurity& security,
    const grpc::SslServerCredentialsOptions::PemKeyCertPair& pair) {
  const auto read = [](const std::string& pem, auto read_pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    // A callback that gives no passphrase: OpenSSL's own would ask for one on the terminal.
    pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
    return read_pem(bio.get(), nullptr, no_passphrase, nullptr);
  };
  std::unique_ptr<X509, decltype(&X509_free)> certificate(read(pair.cert_chain, PEM_read_bio_X509),
                                                          X509_free);
  if (certificate == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-cert=", security.tls_cert, ": no certificate in it"));
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      read(pair.private_key, PEM_read_bio_PrivateKey), EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-key=", security.tls_key,
                     ": no private key in it (one with a passphrase is not read)"));
  }
  if (X509_check_private_key(certificate.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-key=", security.tls_key, " is not the key of --tls-cert=", security.tls_cert));
  }
  return absl::OkStatus();
}

// 127.0.0.0/8, ::1 (also "[::1]") and "localhost": addresses no other machine reaches.
bool IsLoopbackHost(absl::string_view host) {
  const std::string bare(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
  if (absl::AsciiStrToLower(bare) == "localhost") return true;
  in_addr ipv4;
  if (inet_pton(AF_INET, bare.c_str(), &ipv4) == 1) return (ntohl(ipv4.s_addr) >> 24) == 127;
  in6_addr ipv6;
  return inet_pton(AF_INET6, bare.c_str(), &ipv6) == 1 && IN6_IS_ADDR_LOOPBACK(&ipv6);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const TransportSecurity& security) {
  if (security.tls_cert.empty() != security.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: give both or neither");
  }
  if (!security.tls()) {
    if (!security.tls_client_ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-ca needs TLS: give --tls-cert and --tls-key too");
    }
    return grpc::InsecureServerCredentials();
  }
  if (security.insecure) {
    return absl::InvalidArgumentError(
        "--insecure allows plaintext; with --tls-cert it means nothing: give one or the other");
  }
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPemFile("--tls-cert", security.tls_cert));
  ASSIGN_OR_RETURN(pair.private_key, ReadPemFile("--tls-key", security.tls_key));
  RETURN_IF_ERROR(CheckKeyFitsCertificate(security, pair));
  // A client certificate is asked for but not required: users may connect without one (their
  // identity comes from elsewhere), while one that is presented must verify, so that the
  // identity it carries (context->auth_context(): x509_common_name) can be trusted.
  grpc::SslServerCredentialsOptions options(security.tls_client_ca.empty()
                                                ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!security.tls_client_ca.empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs,
                     ReadPemFile("--tls-client-ca", security.tls_client_ca));
  }
  options.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(options);
}

bool IsLoopbackAddress(absl::string_view address) {
  return IsLoopbackHost(address.substr(0, address.rfind(':')));
}

absl::Status CheckListenAddress(const TransportSecurity& security, absl::string_view flag,
                                absl::string_view address) {
  if (security.tls()) return absl::OkStatus();
  if (IsLoopbackAddress(address)) return absl::OkStatus();
  if (!security.insecure) {
    return absl::FailedPreconditionError(absl::StrCat(
        flag, "=", address, " is reachable from other machines: serve TLS there (--tls-cert and ",
        "--tls-key), or pass --insecure to allow plaintext"));
  }
  LogLine(absl::StrCat("warning: ", flag, "=", address, " serves plaintext (--insecure): anyone ",
                       "on the network can read and send its requests; --tls-cert and --tls-key ",
                       "serve TLS"));
  return absl::OkStatus();
}

}  // namespace affsig
