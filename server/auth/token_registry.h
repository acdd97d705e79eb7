// The users a server with --auth-tokens knows now, and the one place a presented token is
// checked. Users come from the tokens file (re-read on SIGHUP) and from the server itself (its
// local workers' token, made at start and never written anywhere).
#ifndef AFFSIG_SERVER_AUTH_TOKEN_REGISTRY_H_
#define AFFSIG_SERVER_AUTH_TOKEN_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/tokens_file.h"
#include "server/core/caller.h"

namespace affsig::auth {

class TokenRegistry {
 public:
  static absl::StatusOr<std::unique_ptr<TokenRegistry>> Open(const std::string& tokens_file);

  // Reads the tokens file again; on an error the users stay as they were. Returns a line for
  // the log saying who was added and removed.
  absl::StatusOr<std::string> Reload();
  // A user the file does not name, with their token; kept across reloads.
  void AddBuiltIn(const core::Caller& caller, absl::string_view token);

  // The caller an `authorization` header's value ("Bearer TOKEN") names. UNAUTHENTICATED
  // otherwise, with a message that never repeats the token. The token's hash is compared with
  // every user's in constant time, so that the time taken tells nothing of how close it came.
  absl::StatusOr<core::Caller> Authenticate(absl::string_view authorization) const;
  // The worker the file names `name` (a verified client certificate's common name): a
  // certificate is revoked, as a token is, by removing the worker's line. UNAUTHENTICATED when
  // no `worker` line has that name.
  absl::StatusOr<core::Caller> FindWorker(absl::string_view name) const;

 private:
  explicit TokenRegistry(std::string path) : path_(std::move(path)) {}

  const std::string path_;
  mutable absl::Mutex mutex_;
  std::vector<TokenEntry> file_entries_ ABSL_GUARDED_BY(mutex_);
  std::vector<TokenEntry> built_in_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace affsig::auth

#endif  // AFFSIG_SERVER_AUTH_TOKEN_REGISTRY_H_
