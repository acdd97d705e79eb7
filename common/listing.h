// Listings of jobs, signatures and models: what selects the rows (JobFilter) and AIP-158 pages
// (newest first, opaque tokens that the store makes and checks).
#ifndef AFFSIG_COMMON_LISTING_H_
#define AFFSIG_COMMON_LISTING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/job.h"

namespace affsig {

struct LabelFilter {
  std::string key;
  std::optional<std::string> value;  // nullopt: any value
};

// "key=value", or "key" for any value.
absl::StatusOr<LabelFilter> ParseLabelFilter(absl::string_view text);

// Conditions that combine with AND; empty fields do not filter.
struct JobFilter {
  std::optional<JobState> state;
  std::string model_sha256;
  std::string name;
  std::string owner;  // the user who submitted the jobs
  std::vector<LabelFilter> labels;
  int64_t created_after_ms = 0;   // inclusive
  int64_t created_before_ms = 0;  // exclusive
};

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

struct PageRequest {
  int page_size = 0;  // 0: kDefaultPageSize; larger than kMaxPageSize: kMaxPageSize
  std::string page_token;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

}  // namespace affsig

#endif  // AFFSIG_COMMON_LISTING_H_
