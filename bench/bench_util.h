// What the benchmark programs share: child commands, their key=value output, peak memory.
#ifndef AFFSIG_BENCH_BENCH_UTIL_H_
#define AFFSIG_BENCH_BENCH_UTIL_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace affsig::bench {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start);
// This process's peak resident memory so far, KiB.
long PeakRssKb();
// Runs a shell command and returns its standard output; an error for a non-zero exit.
absl::StatusOr<std::string> RunCommand(const std::string& command);
// The number after `"key": ` or `key=` in a program's output.
double NumberAfter(const std::string& text, const std::string& key);
// This very program, to run measurements in child processes (their peak memory is their own).
std::string SelfPath();

}  // namespace affsig::bench

#endif  // AFFSIG_BENCH_BENCH_UTIL_H_
