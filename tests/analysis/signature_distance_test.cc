#include "server/analysis/signature_distance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/analysis/scipy_reference.h"

namespace affsig::analysis {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// DTW from its definition, independently of the implementation: the whole (n+1) x (m+1)
// accumulated cost matrix, infinite along the top and left borders but for the corner.
double ReferenceDtw(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  const size_t m = b.size();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> cost(n + 1, std::vector<double>(m + 1, inf));
  cost[0][0] = 0.0;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const double step = std::min({cost[i - 1][j - 1], cost[i - 1][j], cost[i][j - 1]});
      cost[i][j] = (a[i - 1] - b[j - 1]) * (a[i - 1] - b[j - 1]) + step;
    }
  }
  return std::sqrt(cost[n][m]);
}

std::vector<double> RandomWalk(std::mt19937_64& random, size_t length) {
  std::normal_distribution<double> step(0.0, 0.05);
  std::vector<double> walk;
  double value = 0.9;
  for (size_t i = 0; i < length; ++i) walk.push_back(value += step(random));
  return walk;
}

TEST(DtwTest, HandComputedCases) {
  EXPECT_EQ(Dtw(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, 3}), 0.0);
  // The same shape shifted by one step: warping absorbs the shift entirely.
  EXPECT_EQ(Dtw(std::vector<double>{0, 0, 1, 2}, std::vector<double>{0, 1, 2, 2}), 0.0);
  // A single value is matched with every value of the other series.
  EXPECT_DOUBLE_EQ(Dtw(std::vector<double>{2}, std::vector<double>{1, 3, 5}), std::sqrt(11.0));
  EXPECT_DOUBLE_EQ(Dtw(std::vector<double>{0, 1}, std::vector<double>{1}), 1.0);
  EXPECT_DOUBLE_EQ(Dtw(std::vector<double>{3}, std::vector<double>{-1}), 4.0);
  // Costs [[1, 4, 9], [9, 4, 1]]: the path (0,0) (1,1) (1,2) sums 1 + 4 + 1.
  EXPECT_DOUBLE_EQ(Dtw(std::vector<double>{0, 4}, std::vector<double>{1, 2, 3}), std::sqrt(6.0));
  // Ties everywhere: costs [[1, 0, 1], [0, 1, 0], [1, 0, 1]], best paths sum 2.
  EXPECT_DOUBLE_EQ(Dtw(std::vector<double>{0, 1, 0}, std::vector<double>{1, 0, 1}), std::sqrt(2.0));
}

TEST(DtwTest, EmptySeriesHaveNoPath) {
  EXPECT_EQ(Dtw({}, std::vector<double>{1.0}), std::numeric_limits<double>::infinity());
}

TEST(DtwTest, MatchesTheFullMatrixReferenceAndIsSymmetric) {
  std::mt19937_64 random(7);
  std::uniform_int_distribution<size_t> length(1, 40);
  for (int trial = 0; trial < 300; ++trial) {
    const std::vector<double> a = RandomWalk(random, length(random));
    const std::vector<double> b = RandomWalk(random, length(random));
    EXPECT_DOUBLE_EQ(Dtw(a, b), ReferenceDtw(a, b)) << a.size() << " x " << b.size();
    EXPECT_EQ(Dtw(a, b), Dtw(b, a));
  }
}

TEST(DtwTest, TiedValuesMatchTheReference) {
  std::mt19937_64 random(11);
  std::uniform_int_distribution<int> level(0, 2);  // three levels: ties in nearly every step
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<double> a(1 + trial % 17);
    std::vector<double> b(1 + trial % 13);
    for (double& v : a) v = level(random);
    for (double& v : b) v = level(random);
    EXPECT_DOUBLE_EQ(Dtw(a, b), ReferenceDtw(a, b));
  }
}

TEST(PairwiseDistancesTest, DtwMatrixOverMixedLengthsMatchesDtwOfEachPair) {
  // 23 series of 9 lengths: blocks of pairs of equal lengths, most of them not filling every
  // lane, on several threads.
  std::mt19937_64 random(3);
  std::vector<NamedSeries> series;
  for (int i = 0; i < 23; ++i) {
    series.push_back({absl::StrCat("s", i), RandomWalk(random, 1 + (i * 7) % 9 * 5)});
  }
  const auto matrix = PairwiseDistances(series, SignatureDistance::kDtw, 3);
  ASSERT_TRUE(matrix.ok()) << matrix.status();
  const size_t n = series.size();
  ASSERT_EQ(matrix->size(), n * n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ((*matrix)[i * n + i], 0.0);
    for (size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      EXPECT_EQ((*matrix)[i * n + j], Dtw(series[i].values, series[j].values)) << i << ", " << j;
      EXPECT_DOUBLE_EQ((*matrix)[i * n + j], ReferenceDtw(series[i].values, series[j].values));
    }
  }
  const auto one_thread = PairwiseDistances(series, SignatureDistance::kDtw, 1);
  ASSERT_TRUE(one_thread.ok());
  EXPECT_EQ(*one_thread, *matrix);
}

