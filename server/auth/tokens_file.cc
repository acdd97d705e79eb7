#include "server/auth/tokens_file.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace affsig::auth {
namespace {

constexpr char kTokenPrefix[] = "affsig_";
constexpr int kTokenBytes = 32;

// Names the server gives itself: the owner of jobs from before identities and the local workers.
constexpr absl::string_view kReservedNames[] = {kUnknownOwner, core::kLocalWorkersUser};

bool IsUserName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@') return false;
  }
  return true;
}

// The messages about a line never repeat its fields: an admin who pasted a token where its hash
// belongs would find it in the server's log otherwise.
absl::Status CheckUserName(absl::string_view name) {
  if (!IsUserName(name)) {
    return absl::InvalidArgumentError("a user's name is 1 to 64 letters, digits and . _ - @");
  }
  for (absl::string_view reserved : kReservedNames) {
    if (name == reserved) {
      return absl::InvalidArgumentError(
          absl::StrCat("the name '", reserved, "' is the server's own: choose another"));
    }
  }
  return absl::OkStatus();
}

// One "key=value" quota field of a line.
absl::Status ParseQuota(absl::string_view field, core::UserQuotas& quotas) {
  const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(field, '=');
  int64_t value = 0;
  // Up to 2^62: beyond, the sums of a user's bytes could overflow.
  if (!absl::SimpleAtoi(kv.second, &value) || value < 0 || value > (int64_t{1} << 62)) {
    return absl::InvalidArgumentError("a quota's value is a number, 0 or more");
  }
  if (kv.first == "max_queued_jobs") {
    quotas.max_queued_jobs = value;
  } else if (kv.first == "max_upload_bytes") {
    quotas.max_upload_bytes = value;
  } else {
    return absl::InvalidArgumentError(
        "after the hash only max_queued_jobs=N and max_upload_bytes=N may follow");
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenEntry> ParseLine(absl::string_view line) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() < 3) {
    return absl::InvalidArgumentError(
        "expected NAME ROLE SHA256 [max_queued_jobs=N] [max_upload_bytes=N]");
  }
  TokenEntry entry;
  RETURN_IF_ERROR(CheckUserName(fields[0]));
  entry.caller.user = std::string(fields[0]);
  absl::StatusOr<core::Role> role = core::ParseRole(fields[1]);
  if (!role.ok()) return absl::InvalidArgumentError("the role is user, admin or worker");
  entry.caller.role = *role;
  if (!IsSha256Hex(fields[2])) {
    return absl::InvalidArgumentError(
        "the third field is the sha256 (64 hex digits) of a token, never the token itself");
  }
  entry.token_sha256 = absl::AsciiStrToLower(fields[2]);
  for (size_t i = 3; i < fields.size(); ++i) {
    RETURN_IF_ERROR(ParseQuota(fields[i], entry.caller.quotas));
  }
  return entry;
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the tokens file ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::vector<TokenEntry>> ParseTokens(absl::string_view text,
                                                    absl::string_view source) {
  std::vector<TokenEntry> entries;
  std::set<std::string> names, hashes;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    auto entry = ParseLine(line);
    if (!entry.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", number, ": ", entry.status().message()));
    }
    if (!names.insert(entry->caller.user).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", number, ": user '", entry->caller.user, "' again"));
    }
    if (!hashes.insert(entry->token_sha256).second) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", number, ": the token of '",
                                                     entry->caller.user, "' is another user's"));
    }
    entries.push_back(*std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::vector<TokenEntry>> ReadTokensFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadText(path));
  return ParseTokens(text, path);
}

std::string NewToken() {
  unsigned char bytes[kTokenBytes];
  // OpenSSL's generator is seeded from the kernel's; it fails only when the kernel has none.
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    std::abort();
  }
  return absl::StrCat(kTokenPrefix, absl::BytesToHexString(absl::string_view(
                                        reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

std::string TokenSha256(absl::string_view token) {
  Sha256 sha;
  sha.Update(token);
  return sha.HexDigest();
}

absl::StatusOr<std::string> AddUser(const std::string& path, absl::string_view name,
                                    core::Role role) {
  RETURN_IF_ERROR(CheckUserName(name));
  std::string text;
  if (access(path.c_str(), F_OK) == 0) {
    ASSIGN_OR_RETURN(text, ReadText(path));
  }
  ASSIGN_OR_RETURN(std::vector<TokenEntry> entries, ParseTokens(text, path));
  for (const TokenEntry& entry : entries) {
    if (entry.caller.user == name) {
      return absl::AlreadyExistsError(absl::StrCat(path, " has a user '", name, "' already"));
    }
  }
  const std::string token = NewToken();
  const std::string line =
      absl::StrCat(text.empty() || absl::EndsWith(text, "\n") ? "" : "\n", name, " ",
                   core::RoleName(role), " ", TokenSha256(token), "\n");
  // The file names who may use the server: private to its owner, as an ssh authorized_keys.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  const ssize_t written = write(fd, line.data(), line.size());
  const bool closed = close(fd) == 0;
  if (written != static_cast<ssize_t>(line.size()) || !closed) {
    return absl::DataLossError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return token;
}

}  // namespace affsig::auth
