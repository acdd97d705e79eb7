#include "server/engine/affinity_score.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "server/engine/npy_tensor.h"
#include "tests/golden_cases.h"

namespace affsig::engine {
namespace {

using ::testing::HasSubstr;

class AffinityScoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { at::manual_seed(20251127); }

  static at::TensorOptions Options() {
    return at::TensorOptions().dtype(at::kDouble).device(c10::Device(testing::TestDevice()));
  }

  static double Score(const at::Tensor& x, const at::Tensor& y, AffineMapPath path) {
    auto score = ComputeAffinityScore(x, y, {path});
    EXPECT_TRUE(score.ok()) << score.status();
    return score.ok() ? score->score : -1.0;
  }
};

TEST_F(AffinityScoreTest, MatchesEveryGoldenPair) {
  auto golden = testing::ReadGoldenSet(testing::SharedGoldenDir());
  ASSERT_TRUE(golden.ok()) << golden.status();
  ASSERT_FALSE(golden->pairs.empty());
  for (const testing::GoldenPair& pair : golden->pairs) {
    SCOPED_TRACE(pair.name);
    auto x = ReadNpyTensor(pair.x_path);
    auto y = ReadNpyTensor(pair.y_path);
    ASSERT_TRUE(x.ok() && y.ok());
    ASSERT_EQ(x->size(0), pair.n);
    auto score = ComputeAffinityScore(x->to(Options().device()), y->to(Options().device()));
    ASSERT_TRUE(score.ok()) << score.status();
    EXPECT_NEAR(score->score, pair.score, 1e-3);
  }
}

TEST_F(AffinityScoreTest, PositiveDefiniteAffineMapScoresOneInFloat64) {
  const at::Tensor x = at::randn({300, 16}, Options());
  const at::Tensor b = at::randn({16, 16}, Options());
  const at::Tensor p = at::matmul(b, b.t()) + at::eye(16, Options());
  const at::Tensor y = at::matmul(x, p) + at::randn({1, 16}, Options());
  auto score = ComputeAffinityScore(x, y);
  ASSERT_TRUE(score.ok()) << score.status();
  EXPECT_NEAR(score->score, 1.0, 1e-5);
  EXPECT_FALSE(score->degenerate);
}

TEST_F(AffinityScoreTest, GoldenAffineCaseScoresOneInFloat64) {
  // The paper's float32 code gets 0.99982 here: its rounding, under the square root.
  const std::string dir = testing::SharedGoldenDir();
  auto x = ReadNpyTensor(dir + "/affine_psd_d16.x.npy");
  auto y = ReadNpyTensor(dir + "/affine_psd_d16.y.npy");
  ASSERT_TRUE(x.ok() && y.ok());
  auto score = ComputeAffinityScore(*x, *y);
  ASSERT_TRUE(score.ok());
  EXPECT_NEAR(score->score, 1.0, 1e-5);
}

TEST_F(AffinityScoreTest, InputCovarianceBeyondCholeskyIsFactoredByItsEigenDecomposition) {
  // Two equal features of variance exactly 2^40 lead C_x: the ridge 1e-6 is below float64's
  // resolution there, so the leading 2 x 2 block is exactly singular and Cholesky stops at its
  // second pivot. (+-2^20 on 256 samples and 0 on the last: mean 0, variance 2^48 / 256, exact.)
  const int64_t n = 257;
  at::Tensor repeated = at::zeros({n, 1}, Options());
  repeated.slice(0, 0, n - 1) = std::ldexp(1.0, 20);
  repeated.slice(0, 1, n - 1, 2) = -std::ldexp(1.0, 20);
  // Other features on the same scale, so that the eigen-decomposition resolves them all.
  const at::Tensor base = std::ldexp(1.0, 20) * at::randn({n, 5}, Options());
  const at::Tensor x = at::cat({repeated, repeated, base}, 1);
  const at::Tensor y = 2.0 * x + 3.0;
  auto score = ComputeAffinityScore(x, y);
  ASSERT_TRUE(score.ok()) << score.status();
  EXPECT_TRUE(score->eigen_factor);
  EXPECT_NEAR(score->score, 1.0, 1e-5);

  auto ordinary = ComputeAffinityScore(base, 2.0 * base + 3.0);
  ASSERT_TRUE(ordinary.ok());
  EXPECT_FALSE(ordinary->eigen_factor);
  EXPECT_NEAR(ordinary->score, 1.0, 1e-5);
}

TEST_F(AffinityScoreTest, ConstantOutputTakesTheDegenerateBranch) {
  const at::Tensor x = at::randn({100, 8}, Options());
  const at::Tensor y = at::full({100, 8}, 3.5, Options());
  auto score = ComputeAffinityScore(x, y);
  ASSERT_TRUE(score.ok());
  EXPECT_TRUE(score->degenerate);
  EXPECT_NEAR(score->score, 1.0, 1e-12);
  EXPECT_NEAR(score->trace_cy, 8e-6, 1e-15);

  // Constant up to noise of variance 1e-8 per feature: still A = 0, and W is the outputs' mean
  // squared distance to their mean, whatever the matching.
  const at::Tensor noisy = y + 1e-4 * at::randn({100, 8}, Options());
  auto nearly = ComputeAffinityScore(x, noisy);
  ASSERT_TRUE(nearly.ok());
  EXPECT_TRUE(nearly->degenerate);
  const double spread = (noisy - noisy.mean(0, true)).square().sum(1).mean().item<double>();
  EXPECT_NEAR(nearly->transport_cost, spread, 1e-12 * spread);
  EXPECT_NEAR(nearly->score, 1.0 - std::sqrt(spread / (2.0 * nearly->trace_cy)), 1e-12);
}

TEST_F(AffinityScoreTest, ReorderingSamplesLeavesTheScoreUnchanged) {
  const at::Tensor x = at::randn({200, 12}, Options());
  const at::Tensor y = at::gelu(at::matmul(x, at::randn({12, 12}, Options())));
  const at::Tensor order =
      at::randperm(200, at::TensorOptions().dtype(at::kLong).device(x.device()));
  const double original = Score(x, y, AffineMapPath::kAuto);
  EXPECT_NEAR(Score(x.index_select(0, order), y.index_select(0, order), AffineMapPath::kAuto),
              original, 1e-10);
  EXPECT_GT(original, 0.0);
  EXPECT_LT(original, 1.0);
}

TEST_F(AffinityScoreTest, SubspacePathEqualsFullPathWhenFeaturesOutnumberSamples) {
  // Shrunk covariances too: outside the samples' span each is its own multiple of I.
  for (CovarianceEstimator covariance :
       {CovarianceEstimator::kSample, CovarianceEstimator::kLedoitWolf}) {
    for (auto [n, d] : {std::pair<int64_t, int64_t>{40, 200}, {64, 96}, {100, 30}, {2, 50}}) {
      SCOPED_TRACE(::testing::Message()
                   << "n=" << n << " d=" << d << " covariance " << static_cast<int>(covariance));
      const at::Tensor x = at::randn({n, d}, Options()) * 2.0 - 0.5;
      const at::Tensor y = at::relu(x);
      auto full = ComputeAffinityScore(x, y, {AffineMapPath::kFull, covariance});
      auto subspace = ComputeAffinityScore(x, y, {AffineMapPath::kSubspace, covariance});
      ASSERT_TRUE(full.ok() && subspace.ok());
      EXPECT_TRUE(subspace->subspace_path);
      EXPECT_FALSE(full->subspace_path);
      EXPECT_NEAR(subspace->transport_cost, full->transport_cost,
                  1e-8 * (1 + full->transport_cost));
      // Two points are always an affine image: W is rounding, ~1e-16 trace(C_y), and the score
      // 1 - sqrt(W / 2 trace(C_y)) moves by its square root, ~1e-8, with the order of the sums.
      EXPECT_NEAR(subspace->score, full->score, n == 2 ? 1e-7 : 1e-8);
      EXPECT_NEAR(subspace->trace_cy, full->trace_cy, 1e-10 * full->trace_cy);
    }
  }
}

TEST_F(AffinityScoreTest, AutomaticPathUsesTheSubspaceOnlyWhenItIsSmaller) {
  const at::Tensor wide = at::randn({16, 100}, Options());
  const at::Tensor narrow = at::randn({100, 16}, Options());
  EXPECT_TRUE(ComputeAffinityScore(wide, at::tanh(wide))->subspace_path);
  EXPECT_FALSE(ComputeAffinityScore(narrow, at::tanh(narrow))->subspace_path);
}

TEST_F(AffinityScoreTest, SingleFeatureMatchesTheClosedForm) {
  // In one dimension the optimal matching is sorted order, and A = sd(y) / sd(x).
  const at::Tensor x = at::linspace(-1.0, 1.0, 501, Options()).unsqueeze(1);
  const at::Tensor y = x.pow(3);
  auto score = ComputeAffinityScore(x, y);
  ASSERT_TRUE(score.ok());
  const at::Tensor var_x = x.var(0) + 1e-6;
  const at::Tensor var_y = y.var(0) + 1e-6;
  const at::Tensor mapped = (x - x.mean()) * (var_y / var_x).sqrt() + y.mean();
  const double w = (mapped - y).square().mean().item<double>();  // both already sorted
  EXPECT_NEAR(score->score, 1.0 - std::sqrt(w / (2.0 * var_y.item<double>())), 1e-9);
}

TEST_F(AffinityScoreTest, RejectsBadShapesAndValues) {
  const at::Tensor x = at::randn({10, 4}, Options());
  EXPECT_THAT(ComputeAffinityScore(x, at::randn({10, 5}, Options())).status().message(),
              HasSubstr("equal shapes"));
  EXPECT_THAT(ComputeAffinityScore(x.slice(0, 0, 1), x.slice(0, 0, 1)).status().message(),
              HasSubstr("at least 2 samples"));
  at::Tensor with_nan = x.clone();
  with_nan[3][1] = std::nan("");
  EXPECT_THAT(ComputeAffinityScore(x, with_nan).status().message(), HasSubstr("NaN or Inf"));
  EXPECT_THAT(ComputeAffinityScore(x.flatten(), x.flatten()).status().message(),
              HasSubstr("N x d"));
}

}  // namespace
}  // namespace affsig::engine
