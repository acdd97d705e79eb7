// The PEM files that TLS is set up from (certificates, keys, certificate authorities): read
// whole, with an error that names the flag they came from, so that a wrong path or a file of the
// wrong kind is one clear line at start rather than a handshake that fails later.
#ifndef AFFSIG_COMMON_PEM_FILE_H_
#define AFFSIG_COMMON_PEM_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig {

// The contents of `path`, given as `flag` (e.g. "--tls-ca"). INVALID_ARGUMENT, naming
// "flag=path", when it cannot be read or holds no PEM block ("-----BEGIN ").
absl::StatusOr<std::string> ReadPemFile(absl::string_view flag, const std::string& path);

}  // namespace affsig

#endif  // AFFSIG_COMMON_PEM_FILE_H_
