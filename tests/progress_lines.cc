#include "tests/progress_lines.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <regex>
#include <tuple>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace affsig::testing {

void ExpectProgressLinesEndIn(const std::string& stderr_text, const std::string& final_state) {
  static const std::regex kLine(
      R"(job (\S+) ([A-Z]+)(?: batch (\d+)/(\d+))?(?: (\d+)/(\d+) activations.*)?)");
  std::vector<std::string> lines = absl::StrSplit(absl::StripSuffix(stderr_text, "\n"), '\n');
  std::vector<std::smatch> progress;
  for (const std::string& line : lines) {
    std::smatch match;
    if (std::regex_match(line, match, kLine)) progress.push_back(match);
  }
  ASSERT_FALSE(progress.empty()) << stderr_text;
  EXPECT_EQ(progress.back()[2].str(), final_state) << stderr_text;
  // (batch, done) never goes back, and done never passes its total nor batch its count.
  std::tuple<int64_t, int64_t> last{0, 0};
  for (const std::smatch& match : progress) {
    EXPECT_EQ(match[1].str(), progress.front()[1].str()) << "one job: " << stderr_text;
    if (!match[5].matched) continue;
    const int64_t batch = match[3].matched ? std::stoll(match[3].str()) : 1;
    const int64_t done = std::stoll(match[5].str());
    if (match[3].matched) EXPECT_LE(batch, std::stoll(match[4].str())) << stderr_text;
    EXPECT_LE(done, std::stoll(match[6].str())) << stderr_text;
    const std::tuple<int64_t, int64_t> now{batch, done};
    EXPECT_LE(last, now) << "progress went back: " << stderr_text;
    last = now;
  }
}

}  // namespace affsig::testing
