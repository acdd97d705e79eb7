// SHA-256, the name of every uploaded blob: streamed (uploads, fetches) or of a whole file.
#ifndef AFFSIG_COMMON_SHA256_H_
#define AFFSIG_COMMON_SHA256_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view bytes);
  // Lower-case hex of everything updated so far; call once.
  std::string HexDigest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// The sha256 of a file, lower-case hex; NOT_FOUND when it cannot be opened.
absl::StatusOr<std::string> FileSha256(const std::string& path);

// True for 64 lower- or upper-case hex digits.
bool IsSha256Hex(absl::string_view text);

}  // namespace affsig

#endif  // AFFSIG_COMMON_SHA256_H_
