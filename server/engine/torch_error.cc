#include "server/engine/torch_error.h"

#include <c10/util/Exception.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace affsig::engine {

std::string OneLineTorchError(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  const absl::string_view text = c10_error ? c10_error->what_without_backtrace() : error.what();
  absl::string_view first;
  absl::string_view last_error_line;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (first.empty()) first = line;
    const size_t colon = line.find("Error: ");
    if (colon != absl::string_view::npos && line.find(' ') > colon) last_error_line = line;
  }
  return std::string(last_error_line.empty() ? first : last_error_line);
}

}  // namespace affsig::engine
