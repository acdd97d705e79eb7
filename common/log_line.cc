#include "common/log_line.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace affsig {

void LogLine(absl::string_view line) {
  const std::string text = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ", absl::Now(), absl::UTCTimeZone()), line, "\n");
  std::fwrite(text.data(), 1, text.size(), stderr);  // one write: lines do not interleave
  std::fflush(stderr);
}

void LogChildLine(absl::string_view prefix, absl::string_view line) {
  const std::string text = absl::StrCat(prefix, " ", line, "\n");
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace affsig
