#include "server/engine/affinity_score.h"

#include <ATen/ATen.h>

#include <optional>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/engine/ledoit_wolf.h"
#include "server/engine/torch_error.h"
#include "server/engine/transport_cost.h"

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

// A symmetric matrix's eigen-decomposition, non-positive eigenvalues floored.
struct Spectrum {
  at::Tensor values;  // ascending
  at::Tensor vectors;
};

Spectrum FlooredEigh(const at::Tensor& symmetric) {
  auto [values, vectors] = at::linalg_eigh(symmetric);
  return {FloorEigenvalues(values), vectors};
}

// The factor that pinv(psd_sqrt(P)) applies along each eigenvector: 1 / sqrt(l), or 0 below
// torch.pinverse's cutoff.
at::Tensor PinvSqrtFactors(const Spectrum& spectrum) {
  const at::Tensor roots = spectrum.values.sqrt();
  const at::Tensor cutoff = roots.max() * kPinvRcond;
  return at::where(roots > cutoff, roots.reciprocal(), at::zeros_like(roots));
}

// V diag(f) V^T, the matrix function of a decomposed symmetric matrix.
at::Tensor Recompose(const Spectrum& spectrum, const at::Tensor& factors) {
  return at::matmul(spectrum.vectors * factors.unsqueeze(0), spectrum.vectors.transpose(0, 1));
}

// rows · V diag(f) V^T without forming the k x k matrix: N k^2 work instead of k^3.
at::Tensor TimesRecomposed(const at::Tensor& rows, const Spectrum& spectrum,
                           const at::Tensor& factors) {
  return at::matmul(at::matmul(rows, spectrum.vectors) * factors.unsqueeze(0),
                    spectrum.vectors.transpose(0, 1));
}

at::Tensor Symmetrized(const at::Tensor& m) { return (m + m.transpose(0, 1)) * 0.5; }

// A covariance of centred samples a (N x k) as a^T a / divisor + ridge I, in every basis of the
// samples' span: the spec's sample covariance has divisor N - 1 and ridge 1e-6; a Ledoit-Wolf one,
// (1 - s) a^T a / N + (s mu + 1e-6) I, divisor N / (1 - s), infinite under full shrinkage (and
// a^T a / inf = 0).
struct CovarianceForm {
  double divisor = 1.0;
  double ridge = kCovarianceRidge;
};

CovarianceForm FormOf(const at::Tensor& centered, CovarianceEstimator estimator) {
  const int64_t n = centered.size(0);
  if (estimator == CovarianceEstimator::kSample) {
    return {static_cast<double>(n - 1), kCovarianceRidge};
  }
  const LedoitWolfShrinkage shrunk = EstimateLedoitWolf(centered);
  return {static_cast<double>(n) / (1.0 - shrunk.shrinkage),
          shrunk.shrinkage * shrunk.mu + kCovarianceRidge};
}

at::Tensor Covariance(const at::Tensor& centered, const CovarianceForm& form) {
  const int64_t k = centered.size(1);
  return at::matmul(centered.transpose(0, 1), centered) / form.divisor +
         at::eye(k, centered.options()) * form.ridge;
}

// The map A = S pinv(psd_sqrt(S C_x S)) S with S = psd_sqrt(C_y) is the positive definite T with
// T C_x T = C_y. For any factor C_x = F F^T it is also F^-T psd_sqrt(F^T C_y F) F^-1 (check:
// T C_x T = F^-T (F^T C_y F) F^-1 = C_y): one eigen-decomposition instead of two, and no inverse
// of a square root. F is the Cholesky factor of C_x, or, where rounding leaves C_x not
// numerically positive definite, U diag(sqrt(l)) from its floored eigen-decomposition.
at::Tensor TransportMap(const at::Tensor& cov_x, const at::Tensor& cov_y, bool* eigen_factor) {
  auto [cholesky, info] = at::linalg_cholesky_ex(cov_x);
  *eigen_factor = info.item<int64_t>() != 0;
  std::optional<Spectrum> input;  // of C_x, where it gives F.
  at::Tensor factor = cholesky;
  if (*eigen_factor) {
    input = FlooredEigh(cov_x);
    factor = input->vectors * input->values.sqrt().unsqueeze(0);
  }
  const Spectrum middle =
      FlooredEigh(Symmetrized(at::matmul(at::matmul(factor.transpose(0, 1), cov_y), factor)));
  // T = H H^T with H = F^-T W, W = V diag(l^1/4): a triangular solve for a Cholesky factor, and
  // for U diag(sqrt(l)) a scaling, F^-T = U diag(l^-1/2).
  const at::Tensor w = middle.vectors * middle.values.pow(0.25).unsqueeze(0);
  const at::Tensor half =
      input ? at::matmul(input->vectors / input->values.sqrt().unsqueeze(0), w)
            : at::linalg_solve_triangular(cholesky.transpose(0, 1), w, /*upper=*/true);
  return at::matmul(half, half.transpose(0, 1));
}

