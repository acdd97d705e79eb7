#include "server/auth/token_registry.h"

#include <openssl/crypto.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace affsig::auth {
namespace {

std::set<std::string> Names(const std::vector<TokenEntry>& entries) {
  std::set<std::string> names;
  for (const TokenEntry& entry : entries) names.insert(entry.caller.user);
  return names;
}

std::string Difference(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::vector<std::string> only_in_a;
  for (const std::string& name : a) {
    if (b.count(name) == 0) only_in_a.push_back(name);
  }
  return only_in_a.empty() ? "none" : absl::StrJoin(only_in_a, ",");
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenRegistry>> TokenRegistry::Open(const std::string& tokens_file) {
  ASSIGN_OR_RETURN(std::vector<TokenEntry> entries, ReadTokensFile(tokens_file));
  std::unique_ptr<TokenRegistry> registry(new TokenRegistry(tokens_file));
  absl::MutexLock lock(&registry->mutex_);
  registry->file_entries_ = std::move(entries);
  return registry;
}

absl::StatusOr<std::string> TokenRegistry::Reload() {
  ASSIGN_OR_RETURN(std::vector<TokenEntry> entries, ReadTokensFile(path_));
  absl::MutexLock lock(&mutex_);
  const std::set<std::string> before = Names(file_entries_), after = Names(entries);
  file_entries_ = std::move(entries);
  return absl::StrCat("tokens file ", path_, " read again: ", after.size(), " users; added ",
                      Difference(after, before), "; removed ", Difference(before, after));
}

void TokenRegistry::AddBuiltIn(const core::Caller& caller, absl::string_view token) {
  absl::MutexLock lock(&mutex_);
  built_in_.push_back(TokenEntry{caller, TokenSha256(token)});
}

absl::StatusOr<core::Caller> TokenRegistry::Authenticate(absl::string_view authorization) const {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "no token: give --token, $AFFSIG_TOKEN or ~/.config/affsig/token");
  }
  absl::string_view token = authorization;
  if (!absl::ConsumePrefix(&token, "Bearer ") || token.empty()) {
    return absl::UnauthenticatedError("the authorization is not 'Bearer TOKEN'");
  }
  const std::string presented = TokenSha256(token);
  absl::ReaderMutexLock lock(&mutex_);
  const TokenEntry* found = nullptr;
  // Every entry is compared, and each comparison reads every byte: no early exit.
  for (const std::vector<TokenEntry>* entries : {&file_entries_, &built_in_}) {
    for (const TokenEntry& entry : *entries) {
      const bool equal =
          entry.token_sha256.size() == presented.size() &&
          CRYPTO_memcmp(entry.token_sha256.data(), presented.data(), presented.size()) == 0;
      if (equal) found = &entry;
    }
  }
  if (found == nullptr) return absl::UnauthenticatedError("unknown token");
  return found->caller;
}

absl::StatusOr<core::Caller> TokenRegistry::FindWorker(absl::string_view name) const {
  absl::ReaderMutexLock lock(&mutex_);
  for (const TokenEntry& entry : file_entries_) {
    if (entry.caller.user == name && entry.caller.role == core::Role::kWorker) return entry.caller;
  }
  return absl::UnauthenticatedError(absl::StrCat("no token, and the client certificate's name '",
                                                 name, "' is no worker's in the tokens file"));
}

}  // namespace affsig::auth
