#include "server/analysis/correlation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "boost/math/distributions/beta.hpp"
#include "boost/math/distributions/students_t.hpp"
#include "common/status_macros.h"

namespace affsig::analysis {
namespace {

// Boost.Math throws on domain errors by default; in a server a bad value must not become an
// exception, so the distributions report through errno (and a NaN) instead. Correlate checks its
// inputs, so none is expected.
using NoThrowPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::pole_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
    boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>>;

absl::Status CheckSeries(absl::string_view name, absl::Span<const double> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " holds ", values[i], " at position ", i));
    }
  }
  if (std::all_of(values.begin(), values.end(), [&](double v) { return v == values[0]; })) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is constant (all ", values.size(),
                                                   " values are ", values[0],
                                                   "): no correlation is defined"));
  }
  return absl::OkStatus();
}

// Pearson's r as scipy.stats.pearsonr computes it: the dot product of the centred, normalised
// series, clipped to [-1, 1] against rounding.
double PearsonR(absl::Span<const double> x, absl::Span<const double> y) {
  const double size = static_cast<double>(x.size());
  const double x_mean = std::accumulate(x.begin(), x.end(), 0.0) / size;
  const double y_mean = std::accumulate(y.begin(), y.end(), 0.0) / size;
  double xx = 0.0;
  double yy = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    xx += (x[i] - x_mean) * (x[i] - x_mean);
    yy += (y[i] - y_mean) * (y[i] - y_mean);
  }
  const double x_norm = std::sqrt(xx);
  const double y_norm = std::sqrt(yy);
  double r = 0.0;
  for (size_t i = 0; i < x.size(); ++i) r += (x[i] - x_mean) / x_norm * ((y[i] - y_mean) / y_norm);
  return std::clamp(r, -1.0, 1.0);
}

// Ranks from 1; equal values share the mean of the ranks they span (scipy.stats.rankdata's
// 'average').
std::vector<double> AverageRanks(absl::Span<const double> values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t start = 0; start < order.size();) {
    size_t end = start + 1;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    const double rank = static_cast<double>(start + 1 + end) / 2.0;
    for (size_t k = start; k < end; ++k) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

// Pearson's r of ranks as scipy.stats.spearmanr computes it, with np.corrcoef: the covariance
// divided by one standard deviation, then by the other, each sum scaled by 1 / (n - 1). Ranks
// (multiples of 1/2 with the mean (n + 1) / 2) make every sum exact, so a perfectly monotone pair
// gives exactly +-1, as in SciPy, where PearsonR's normalising first can leave 1 - 2^-52 (and a
// p-value of 1e-8 instead of 0).
double RankCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  const double size = static_cast<double>(x.size());
  const double x_mean = std::accumulate(x.begin(), x.end(), 0.0) / size;
  const double y_mean = std::accumulate(y.begin(), y.end(), 0.0) / size;
  double xy = 0.0;
  double xx = 0.0;
  double yy = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    xy += (x[i] - x_mean) * (y[i] - y_mean);
    xx += (x[i] - x_mean) * (x[i] - x_mean);
    yy += (y[i] - y_mean) * (y[i] - y_mean);
  }
  const double scale = 1.0 / (size - 1.0);  // np.cov multiplies by it
  const double r = xy * scale / std::sqrt(xx * scale) / std::sqrt(yy * scale);
  return std::clamp(r, -1.0, 1.0);
}

}  // namespace

absl::StatusOr<CorrelationResult> Correlate(absl::Span<const double> x,
                                            absl::Span<const double> y) {
  if (x.size() != y.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("x and y must pair up: ", x.size(), " values against ", y.size()));
  }
  if (x.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("a correlation's p-value needs at least 3 pairs, got ", x.size()));
  }
  RETURN_IF_ERROR(CheckSeries("x", x));
  RETURN_IF_ERROR(CheckSeries("y", y));

  CorrelationResult result;
  result.n = static_cast<int64_t>(x.size());
  const double n = static_cast<double>(x.size());

  result.pearson_r = PearsonR(x, y);
  // r of n independent normal pairs: (r + 1) / 2 ~ Beta(n/2 - 1, n/2 - 1).
  const double shape = n / 2.0 - 1.0;
  const boost::math::beta_distribution<double, NoThrowPolicy> r_distribution(shape, shape);
  result.pearson_p = 2.0 * boost::math::cdf(boost::math::complement(
                               r_distribution, (std::abs(result.pearson_r) + 1.0) / 2.0));

  const double rho = RankCorrelation(AverageRanks(x), AverageRanks(y));
  result.spearman_rho = rho;
  const double freedom = n - 2.0;
  if (std::abs(rho) == 1.0) {
    result.spearman_p = 0.0;  // t is infinite
  } else {
    const double t = rho * std::sqrt(std::max(0.0, freedom / ((rho + 1.0) * (1.0 - rho))));
    const boost::math::students_t_distribution<double, NoThrowPolicy> t_distribution(freedom);
    result.spearman_p = 2.0 * boost::math::cdf(t_distribution, -std::abs(t));
  }
  return result;
}

}  // namespace affsig::analysis
