#include "server/analysis/hierarchical_clustering.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/text_dendrogram.h"
#include "server/analysis/signature_distance.h"
#include "tests/analysis/scipy_reference.h"

namespace affsig::analysis {
namespace {

using ::testing::HasSubstr;

constexpr Linkage kLinkages[] = {Linkage::kSingle, Linkage::kComplete, Linkage::kAverage,
                                 Linkage::kWard};

struct Matrix {
  std::string name;
  int64_t n = 0;
  std::vector<double> distances;  // n x n
};

void PrintTo(const Matrix& matrix, std::ostream* out) { *out << matrix.name; }

// A symmetric matrix with a zero diagonal from `distance(i, j)` for i < j.
template <typename Distance>
Matrix Symmetric(std::string name, int64_t n, Distance distance) {
  Matrix matrix{std::move(name), n, std::vector<double>(n * n, 0.0)};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) {
      matrix.distances[i * n + j] = matrix.distances[j * n + i] = distance(i, j);
    }
  }
  return matrix;
}

std::vector<Matrix> Matrices() {
  std::vector<Matrix> matrices;
  std::mt19937_64 random(42);
  // Points in the plane: distinct distances.
  std::uniform_real_distribution<double> coordinate(0.0, 10.0);
  std::vector<std::pair<double, double>> points(14);
  for (auto& [x, y] : points) x = coordinate(random), y = coordinate(random);
  matrices.push_back(Symmetric("euclidean_points", 14, [&](int64_t i, int64_t j) {
    return std::hypot(points[i].first - points[j].first, points[i].second - points[j].second);
  }));
  // Three distance values among 24 observations: ties at every step, where the algorithms'
  // choices between equals decide the merges and their numbering.
  std::uniform_int_distribution<int> level(1, 3);
  matrices.push_back(
      Symmetric("three_levels", 24, [&](int64_t, int64_t) { return level(random); }));
  // Every distance equal.
  matrices.push_back(Symmetric("all_equal", 20, [](int64_t, int64_t) { return 1.0; }));
  // Duplicated observations (distance 0) in two groups.
  matrices.push_back(Symmetric("zeros_and_twos", 8,
                               [](int64_t i, int64_t j) { return i % 2 == j % 2 ? 0.0 : 2.0; }));
  matrices.push_back(Symmetric("two", 2, [](int64_t, int64_t) { return 0.5; }));
  matrices.push_back(Symmetric("three", 3, [](int64_t i, int64_t j) { return i + j + 0.25; }));
  // What the service clusters: DTW distances between random-walk signatures of several lengths.
  std::vector<NamedSeries> walks;
  std::normal_distribution<double> step(0.0, 0.05);
  for (int i = 0; i < 30; ++i) {
    NamedSeries& walk = walks.emplace_back();
    walk.name = absl::StrCat("walk", i);
    double value = 0.9;
    for (int k = 0; k < 10 + i % 4 * 5; ++k) walk.values.push_back(value += step(random));
  }
  matrices.push_back(
      Matrix{"dtw_walks", 30, *PairwiseDistances(walks, SignatureDistance::kDtw, 2)});
  return matrices;
}

// SciPy's results for one matrix, by method: the lines of scipy_reference.py's `cluster`.
std::map<std::string, std::vector<std::vector<std::string>>> SciPyResults(const Matrix& matrix) {
  std::string input = absl::StrCat(matrix.n, "\n");
  for (int64_t i = 0; i < matrix.n; ++i) {
    absl::StrAppend(&input,
                    testing::ExactNumbers(
                        absl::MakeConstSpan(matrix.distances).subspan(i * matrix.n, matrix.n)),
                    "\n");
  }
  std::map<std::string, std::vector<std::vector<std::string>>> by_method;
  const auto lines = testing::RunScipyReference("cluster", input);
  EXPECT_TRUE(lines.ok()) << lines.status();
  if (!lines.ok()) return by_method;
  for (const std::vector<std::string>& line : *lines) {
    by_method[line[0]].emplace_back(line.begin() + 1, line.end());
  }
  return by_method;
}

std::vector<int> Labels(const std::vector<std::string>& line, size_t first) {
  std::vector<int> labels;
  for (size_t k = first; k < line.size(); ++k) labels.push_back(std::stoi(line[k]));
  return labels;
}

// The leaves' order in the text dendrogram, from the names that begin its lines.
std::vector<int> DendrogramOrder(const std::vector<Merge>& merges) {
  std::vector<std::string> names;
  for (size_t leaf = 0; leaf <= merges.size(); ++leaf) names.push_back(absl::StrCat("L", leaf));
  std::vector<int> order;
  for (absl::string_view line : absl::StrSplit(TextDendrogram(merges, names), '\n')) {
    if (absl::StartsWith(line, "L")) order.push_back(std::stoi(std::string(line.substr(1))));
  }
  return order;
}

class LinkageAgainstSciPyTest : public ::testing::TestWithParam<Matrix> {};

