// The affinity score of one activation call (docs/affinity-score.md, section 1), in float64 on the
// tensors' device; the exact transport cost is solved on the CPU. With shrunk covariances it is
// the shrinkage score of section 5.
#ifndef AFFSIG_SERVER_ENGINE_AFFINITY_SCORE_H_
#define AFFSIG_SERVER_ENGINE_AFFINITY_SCORE_H_

#include "absl/status/statusor.h"

namespace at {
class Tensor;
}

namespace affsig::engine {

// How the affine map is computed. When d > 2N both covariances are a rank <= 2N-2 matrix plus a
// multiple of I, so every matrix function can be computed exactly in the span of the samples (an
// orthonormal basis of dimension 2N from a QR factorisation) instead of in dimension d.
enum class AffineMapPath {
  kAuto,     // the subspace path when d > 2N, else the full one.
  kFull,     // eigen-decompositions of d x d matrices, as the paper does.
  kSubspace  // the subspace path whatever d.
};

// The covariances the map is computed between, each plus 1e-6 I.
enum class CovarianceEstimator {
  kSample,      // the spec's: the unbiased sample covariances
  kLedoitWolf,  // Ledoit-Wolf shrunk covariances (ledoit_wolf.h): section 5's shrinkage score
};

struct AffinityScoreOptions {
  AffineMapPath path = AffineMapPath::kAuto;
  CovarianceEstimator covariance = CovarianceEstimator::kSample;
};

struct AffinityScore {
  double score = 0.0;           // 1 - sqrt(W / (2 trace(C_y))).
  double transport_cost = 0.0;  // W: mean squared distance of the optimal matching.
  double trace_cy = 0.0;        // trace(C_y), including the 1e-6 I.
  bool degenerate = false;      // the output is constant up to noise: A = 0.
  bool subspace_path = false;   // the map was computed in the span of the samples.
  // C_x was not numerically positive definite (rounding at its scale exceeds the 1e-6 ridge), so
  // the map used its floored eigen-decomposition instead of its Cholesky factor.
  bool eigen_factor = false;
};

// Scores reduced activations `x` (input) and `y` (output), both N x d with rows as samples, of any
// floating dtype and on any device. Errors: not 2-D, different shapes, N < 2, non-finite values.
absl::StatusOr<AffinityScore> ComputeAffinityScore(const at::Tensor& x, const at::Tensor& y,
                                                   const AffinityScoreOptions& options = {});

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_AFFINITY_SCORE_H_
