// The companion measures of one activation call (docs/affinity-score.md, section 5;
// common/measures.h), in float64 from the reduced input x and output y that its score uses, and
// for sparsity from what the capture counted of the unreduced tensors (tensor_reduction.h).
#ifndef AFFSIG_SERVER_ENGINE_COMPANION_MEASURES_H_
#define AFFSIG_SERVER_ENGINE_COMPANION_MEASURES_H_

#include <vector>

#include "absl/status/statusor.h"
#include "common/measures.h"
#include "server/engine/affinity_score.h"
#include "server/engine/tensor_reduction.h"

namespace at {
class Tensor;
}

namespace affsig::engine {

// What the capture kept of one call beyond its reduced tensors.
struct CallCounts {
  NearZeroCount input;  // of the unreduced input, when sparsity was asked
  NearZeroCount output;
};

// The measures `selection` asks for, in Measure order, each value in `mean` (std 0): NaN where
// a measure is undefined (the CKA of a constant output). `x` and `y` are N x d with N >= 2 and
// finite values, of any floating dtype, on any device: the shrinkage score, CKA and the norm are
// computed there, the entropies and R^2 on the CPU. The shrinkage score takes `score`'s path.
// Errors: those of ComputeAffinityScore, and LibTorch's failures (a least-squares fit that does
// not converge) as INTERNAL.
absl::StatusOr<std::vector<MeasureValue>> ComputeCompanionMeasures(
    const at::Tensor& x, const at::Tensor& y, const CallCounts& counts,
    const MeasureSelection& selection, const AffinityScoreOptions& score = {});

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_COMPANION_MEASURES_H_