TEST_P(LinkageAgainstSciPyTest, LinkageFclusterAndLeafOrder) {
  const Matrix& matrix = GetParam();
  auto scipy = SciPyResults(matrix);
  for (Linkage linkage : kLinkages) {
    SCOPED_TRACE(LinkageName(linkage));
    const auto merges = LinkageMatrix(matrix.distances, matrix.n, linkage);
    ASSERT_TRUE(merges.ok()) << merges.status();
    ASSERT_EQ(merges->size(), static_cast<size_t>(matrix.n - 1));
    size_t row = 0;
    int checked = 0;
    for (const std::vector<std::string>& line : scipy[std::string(LinkageName(linkage))]) {
      if (line[0] == "merge") {
        ASSERT_LT(row, merges->size());
        const Merge& merge = (*merges)[row++];
        EXPECT_EQ(merge.a, std::stoll(line[1])) << "row " << row - 1;
        EXPECT_EQ(merge.b, std::stoll(line[2])) << "row " << row - 1;
        EXPECT_DOUBLE_EQ(merge.distance, testing::ParseNumber(line[3])) << "row " << row - 1;
        EXPECT_EQ(merge.size, std::stoll(line[4])) << "row " << row - 1;
      } else if (line[0] == "maxclust") {
        const int64_t k = std::stoll(line[1]);
        const auto labels = ClustersByCount(*merges, k);
        ASSERT_TRUE(labels.ok()) << labels.status();
        EXPECT_EQ(*labels, Labels(line, 2)) << "k = " << k;
      } else if (line[0] == "distance") {
        const double t = testing::ParseNumber(line[1]);
        EXPECT_EQ(ClustersByDistance(*merges, t), Labels(line, 2)) << "t = " << line[1];
      } else if (line[0] == "leaves") {
        EXPECT_EQ(DendrogramOrder(*merges), Labels(line, 1));
      } else {
        ADD_FAILURE() << "unexpected line " << line[0];
      }
      ++checked;
    }
    EXPECT_EQ(row, merges->size());
    // Every row, k = 1..n+1, thresholds and the leaves: SciPy answered in full.
    EXPECT_GE(checked, 2 * matrix.n + 3);
  }
}

INSTANTIATE_TEST_SUITE_P(Matrices, LinkageAgainstSciPyTest, ::testing::ValuesIn(Matrices()),
                         [](const ::testing::TestParamInfo<Matrix>& info) {
                           return info.param.name;
                         });

TEST(LinkageMatrixTest, HandComputedAverageLinkage) {
  // 0-1 at 1, then {0,1}-2 at mean(2, 3) = 2.5, then 3 at mean(4, 5, 6) = 5.
  const Matrix matrix = Symmetric("hand", 4, [](int64_t i, int64_t j) {
    const double d[4][4] = {{0, 1, 2, 4}, {1, 0, 3, 5}, {2, 3, 0, 6}, {4, 5, 6, 0}};
    return d[i][j];
  });
  const auto merges = LinkageMatrix(matrix.distances, 4, Linkage::kAverage);
  ASSERT_TRUE(merges.ok()) << merges.status();
  ASSERT_EQ(merges->size(), 3u);
  EXPECT_EQ((*merges)[0].a, 0);
  EXPECT_EQ((*merges)[0].b, 1);
  EXPECT_EQ((*merges)[0].distance, 1.0);
  EXPECT_EQ((*merges)[0].size, 2);
  EXPECT_EQ((*merges)[1].a, 2);
  EXPECT_EQ((*merges)[1].b, 4);
  EXPECT_EQ((*merges)[1].distance, 2.5);
  EXPECT_EQ((*merges)[1].size, 3);
  EXPECT_EQ((*merges)[2].a, 3);
  EXPECT_EQ((*merges)[2].b, 5);
  EXPECT_EQ((*merges)[2].distance, 5.0);
  EXPECT_EQ((*merges)[2].size, 4);
  // Labels in the order a walk from the last merge, first cluster first, meets the clusters.
  EXPECT_EQ(*ClustersByCount(*merges, 1), (std::vector<int>{1, 1, 1, 1}));
  EXPECT_EQ(*ClustersByCount(*merges, 2), (std::vector<int>{1, 1, 1, 2}));
  EXPECT_EQ(*ClustersByCount(*merges, 3), (std::vector<int>{1, 1, 2, 3}));
  EXPECT_EQ(*ClustersByCount(*merges, 4), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(ClustersByDistance(*merges, 2.5), (std::vector<int>{1, 1, 1, 2}));  // at most t
  EXPECT_EQ(ClustersByDistance(*merges, 0.5), (std::vector<int>{1, 2, 3, 4}));
}

TEST(LinkageMatrixTest, RefusesWhatIsNoDistanceMatrix) {
  auto message = [](const std::vector<double>& distances, int64_t n) {
    const auto merges = LinkageMatrix(distances, n, Linkage::kAverage);
    EXPECT_EQ(merges.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(merges.status().message());
  };
  EXPECT_THAT(message({0.0}, 1), HasSubstr("at least 2 series, got 1"));
  EXPECT_THAT(message({0, 1, 1}, 2), HasSubstr("has 4 values, got 3"));
  EXPECT_THAT(message({0, 1, 2, 0}, 2), HasSubstr("not symmetric"));
  EXPECT_THAT(message({0, 1, 1, 0.5}, 2), HasSubstr("series 1 to itself is 0.5"));
  EXPECT_THAT(message({0, INFINITY, INFINITY, 0}, 2), HasSubstr("is inf"));
}

TEST(ClustersByCountTest, RefusesFewerThanOneCluster) {
  const auto merges = LinkageMatrix({0, 1, 1, 0}, 2, Linkage::kSingle);
  ASSERT_TRUE(merges.ok());
  EXPECT_EQ(ClustersByCount(*merges, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ClustersByCount(*merges, 1), (std::vector<int>{1, 1}));
}

}  // namespace
}  // namespace affsig::analysis
