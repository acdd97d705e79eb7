#include "bench/bench_util.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace affsig::bench {

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

absl::StatusOr<std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("cannot run: ", command));
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  if (int status = pclose(pipe); status != 0) {
    return absl::InternalError(absl::StrCat("exit status ", status, " from: ", command));
  }
  return output;
}

double NumberAfter(const std::string& text, const std::string& key) {
  for (const std::string& pattern : {absl::StrCat("\"", key, "\": "), absl::StrCat(key, "=")}) {
    const size_t at = text.find(pattern);
    if (at != std::string::npos) return std::strtod(text.c_str() + at + pattern.size(), nullptr);
  }
  return std::nan("");
}

std::string SelfPath() { return absl::StrCat("/proc/", getpid(), "/exe"); }

}  // namespace affsig::bench
