// Distances between signatures (or any series of per-activation values), as the paper compares
// architectures: dynamic time warping for networks of different depths, and the euclidean and
// correlation distances for series of one length (resampled to it where they differ).
#ifndef AFFSIG_SERVER_ANALYSIS_SIGNATURE_DISTANCE_H_
#define AFFSIG_SERVER_ANALYSIS_SIGNATURE_DISTANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/analysis_options.h"

namespace affsig::analysis {

// A series and the name its errors are reported under (a job's id or name).
struct NamedSeries {
  std::string name;
  std::vector<double> values;
};

// `values` at `length` evenly spaced relative depths, by linear interpolation over relative depth
// i / (n - 1) (a single value is constant over depth): NumPy's
// np.interp(np.linspace(0, 1, length), np.linspace(0, 1, n), values). The first and last values
// are kept exactly. Empty when `values` is empty or `length` < 1.
std::vector<double> Resample(absl::Span<const double> values, int64_t length);

// Dynamic time warping as tslearn's dtw computes it: the cost of matching a_i with b_j is
// (a_i - b_j)^2, a path steps by (1, 0), (0, 1) or (1, 1) from (0, 0) to the last pair, no window;
// the result is the square root of the smallest path sum. Symmetric in a and b. Infinity when
// either is empty (there is no path).
double Dtw(absl::Span<const double> a, absl::Span<const double> b);

// The distances between every two of `series` (SignatureDistance: common/analysis_options.h;
// dtw as Dtw above, euclidean sqrt(sum (a_i - b_i)^2), correlation 1 - Pearson r clipped to
// [0, 2] against rounding): a full symmetric n x n matrix, row-major, in the order of `series`,
// with a zero diagonal. The pairs are split over `threads` threads (0 or less: one per core).
// INVALID_ARGUMENT, naming the series, for an empty series or a non-finite value; for euclidean
// and correlation also for two series of different lengths, and for correlation for a constant
// series.
absl::StatusOr<std::vector<double>> PairwiseDistances(const std::vector<NamedSeries>& series,
                                                      SignatureDistance distance, int threads);

}  // namespace affsig::analysis

#endif  // AFFSIG_SERVER_ANALYSIS_SIGNATURE_DISTANCE_H_
