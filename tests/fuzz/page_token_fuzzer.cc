// The page-token decoder (server/store/page_token.h) on any token a client sends: a start or
// INVALID_ARGUMENT, never a crash. A token it accepts names the position that NextPageToken
// encodes back to a token it accepts again, at the same position.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/store/page_token.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace affsig;
  // One listing's filter key: the seeds are tokens issued for it (make_seeds.py), and the fuzzer
  // learns its fingerprint from the comparison.
  constexpr absl::string_view kFilterKey = "blobs kind=model";
  PageRequest request;
  request.page_token = std::string(reinterpret_cast<const char*>(data), size);
  auto start = store::StartPage(request, kFilterKey);
  if (!start.ok()) return 0;
  fuzz::Require(start->size == kDefaultPageSize, "the default page size");
  fuzz::Require(start->before_seq.has_value() || request.page_token.empty(),
                "a token names a position");
  if (!start->before_seq) return 0;
  request.page_token = store::NextPageToken(*start->before_seq, kFilterKey);
  auto again = store::StartPage(request, kFilterKey);
  fuzz::Require(again.ok() && again->before_seq == start->before_seq,
                "NextPageToken encodes the position StartPage decodes");
  return 0;
}