TEST(PairwiseDistancesTest, EuclideanAndCorrelation) {
  const std::vector<NamedSeries> series = {
      {"a", {1, 2, 3}}, {"b", {3, 2, 1}}, {"c", {3, 5, 7}}, {"d", {1, 2, 4}}};
  const auto euclidean = PairwiseDistances(series, SignatureDistance::kEuclidean, 2);
  ASSERT_TRUE(euclidean.ok()) << euclidean.status();
  EXPECT_DOUBLE_EQ((*euclidean)[0 * 4 + 1], std::sqrt(8.0));
  EXPECT_DOUBLE_EQ((*euclidean)[2 * 4 + 0], std::sqrt(4.0 + 9.0 + 16.0));
  EXPECT_DOUBLE_EQ((*euclidean)[0 * 4 + 3], 1.0);

  const auto correlation = PairwiseDistances(series, SignatureDistance::kCorrelation, 2);
  ASSERT_TRUE(correlation.ok()) << correlation.status();
  EXPECT_DOUBLE_EQ((*correlation)[0 * 4 + 1], 2.0);  // r = -1
  EXPECT_EQ((*correlation)[0 * 4 + 2], 0.0);         // r = 1: c = 2a + 1, never below 0
  // a and d: centred (-1, 0, 1) and (-4/3, -1/3, 5/3), r = 3 / sqrt(2 * 14/3).
  EXPECT_NEAR((*correlation)[3 * 4 + 0], 1.0 - 3.0 / std::sqrt(28.0 / 3.0), 1e-15);
  for (const std::vector<double>* matrix : {&*euclidean, &*correlation}) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ((*matrix)[i * 4 + i], 0.0);
      for (int j = 0; j < 4; ++j) EXPECT_EQ((*matrix)[i * 4 + j], (*matrix)[j * 4 + i]);
    }
  }
}

TEST(PairwiseDistancesTest, NoneOrOneSeries) {
  EXPECT_EQ(*PairwiseDistances({}, SignatureDistance::kDtw, 2), std::vector<double>{});
  EXPECT_EQ(*PairwiseDistances({{"a", {1.0}}}, SignatureDistance::kEuclidean, 2),
            std::vector<double>{0.0});
}

TEST(PairwiseDistancesTest, UnequalLengthsNameTheSeriesAndTheFix) {
  const std::vector<NamedSeries> series = {{"resnet18", {1, 2, 3}}, {"vgg11", {1, 2}}};
  for (SignatureDistance distance :
       {SignatureDistance::kEuclidean, SignatureDistance::kCorrelation}) {
    const auto matrix = PairwiseDistances(series, distance, 1);
    EXPECT_EQ(matrix.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(matrix.status().message()),
                AllOf(HasSubstr("'resnet18' has 3 values"), HasSubstr("'vgg11' has 2 values"),
                      HasSubstr("--resample=L")));
  }
  EXPECT_TRUE(PairwiseDistances(series, SignatureDistance::kDtw, 1).ok());
}

TEST(PairwiseDistancesTest, EmptyNonFiniteAndConstantSeriesAreRefused) {
  const auto empty = PairwiseDistances({{"a", {1.0}}, {"b", {}}}, SignatureDistance::kDtw, 1);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("'b' has no values"));

  const auto nan = PairwiseDistances({{"a", {1.0, std::numeric_limits<double>::quiet_NaN()}}},
                                     SignatureDistance::kDtw, 1);
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nan.status().message()), HasSubstr("'a' holds nan at position 1"));

  const auto constant = PairwiseDistances({{"a", {1.0, 2.0, 3.0}}, {"flat", {0.1, 0.1, 0.1}}},
                                          SignatureDistance::kCorrelation, 1);
  EXPECT_EQ(constant.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(constant.status().message()), HasSubstr("constant series 'flat'"));
  EXPECT_TRUE(PairwiseDistances({{"a", {1.0, 2.0, 3.0}}, {"flat", {0.1, 0.1, 0.1}}},
                                SignatureDistance::kEuclidean, 1)
                  .ok());
}

TEST(ResampleTest, HandComputedCases) {
  EXPECT_EQ(Resample(std::vector<double>{0, 10}, 5), (std::vector<double>{0, 2.5, 5, 7.5, 10}));
  EXPECT_EQ(Resample(std::vector<double>{1, 3, 2}, 3), (std::vector<double>{1, 3, 2}));
  EXPECT_EQ(Resample(std::vector<double>{1, 3, 2}, 5), (std::vector<double>{1, 2, 3, 2.5, 2}));
  EXPECT_EQ(Resample(std::vector<double>{4}, 3), (std::vector<double>{4, 4, 4}));
  EXPECT_EQ(Resample(std::vector<double>{4, 5, 6}, 1), (std::vector<double>{4}));
  EXPECT_TRUE(Resample({}, 3).empty());
  EXPECT_TRUE(Resample(std::vector<double>{1, 2}, 0).empty());
}

TEST(ResampleTest, MatchesNumPysInterp) {
  std::mt19937_64 random(5);
  const std::vector<std::pair<size_t, int64_t>> cases = {{1, 4},    {2, 7},    {5, 1},   {10, 3},
                                                         {37, 100}, {100, 37}, {64, 64}, {3, 1000}};
  std::string input;
  std::vector<std::vector<double>> series;
  for (const auto& [length, resampled] : cases) {
    series.push_back(RandomWalk(random, length));
    absl::StrAppend(&input, resampled, " ", testing::ExactNumbers(series.back()), "\n");
  }
  const auto expected = testing::RunScipyReference("resample", input);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_EQ(expected->size(), cases.size());
  for (size_t c = 0; c < cases.size(); ++c) {
    const std::vector<double> resampled = Resample(series[c], cases[c].second);
    ASSERT_EQ(resampled.size(), (*expected)[c].size());
    for (size_t k = 0; k < resampled.size(); ++k) {
      EXPECT_NEAR(resampled[k], testing::ParseNumber((*expected)[c][k]), 1e-14)
          << "series " << c << ", point " << k;
    }
  }
}

}  // namespace
}  // namespace affsig::analysis
