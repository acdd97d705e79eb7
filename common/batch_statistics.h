// The signature of a job over several batches: each entry's score is the mean over the batches
// in which it could be scored, with the population standard deviation (NumPy's default), the
// minimum and the maximum; each of its companion measures the mean and population standard
// deviation over those of the batches in which the measure was defined. Every batch's forward
// pass must call the same activations.
#ifndef AFFSIG_COMMON_BATCH_STATISTICS_H_
#define AFFSIG_COMMON_BATCH_STATISTICS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "common/signature.h"

namespace affsig {

// INVALID_ARGUMENT when `per_batch` is empty or its batches differ in their entries.
absl::StatusOr<Signature> CombineBatches(const std::vector<Signature>& per_batch);

}  // namespace affsig

#endif  // AFFSIG_COMMON_BATCH_STATISTICS_H_
