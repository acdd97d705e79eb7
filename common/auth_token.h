// The token a client or worker presents to a server with --auth-tokens, from the first of: the
// --token flag, $AFFSIG_TOKEN, the first line of ~/.config/affsig/token. The file is refused
// unless only its owner may read it (mode 0600), as ssh refuses a private key others can read.
#ifndef AFFSIG_COMMON_AUTH_TOKEN_H_
#define AFFSIG_COMMON_AUTH_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"

namespace affsig {

// "" when none is given anywhere (a server without --auth-tokens wants none). The file is
// $XDG_CONFIG_HOME/affsig/token where that is set.
absl::StatusOr<std::string> FindAuthToken(const std::string& flag_value);

}  // namespace affsig

#endif  // AFFSIG_COMMON_AUTH_TOKEN_H_
