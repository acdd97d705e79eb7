#include "server/analysis/signature_statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace affsig::analysis {
namespace {

// Entries in execution order; NaN stands for an entry that could not be scored.
Signature WithScores(const std::vector<double>& scores) {
  Signature signature;
  for (size_t i = 0; i < scores.size(); ++i) {
    SignatureEntry& entry = signature.emplace_back();
    entry.index = static_cast<int64_t>(i);
    entry.op = "ReLU";
    if (std::isnan(scores[i])) {
      entry.status = EntryStatus::kTooFewSamples;
      entry.reason = "needs at least 2 samples";
      entry.score = 0.0;  // what an unscored entry holds: not a score, never counted as one
    } else {
      entry.score = scores[i];
    }
  }
  return signature;
}

constexpr double kUnscored = std::numeric_limits<double>::quiet_NaN();

TEST(SignatureStatisticsTest, OnlyScoredEntriesEnterTheValues) {
  const SignatureSummary s = Summarize(WithScores({0.9, kUnscored, 0.2, 0.4, 0.5, kUnscored}));
  EXPECT_EQ(s.entries, 6);
  EXPECT_EQ(s.scored, 4);
  EXPECT_DOUBLE_EQ(s.mean_score, 0.5);
  EXPECT_DOUBLE_EQ(s.median_score, 0.45);  // even count: the mean of the middle two
  // Population std (ddof = 0): deviations 0.4, -0.3, -0.1, 0.
  EXPECT_DOUBLE_EQ(s.std_score, std::sqrt((0.16 + 0.09 + 0.01) / 4));
  EXPECT_DOUBLE_EQ(s.min_score, 0.2);
  EXPECT_DOUBLE_EQ(s.max_score, 0.9);
  EXPECT_DOUBLE_EQ(s.score_range(), 0.7);
  // The lowest score is entry 2 of entries 0..5, unscored ones counted.
  EXPECT_DOUBLE_EQ(s.lowest_score_depth, 2.0 / 5.0);
}

TEST(SignatureStatisticsTest, OddCountMedianAndTheEarliestLowestScore) {
  const SignatureSummary s = Summarize(WithScores({0.7, 0.3, 0.8, 0.3, 0.6}));
  EXPECT_DOUBLE_EQ(s.median_score, 0.6);
  EXPECT_DOUBLE_EQ(s.lowest_score_depth, 0.25);  // entry 1 of 0..4, not entry 3
}

TEST(SignatureStatisticsTest, LowestAtTheEndIsDepthOne) {
  EXPECT_DOUBLE_EQ(Summarize(WithScores({0.9, 0.8, 0.1})).lowest_score_depth, 1.0);
}

TEST(SignatureStatisticsTest, OneEntry) {
  const SignatureSummary s = Summarize(WithScores({0.75}));
  EXPECT_EQ(s.entries, 1);
  EXPECT_EQ(s.scored, 1);
  EXPECT_DOUBLE_EQ(s.mean_score, 0.75);
  EXPECT_DOUBLE_EQ(s.median_score, 0.75);
  EXPECT_DOUBLE_EQ(s.std_score, 0.0);
  EXPECT_DOUBLE_EQ(s.score_range(), 0.0);
  EXPECT_DOUBLE_EQ(s.lowest_score_depth, 0.0);
}

TEST(SignatureStatisticsTest, NothingScoredGivesNaN) {
  for (const Signature& signature : {Signature{}, WithScores({kUnscored, kUnscored})}) {
    const SignatureSummary s = Summarize(signature);
    EXPECT_EQ(s.entries, static_cast<int64_t>(signature.size()));
    EXPECT_EQ(s.scored, 0);
    for (double value : {s.mean_score, s.median_score, s.std_score, s.min_score, s.max_score,
                         s.score_range(), s.lowest_score_depth}) {
      EXPECT_TRUE(std::isnan(value)) << value;
    }
  }
}

}  // namespace
}  // namespace affsig::analysis
