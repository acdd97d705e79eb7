#include "server/analysis/correlation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/analysis/scipy_reference.h"

namespace affsig::analysis {
namespace {

using ::testing::HasSubstr;

struct Case {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

std::vector<Case> Cases() {
  std::vector<Case> cases;
  std::mt19937_64 random(17);
  std::normal_distribution<double> normal(0.0, 1.0);
  auto sample = [&](int n, double slope, double noise) {
    Case c;
    for (int i = 0; i < n; ++i) {
      c.x.push_back(normal(random));
      c.y.push_back(slope * c.x.back() + noise * normal(random));
    }
    return c;
  };
  Case independent = sample(30, 0.0, 1.0);
  independent.name = "independent";
  cases.push_back(independent);
  Case correlated = sample(25, 0.8, 1.0);
  correlated.name = "correlated";
  cases.push_back(correlated);
  Case negative = sample(12, -1.0, 0.5);
  negative.name = "negative";
  cases.push_back(negative);
  Case strong = sample(200, 1.0, 0.05);  // p far below 1e-100
  strong.name = "strong";
  cases.push_back(strong);
  Case three = sample(3, 1.0, 1.0);
  three.name = "three";
  cases.push_back(three);
  // Few distinct values: ties in both rankings (average ranks).
  std::uniform_int_distribution<int> level(0, 3);
  Case tied{"tied", {}, {}};
  for (int i = 0; i < 20; ++i) {
    tied.x.push_back(level(random));
    tied.y.push_back(tied.x.back() + level(random) / 2.0);
  }
  cases.push_back(tied);
  // Monotone but not linear: rho is 1 exactly (p 0), r is not.
  cases.push_back({"monotone", {1, 2, 3, 4, 5, 6, 7}, {1, 4, 9, 16, 25, 36, 1000}});
  // Linear: r is 1 exactly.
  cases.push_back({"linear", {0, 1, 2, 3}, {1, 3, 5, 7}});
  // Accuracy-like labels against a signature statistic, the service's use.
  cases.push_back({"accuracy",
                   {0.61, 0.72, 0.69, 0.74, 0.58, 0.80, 0.77, 0.71},
                   {56.5, 69.8, 71.6, 73.3, 63.3, 76.1, 77.4, 69.8}});
  return cases;
}

// A p-value within 1e-9 relative (both are series evaluations of the same distribution).
void ExpectPValue(double actual, double expected) {
  EXPECT_NEAR(actual, expected, 1e-9 * expected + 1e-300) << actual << " vs " << expected;
}

class CorrelationAgainstSciPyTest : public ::testing::TestWithParam<Case> {};

TEST_P(CorrelationAgainstSciPyTest, PearsonAndSpearmanWithPValues) {
  const Case& c = GetParam();
  const auto expected = testing::RunScipyReference(
      "correlate",
      absl::StrCat(testing::ExactNumbers(c.x), "\n", testing::ExactNumbers(c.y), "\n"));
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_EQ(expected->size(), 2u);
  ASSERT_EQ((*expected)[0][0], "pearson");
  ASSERT_EQ((*expected)[1][0], "spearman");

  const auto result = Correlate(c.x, c.y);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->n, static_cast<int64_t>(c.x.size()));
  EXPECT_NEAR(result->pearson_r, testing::ParseNumber((*expected)[0][1]), 1e-14);
  ExpectPValue(result->pearson_p, testing::ParseNumber((*expected)[0][2]));
  EXPECT_NEAR(result->spearman_rho, testing::ParseNumber((*expected)[1][1]), 1e-14);
  ExpectPValue(result->spearman_p, testing::ParseNumber((*expected)[1][2]));
}

INSTANTIATE_TEST_SUITE_P(Cases, CorrelationAgainstSciPyTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(CorrelateTest, HandComputedCase) {
  // x = (1, 2, 3), y = (1, 3, 2): r = 0.5. With n = 3, r follows the arcsine law on [-1, 1]
  // (Beta(1/2, 1/2) stretched), so p = 1 - 2 asin(|r|) / pi = 2/3.
  const auto result = Correlate(std::vector<double>{1, 2, 3}, std::vector<double>{1, 3, 2});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_DOUBLE_EQ(result->pearson_r, 0.5);
  EXPECT_NEAR(result->pearson_p, 2.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(result->spearman_rho, 0.5);
  // t = 0.5 sqrt(1 / 0.75) with 1 degree of freedom (Cauchy): p = 1 - 2 atan(t) / pi.
  EXPECT_NEAR(result->spearman_p, 1.0 - 2.0 * std::atan(0.5 / std::sqrt(0.75)) / M_PI, 1e-15);
}

TEST(CorrelateTest, RefusesWhatHasNoCorrelation) {
  auto message = [](const std::vector<double>& x, const std::vector<double>& y) {
    const auto result = Correlate(x, y);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(result.status().message());
  };
  EXPECT_THAT(message({1, 2, 3}, {1, 2}), HasSubstr("3 values against 2"));
  EXPECT_THAT(message({1, 2}, {2, 1}), HasSubstr("at least 3 pairs, got 2"));
  EXPECT_THAT(message({1, 1, 1}, {1, 2, 3}), HasSubstr("x is constant"));
  EXPECT_THAT(message({1, 2, 3}, {0.7, 0.7, 0.7}), HasSubstr("y is constant"));
  EXPECT_THAT(message({1, 2, std::numeric_limits<double>::quiet_NaN()}, {1, 2, 3}),
              HasSubstr("x holds nan at position 2"));
}

}  // namespace
}  // namespace affsig::analysis
