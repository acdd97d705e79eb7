#include "common/listing.h"

#include "absl/strings/str_cat.h"
#include "common/error_reason.h"

namespace affsig {

absl::StatusOr<LabelFilter> ParseLabelFilter(absl::string_view text) {
  const size_t equals = text.find('=');
  LabelFilter filter;
  filter.key = std::string(text.substr(0, equals));
  if (filter.key.empty()) {
    return WithReason(absl::InvalidArgumentError(
                          absl::StrCat("a label filter is key=value or key, got '", text, "'")),
                      reason::kInvalidLabel);
  }
  if (equals != absl::string_view::npos) filter.value = std::string(text.substr(equals + 1));
  return filter;
}

}  // namespace affsig