// The centred inputs mapped by A (rows a_i A; A is symmetric). With fewer samples than dimensions
// every product is done on the N x k samples, in the spec's form A = S pinv(psd_sqrt(M)) S with
// S = psd_sqrt(C_y) and M = S C_x S = (a S)^T (a S) / divisor + ridge S^2; otherwise on k x k
// matrices.
at::Tensor MapInputs(const at::Tensor& a, const CovarianceForm& form_x, const at::Tensor& cov_y,
                     bool* eigen_factor) {
  const int64_t n = a.size(0);
  const int64_t k = a.size(1);
  if (n >= k) return at::matmul(a, TransportMap(Covariance(a, form_x), cov_y, eigen_factor));
  const Spectrum output = FlooredEigh(cov_y);
  const at::Tensor roots = output.values.sqrt();
  const at::Tensor a_s = TimesRecomposed(a, output, roots);
  const at::Tensor m = at::matmul(a_s.transpose(0, 1), a_s) / form_x.divisor +
                       Recompose(output, output.values) * form_x.ridge;
  const Spectrum middle = FlooredEigh(Symmetrized(m));
  return TimesRecomposed(TimesRecomposed(a_s, middle, PinvSqrtFactors(middle)), output, roots);
}

// Scores centred samples a, b (N x k) expressed in an orthonormal basis of a k-dimensional
// subspace holding every sample of both; `full_dim` is d, the ambient dimension. Outside the
// subspace each covariance is its ridge times I and the samples have no component (the map there
// is a multiple of I that moves no sample), so only the trace needs the remaining d - k
// dimensions.
absl::StatusOr<AffinityScore> ScoreInBasis(const at::Tensor& a, const at::Tensor& b,
                                           int64_t full_dim, const CovarianceForm& form_x,
                                           const CovarianceForm& form_y) {
  const int64_t n = a.size(0);
  const int64_t k = a.size(1);
  const at::Tensor cov_y = Covariance(b, form_y);

  AffinityScore result;
  result.trace_cy = cov_y.trace().item<double>() + form_y.ridge * static_cast<double>(full_dim - k);
  result.degenerate = !(result.trace_cy > 2 * kCovarianceRidge * static_cast<double>(full_dim));

  if (result.degenerate) {
    // A = 0 maps every input to m_y: every permutation costs the mean of ||y_j - m_y||^2.
    result.transport_cost = b.square().sum(1).mean().item<double>();
  } else {
    // x_hat_i - y_j = A (x_i - m_x) - (y_j - m_y): the means cancel.
    ASSIGN_OR_RETURN(auto transport,
                     ComputeTransportCost(MapInputs(a, form_x, cov_y, &result.eigen_factor), b));
    result.transport_cost = transport.cost;
  }
  result.score = 1.0 - std::sqrt(result.transport_cost / (2.0 * result.trace_cy));
  return result;
}

// ComputeAffinityScore after its shape checks.
absl::StatusOr<AffinityScore> CentreAndScore(const at::Tensor& x, const at::Tensor& y,
                                             const AffinityScoreOptions& options) {
  const int64_t n = x.size(0);
  const int64_t d = x.size(1);
  // Means in float64 over the samples as given (each value converted exactly), then the centred
  // float64 samples in one pass each: x - mean computes in the wider type.
  const at::Tensor y_here = y.to(x.device());
  const at::Tensor mean_x = x.mean(0, /*keepdim=*/true, at::kDouble);
  const at::Tensor mean_y = y_here.mean(0, /*keepdim=*/true, at::kDouble);
  // A NaN or Inf makes its column's mean non-finite (Inf - Inf is NaN), and finite float32 values
  // cannot overflow a float64 sum: one pass fewer over the samples than checking every value.
  if (!at::isfinite(mean_x).all().item<bool>() || !at::isfinite(mean_y).all().item<bool>()) {
    return absl::InvalidArgumentError("the activation holds NaN or Inf");
  }
  const at::Tensor xc = x - mean_x;
  const at::Tensor yc = y_here - mean_y;
  // In the ambient dimension: a shrunk covariance's shrinkage depends on d.
  const CovarianceForm form_x = FormOf(xc, options.covariance);
  const CovarianceForm form_y = FormOf(yc, options.covariance);

  const bool subspace = options.path == AffineMapPath::kSubspace ||
                        (options.path == AffineMapPath::kAuto && d > 2 * n);
  if (!subspace) return ScoreInBasis(xc, yc, d, form_x, form_y);

  // Coordinates in an orthonormal basis Q of the span of every centred sample, without forming
  // Q: with Z = [xc; yc] (2N x d) and Z^T = Q R, the rows of R^T are the samples in that basis.
  const at::Tensor r = std::get<1>(at::linalg_qr(at::cat({xc, yc}, 0).transpose(0, 1), "r"));
  const at::Tensor coordinates = r.transpose(0, 1);
  auto result =
      ScoreInBasis(coordinates.slice(0, 0, n), coordinates.slice(0, n, 2 * n), d, form_x, form_y);
  if (result.ok()) result->subspace_path = true;
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
    return absl::InvalidArgumentError(absl::StrCat("input is ", x.size(0), " x ", x.size(1),
                                                   " but output is ", y.size(0), " x ", y.size(1),
                                                   ": the affine map needs equal shapes"));
  }
  const int64_t n = x.size(0);
  const int64_t d = x.size(1);
  if (n < 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("a covariance needs at least 2 samples, got ", n));
  }
  if (d < 1) return absl::InvalidArgumentError("feature dimension is 0");
  // LibTorch reports failures (an eigen-decomposition that does not converge, a device out of
  // memory) by throwing; the caller gets them as a status, so that one entry fails, not the job.
  try {
    return CentreAndScore(x, y, options);
  } catch (const std::exception& error) {
    return absl::InternalError(
        absl::StrCat("the affinity score failed: ", OneLineTorchError(error)));
  }
}

}  // namespace affsig::engine
