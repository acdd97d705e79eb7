// Whether a statistic of the signature tracks another number across networks (the paper: the
// signature's statistics against ImageNet top-1 accuracy): Pearson's and Spearman's coefficients
// with their two-sided p-values, as scipy.stats.pearsonr and scipy.stats.spearmanr compute them.
#ifndef AFFSIG_SERVER_ANALYSIS_CORRELATION_H_
#define AFFSIG_SERVER_ANALYSIS_CORRELATION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace affsig::analysis {

struct CorrelationResult {
  int64_t n = 0;  // pairs (x_i, y_i)
  double pearson_r = 0.0;
  // Two-sided, from r's exact distribution under independent normal variables: a symmetric beta
  // distribution on [-1, 1] with shape n/2 - 1.
  double pearson_p = 0.0;
  double spearman_rho = 0.0;  // Pearson's r of the ranks; tied values share their mean rank
  // Two-sided, from t = rho sqrt((n - 2) / (1 - rho^2)) under Student's t with n - 2 degrees of
  // freedom (0 when |rho| = 1).
  double spearman_p = 0.0;
};

// INVALID_ARGUMENT when x and y differ in length, hold fewer than 3 pairs (no p-value), hold a
// non-finite value, or when either is constant (no correlation is defined).
absl::StatusOr<CorrelationResult> Correlate(absl::Span<const double> x, absl::Span<const double> y);

}  // namespace affsig::analysis

#endif  // AFFSIG_SERVER_ANALYSIS_CORRELATION_H_
