// The tokens file (--auth-tokens): who may call the server. One user per line,
//
//   NAME ROLE SHA256-OF-TOKEN [max_queued_jobs=N] [max_upload_bytes=N]
//
// ROLE is user, admin or worker; the optional fields override the server's per-user quotas for
// that user. Blank lines and lines starting with '#' are ignored. The names "unknown" and
// "local-workers" are the server's own. Only hashes are stored: the
// file reveals no token, and a token is shown once, by AddUser.
#ifndef AFFSIG_SERVER_AUTH_TOKENS_FILE_H_
#define AFFSIG_SERVER_AUTH_TOKENS_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/caller.h"

namespace affsig::auth {

struct TokenEntry {
  core::Caller caller;       // user, role and quotas
  std::string token_sha256;  // lower-case hex
};

// The entries of a tokens file's text; an error names `source` and the line. Names and hashes
// are unique.
absl::StatusOr<std::vector<TokenEntry>> ParseTokens(absl::string_view text,
                                                    absl::string_view source);
absl::StatusOr<std::vector<TokenEntry>> ReadTokensFile(const std::string& path);

// A new token: 256 random bits from the system's generator, as "affsig_" and 64 hex digits
// (the prefix lets secret scanners recognize a leaked one).
std::string NewToken();
std::string TokenSha256(absl::string_view token);

// Appends `name` with `role` and a new token to the file at `path` (created, mode 0600, when
// missing) and returns the token. ALREADY_EXISTS when the file names the user already.
absl::StatusOr<std::string> AddUser(const std::string& path, absl::string_view name,
                                    core::Role role);

}  // namespace affsig::auth

#endif  // AFFSIG_SERVER_AUTH_TOKENS_FILE_H_
