#include "server/engine/companion_measures.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/engine/torch_error.h"

namespace affsig::engine {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// HSIC(a, b) = sum((H a a^T H) * (H b b^T H)) of centred a and b is ||a^T b||_F^2: computed from
// the d x d cross products, or from the N x N kernels when they are the smaller.
double LinearCka(const at::Tensor& xc, const at::Tensor& yc) {
  double hsic_xy = 0.0, hsic_xx = 0.0, hsic_yy = 0.0;
  if (xc.size(0) < xc.size(1)) {
    const at::Tensor kx = at::matmul(xc, xc.transpose(0, 1));
    const at::Tensor ky = at::matmul(yc, yc.transpose(0, 1));
    hsic_xy = (kx * ky).sum().item<double>();
    hsic_xx = kx.square().sum().item<double>();
    hsic_yy = ky.square().sum().item<double>();
  } else {
    hsic_xy = at::matmul(xc.transpose(0, 1), yc).square().sum().item<double>();
    hsic_xx = at::matmul(xc.transpose(0, 1), xc).square().sum().item<double>();
    hsic_yy = at::matmul(yc.transpose(0, 1), yc).square().sum().item<double>();
  }
  // A constant side makes it 0 / 0: NaN, undefined.
  return hsic_xy / (std::sqrt(hsic_xx) * std::sqrt(hsic_yy));
}

// The entropy of one row's d-bin histogram, in numpy.histogram's bins: edges
// numpy.linspace(min, max, d + 1), each value in the bin whose edges enclose it (the last bin
// closed), with numpy's index computation and its corrections at the edges. A constant row fills
// one bin.
double RowHistogramEntropy(const double* row, int64_t d, std::vector<double>& edges,
                           std::vector<int64_t>& counts) {
  double low = row[0], high = row[0];
  for (int64_t j = 1; j < d; ++j) {
    low = std::min(low, row[j]);
    high = std::max(high, row[j]);
  }
  if (low == high) return 0.0;
  const double width = high - low;
  const double step = width / static_cast<double>(d);
  for (int64_t k = 0; k < d; ++k) {
    // numpy.linspace's special case for a denormal step.
    edges[k] = step == 0 ? static_cast<double>(k) / static_cast<double>(d) * width + low
                         : static_cast<double>(k) * step + low;
  }
  edges[d] = high;
  const double norm = static_cast<double>(d) / width;
  std::fill(counts.begin(), counts.end(), 0);
  for (int64_t j = 0; j < d; ++j) {
    const double value = row[j];
    auto bin = static_cast<int64_t>((value - low) * norm);
    if (bin == d) --bin;
    if (value < edges[bin]) --bin;
    if (value >= edges[bin + 1] && bin != d - 1) ++bin;
    ++counts[bin];
  }
  double entropy = 0.0;
  for (int64_t count : counts) {
    if (count == 0) continue;
    const double p = static_cast<double>(count) / static_cast<double>(d);
    entropy -= p * std::log(p);
  }
  return entropy;
}

// Section 5's entropy of an N x d float64 CPU matrix: per row the histogram entropy plus log(d),
// averaged over the rows.
double HistogramEntropy(const at::Tensor& rows) {
  const at::Tensor contiguous = rows.contiguous();
  const int64_t n = contiguous.size(0);
  const int64_t d = contiguous.size(1);
  const double* data = contiguous.data_ptr<double>();
  std::vector<double> edges(d + 1);
  std::vector<int64_t> counts(d);
  const double log_d = std::log(static_cast<double>(d));
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sum += RowHistogramEntropy(data + i * d, d, edges, counts) + log_d;
  }
  return sum / static_cast<double>(n);
}

// R^2 of y from x as scikit-learn's LinearRegression and r2_score (uniform average) give it:
// least squares on the centred samples (the intercept) by LAPACK's gelsd with SciPy's cutoff
// (singular values below machine epsilon times the largest are zero), so that with N <= d the fit
// is exact as there. Per output: 1 - SS_res / SS_tot, 1 where SS_res is 0 and 0 where only SS_tot
// is (a constant output fitted inexactly).
double RSquared(const at::Tensor& xc, const at::Tensor& yc) {
  const at::Tensor solution =
      std::get<0>(at::linalg_lstsq(xc, yc, std::numeric_limits<double>::epsilon(), "gelsd"));
  const at::Tensor residual_squares = (yc - at::matmul(xc, solution)).square().sum(0);
  const at::Tensor total_squares = yc.square().sum(0);
  const int64_t outputs = yc.size(1);
  const double* residual = residual_squares.data_ptr<double>();
  const double* total = total_squares.data_ptr<double>();
  double sum = 0.0;
  for (int64_t j = 0; j < outputs; ++j) {
    if (residual[j] == 0) {
      sum += 1.0;
    } else if (total[j] != 0) {
      sum += 1.0 - residual[j] / total[j];
    }
  }
  return sum / static_cast<double>(outputs);
}

double Fraction(const NearZeroCount& count) {
  return count.total == 0 ? kNaN
                          : static_cast<double>(count.near_zero) / static_cast<double>(count.total);
}

absl::StatusOr<std::vector<MeasureValue>> Compute(const at::Tensor& x, const at::Tensor& y,
                                                  const CallCounts& counts,
                                                  const MeasureSelection& selection,
                                                  const AffinityScoreOptions& score) {
  std::vector<MeasureValue> values;
  auto add = [&values](Measure measure, double value) { values.push_back({measure, value, 0.0}); };
  if (selection.shrinkage) {
    AffinityScoreOptions shrunk = score;
    shrunk.covariance = CovarianceEstimator::kLedoitWolf;
    ASSIGN_OR_RETURN(const AffinityScore shrinkage, ComputeAffinityScore(x, y, shrunk));
    add(Measure::kShrinkageScore, shrinkage.score);
  }
  const at::Tensor xd = x.to(at::kDouble);
  const at::Tensor yd = y.to(at::kDouble);
  const at::Tensor xc = xd - xd.mean(0, true);
  const at::Tensor yc = yd - yd.mean(0, true);
  if (selection.cka) add(Measure::kCka, LinearCka(xc, yc));
  if (selection.sparsity) {
    add(Measure::kSparsityBefore, Fraction(counts.input));
    add(Measure::kSparsityAfter, Fraction(counts.output));
  }
  if (selection.entropy) {
    add(Measure::kEntropyBefore, HistogramEntropy(xd.cpu()));
    add(Measure::kEntropyAfter, HistogramEntropy(yd.cpu()));
  }
  if (selection.norm) add(Measure::kNorm, (xd - yd).square().sum().sqrt().item<double>());
  if (selection.r2) add(Measure::kR2, RSquared(xc.cpu(), yc.cpu()));
  return values;
}

}  // namespace

absl::StatusOr<std::vector<MeasureValue>> ComputeCompanionMeasures(
    const at::Tensor& x, const at::Tensor& y, const CallCounts& counts,
    const MeasureSelection& selection, const AffinityScoreOptions& score) {
  // As for the score: one entry fails, not the job.
  try {
    return Compute(x, y, counts, selection, score);
  } catch (const std::exception& error) {
    return absl::InternalError(
        absl::StrCat("the companion measures failed: ", OneLineTorchError(error)));
  }
}

}  // namespace affsig::engine
