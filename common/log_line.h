// One timestamped line on stderr: the server's log (one line per job transition).
#ifndef AFFSIG_COMMON_LOG_LINE_H_
#define AFFSIG_COMMON_LOG_LINE_H_

#include "absl/strings/string_view.h"

namespace affsig {

// Writes "2026-11-27T11:20:51.123Z <line>" and flushes, whole, even from several threads.
void LogLine(absl::string_view line);
// Writes "<prefix> <line>" whole, for the lines of a child process, which carry their own time.
void LogChildLine(absl::string_view prefix, absl::string_view line);

}  // namespace affsig

#endif  // AFFSIG_COMMON_LOG_LINE_H_
