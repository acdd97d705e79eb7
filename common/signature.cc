#include "common/signature.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/enum_names.h"

namespace affsig {
namespace {

constexpr EnumNames<EntryStatus, 5> kStatusNames = {{
    {EntryStatus::kOk, "ok"},
    {EntryStatus::kTooFewSamples, "too_few_samples"},
    {EntryStatus::kNonFinite, "non_finite"},
    {EntryStatus::kDimMismatch, "dim_mismatch"},
    {EntryStatus::kFailed, "failed"},
}};

}  // namespace

absl::string_view EntryStatusName(EntryStatus status) {
  return NameOf(kStatusNames, status, "unknown");
}

absl::StatusOr<EntryStatus> ParseEntryStatus(absl::string_view name) {
  if (auto status = ValueNamed(kStatusNames, name)) return *status;
  return absl::InvalidArgumentError(absl::StrCat("unknown entry status '", name, "'"));
}

}  // namespace affsig
