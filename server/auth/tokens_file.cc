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

bool IsUserName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@') return false;
  }
  return true;
}

absl::Status CheckUserName(absl::string_view name) {
  if (IsUserName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "user name '", name, "': 1 to 64 letters, digits and . _ - @"));
}

// One "key=value" quota field of a line.
absl::Status ParseQuota(absl::string_view field, core::UserQuotas& quotas) {
  const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(field, '=');
  int64_t value = 0;
  if (!absl::SimpleAtoi(kv.second, &value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", field, "': a quota is a number, 0 or more"));
  }
  if (kv.first == "max_queued_jobs") {
    quotas.max_queued_jobs = value;
  } else if (kv.first == "max_upload_mb") {
    quotas.max_upload_bytes = value << 20;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown field '", kv.first, "': max_queued_jobs=N or max_upload_mb=N"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenEntry> ParseLine(absl::string_view line) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() < 3) {
    return absl::InvalidArgumentError("expected NAME ROLE SHA256 [max_queued_jobs=N] "
                                      "[max_upload_mb=N]");
  }
  TokenEntry entry;
  RETURN_IF_ERROR(CheckUserName(fields[0]));
  entry.caller.user = std::string(fields[0]);
  ASSIGN_OR_RETURN(entry.caller.role, core::ParseRole(fields[1]));
  if (!IsSha256Hex(fields[2])) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", fields[2], "' is not a sha256 (64 hex digits) of a token"));
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
    return absl::NotFoundError(absl::StrCat("cannot read the tokens file ", path, ": ",
                                            std::strerror(errno)));
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
      return absl::InvalidArgumentError(absl::StrCat(
          source, ":", number, ": the token of '", entry->caller.user, "' is another user's"));
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
  return absl::StrCat(kTokenPrefix,
                      absl::BytesToHexString(absl::string_view(
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
  const std::string line = absl::StrCat(
      text.empty() || absl::EndsWith(text, "\n") ? "" : "\n", name, " ", core::RoleName(role), " ", TokenSha256(token), "\n");
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
