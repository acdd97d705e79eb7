// The choices of the analyses on stored signatures (compare, cluster, correlate), named as the
// command line and the documentation name them. The server computes (server/analysis/); the
// client parses its flags into these.
#ifndef AFFSIG_COMMON_ANALYSIS_OPTIONS_H_
#define AFFSIG_COMMON_ANALYSIS_OPTIONS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/measures.h"

namespace affsig {

// How far apart two signatures are.
enum class SignatureDistance {
  kDtw,          // dynamic time warping, tslearn's definition; any lengths
  kEuclidean,    // sqrt(sum (a_i - b_i)^2); equal lengths
  kCorrelation,  // 1 - Pearson r; equal lengths
};

absl::string_view SignatureDistanceName(SignatureDistance distance);
absl::StatusOr<SignatureDistance> ParseSignatureDistance(absl::string_view name);

// How the distance from a merged cluster to the others is defined (SciPy's method names).
enum class Linkage {
  kSingle,    // the nearest members
  kComplete,  // the farthest members
  kAverage,   // the mean over member pairs (UPGMA)
  kWard,      // Ward's minimum variance (the distances taken as euclidean)
};

absl::string_view LinkageName(Linkage linkage);
absl::StatusOr<Linkage> ParseLinkage(absl::string_view name);

// What a comparison compares, entry by entry.
enum class ComparedValue {
  kScore,  // the affinity score
  // A companion measure of jobs submitted with it, named as the measure; in Measure order.
  kShrinkageScore,
  kCka,
  kSparsityBefore,
  kSparsityAfter,
  kEntropyBefore,
  kEntropyAfter,
  kNorm,
  kR2,
};

// "score", or the measure's name (common/measures.h).
absl::string_view ComparedValueName(ComparedValue value);
absl::StatusOr<ComparedValue> ParseComparedValue(absl::string_view name);
// The measure compared; nullopt for the score.
std::optional<Measure> ComparedMeasure(ComparedValue value);

// A statistic of a signature's summary (common/job.h), correlated with a label.
enum class SignatureStatistic { kMean, kMedian, kStd, kMin, kMax, kRange };

absl::string_view SignatureStatisticName(SignatureStatistic statistic);
absl::StatusOr<SignatureStatistic> ParseSignatureStatistic(absl::string_view name);

}  // namespace affsig

#endif  // AFFSIG_COMMON_ANALYSIS_OPTIONS_H_
