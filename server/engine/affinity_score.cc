#include "server/engine/affinity_score.h"

#include <ATen/ATen.h>

#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/engine/assignment_solver.h"

namespace affsig::engine {
namespace {

// The regulariser added to both covariances, and the authors' range for replacing non-positive
// eigenvalues before square roots.
constexpr double kCovarianceRidge = 1e-6;
constexpr double kEigenFloorLow = 1e-7;
constexpr double kEigenFloorHigh = 1e-6;
// torch.pinverse's default: singular values below rcond * largest are treated as zero.
constexpr double kPinvRcond = 1e-15;

// Replaces eigenvalues <= 0 (ascending, as eigh returns them) by evenly spaced small positive
// values, as the authors' psd square root does.
at::Tensor FloorEigenvalues(const at::Tensor& eigenvalues) {
  const at::Tensor non_positive = eigenvalues <= 0;
  const int64_t count = non_positive.sum().item<int64_t>();
  if (count == 0) return eigenvalues;
  return eigenvalues.masked_scatter(
      non_positive, at::linspace(kEigenFloorLow, kEigenFloorHigh, count, eigenvalues.options()));
}

// V diag(f(l)) V^T for the eigen-decomposition of a symmetric matrix.
at::Tensor Recompose(const at::Tensor& vectors, const at::Tensor& values) {
  return at::matmul(vectors * values.unsqueeze(0), vectors.transpose(0, 1));
}

at::Tensor PsdSqrt(const at::Tensor& p) {
  auto [values, vectors] = at::linalg_eigh(p);
  return Recompose(vectors, FloorEigenvalues(values).sqrt());
}

// pinv(psd_sqrt(M)) from one eigen-decomposition: the singular values of psd_sqrt(M) are the
// square roots of M's floored eigenvalues.
at::Tensor PinvPsdSqrt(const at::Tensor& m) {
  auto [values, vectors] = at::linalg_eigh(m);
  const at::Tensor roots = FloorEigenvalues(values).sqrt();
  const at::Tensor cutoff = roots.max() * kPinvRcond;
  const at::Tensor inverse = at::where(roots > cutoff, roots.reciprocal(), at::zeros_like(roots));
  return Recompose(vectors, inverse);
}

at::Tensor Covariance(const at::Tensor& centered) {
  const int64_t n = centered.size(0);
  const int64_t k = centered.size(1);
  return at::matmul(centered.transpose(0, 1), centered) / static_cast<double>(n - 1) +
         at::eye(k, centered.options()) * kCovarianceRidge;
}

// Scores centred samples a, b (N x k) expressed in an orthonormal basis of a k-dimensional
// subspace holding every sample of both; `full_dim` is d, the ambient dimension. Outside the
// subspace both covariances are 1e-6 I and the samples have no component, so only the trace
// needs the remaining d - k dimensions.
AffinityScore ScoreInBasis(const at::Tensor& a, const at::Tensor& b, int64_t full_dim) {
  const int64_t n = a.size(0);
  const int64_t k = a.size(1);
  const at::Tensor cov_x = Covariance(a);
  const at::Tensor cov_y = Covariance(b);

  AffinityScore result;
  result.trace_cy =
      cov_y.trace().item<double>() + kCovarianceRidge * static_cast<double>(full_dim - k);
  result.degenerate = !(result.trace_cy > 2 * kCovarianceRidge * static_cast<double>(full_dim));

  // x_hat - y_j = A (x_i - m_x) - (y_j - m_y): the means cancel.
  at::Tensor mapped;
  if (result.degenerate) {
    mapped = at::zeros_like(a);
  } else {
    const at::Tensor s = PsdSqrt(cov_y);
    at::Tensor m = at::matmul(at::matmul(s, cov_x), s);
    m = (m + m.transpose(0, 1)) * 0.5;
    const at::Tensor map = at::matmul(at::matmul(s, PinvPsdSqrt(m)), s);
    mapped = at::matmul(a, map);  // A is symmetric: rows a_i A^T = a_i A.
  }

  const at::Tensor cost =
      (mapped.square().sum(1, true) + b.square().sum(1).unsqueeze(0) -
       2.0 * at::matmul(mapped, b.transpose(0, 1)))
          .clamp_min(0.0)
          .to(at::kCPU)
          .contiguous();
  // Finite inputs give finite costs; the solver re-checks.
  const Assignment assignment = *SolveAssignment(cost.data_ptr<double>(), n);
  result.transport_cost = assignment.total_cost / static_cast<double>(n);
  result.score = 1.0 - std::sqrt(result.transport_cost / (2.0 * result.trace_cy));
  return result;
}

}  // namespace

absl::StatusOr<AffinityScore> ComputeAffinityScore(const at::Tensor& x, const at::Tensor& y,
                                                   const AffinityScoreOptions& options) {
  if (x.dim() != 2 || y.dim() != 2) {
    return absl::InvalidArgumentError(absl::StrCat("affinity score needs N x d matrices, got ",
                                                   x.dim(), "-D and ", y.dim(), "-D"));
  }
  if (x.sizes() != y.sizes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("input is ", x.size(0), " x ", x.size(1), " but output is ", y.size(0), " x ",
                     y.size(1), ": the affine map needs equal shapes"));
  }
  const int64_t n = x.size(0);
  const int64_t d = x.size(1);
  if (n < 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("a covariance needs at least 2 samples, got ", n));
  }
  if (d < 1) return absl::InvalidArgumentError("feature dimension is 0");
  const at::Tensor x64 = x.to(at::kDouble);
  const at::Tensor y64 = y.to(y.device(), at::kDouble);
  if (!at::isfinite(x64).all().item<bool>() || !at::isfinite(y64).all().item<bool>()) {
    return absl::InvalidArgumentError("the activation holds NaN or Inf");
  }
  const at::Tensor xc = x64 - x64.mean(0, true);
  const at::Tensor yc = y64.to(x64.device()) - y64.to(x64.device()).mean(0, true);

  const bool subspace = options.path == AffineMapPath::kSubspace ||
                        (options.path == AffineMapPath::kAuto && d > 2 * n);
  if (!subspace) return ScoreInBasis(xc, yc, d);

  // Orthonormal basis Q (d x min(d, 2N)) of the span of every centred sample.
  const at::Tensor q = std::get<0>(at::linalg_qr(at::cat({xc, yc}, 0).transpose(0, 1), "reduced"));
  AffinityScore result = ScoreInBasis(at::matmul(xc, q), at::matmul(yc, q), d);
  result.subspace_path = true;
  return result;
}

}  // namespace affsig::engine
