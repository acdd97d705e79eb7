#include "common/signature.h"

#include <array>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace affsig {
namespace {

constexpr std::array<std::pair<EntryStatus, absl::string_view>, 5> kStatusNames = {{
    {EntryStatus::kOk, "ok"},
    {EntryStatus::kTooFewSamples, "too_few_samples"},
    {EntryStatus::kNonFinite, "non_finite"},
    {EntryStatus::kDimMismatch, "dim_mismatch"},
    {EntryStatus::kFailed, "failed"},
}};

}  // namespace

absl::string_view EntryStatusName(EntryStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

absl::StatusOr<EntryStatus> ParseEntryStatus(absl::string_view name) {
  for (const auto& [value, known] : kStatusNames) {
    if (known == name) return value;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown entry status '", name, "'"));
}

}  // namespace affsig
