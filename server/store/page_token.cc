#include "server/store/page_token.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/error_reason.h"

namespace affsig::store {
namespace {

constexpr absl::string_view kTokenVersion = "p1";

// A stable fingerprint (absl::Hash is seeded per process; tokens must outlive a restart).
std::string Fingerprint(absl::string_view filter_key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(filter_key.data(), filter_key.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), 8));
}

absl::Status InvalidToken(absl::string_view why) {
  return WithReason(absl::InvalidArgumentError(absl::StrCat("invalid page_token: ", why,
                                                            "; start again without a page token")),
                    reason::kInvalidPageToken);
}

}  // namespace

absl::StatusOr<PageStart> StartPage(const PageRequest& request, absl::string_view filter_key) {
  if (request.page_size < 0) {
    return WithReason(absl::InvalidArgumentError(
                          absl::StrCat("page_size must not be negative, got ", request.page_size)),
                      reason::kInvalidPageSize);
  }
  PageStart start;
  start.size =
      request.page_size == 0 ? kDefaultPageSize : std::min(request.page_size, kMaxPageSize);
  if (request.page_token.empty()) return start;
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(request.page_token, &decoded)) {
    return InvalidToken("not a token this server issued");
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(decoded, ':');
  int64_t seq = 0;
  if (parts.size() != 3 || parts[0] != kTokenVersion || !absl::SimpleAtoi(parts[1], &seq)) {
    return InvalidToken("not a token this server issued");
  }
  if (parts[2] != Fingerprint(filter_key)) {
    return InvalidToken("it belongs to a request with other filters");
  }
  start.before_seq = seq;
  return start;
}

std::string NextPageToken(int64_t last_seq, absl::string_view filter_key) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kTokenVersion, ":", last_seq, ":", Fingerprint(filter_key)));
}

}  // namespace affsig::store
