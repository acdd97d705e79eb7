// The exact optimal transport cost between two uniform clouds of N points (docs/affinity-score.md,
// section 1, step 5): W = min over permutations s of (1/N) sum_i ||p_i - q_s(i)||^2.
#ifndef AFFSIG_SERVER_ENGINE_TRANSPORT_COST_H_
#define AFFSIG_SERVER_ENGINE_TRANSPORT_COST_H_

#include "absl/status/statusor.h"

namespace at {
class Tensor;
}

namespace affsig::engine {

struct TransportCost {
  double cost = 0.0;  // W, summed in float64 from the matched pairs' differences.
  // The permutation chosen on single-precision costs could not be certified optimal for the
  // float64 costs (points closer than float32 resolves), so it was solved on float64 costs.
  bool solved_in_float64 = false;
};

// `source` and `target`: N x k, float64, finite, on one device (cpu or cuda). The permutation is
// chosen by the exact assignment solver on a float32 cost matrix (half the work and memory of
// float64), then proven optimal for the float64 costs: the solver's dual potentials prove every
// pair except those within float32's rounding bound of the optimum; those few are computed in
// float64 and the potentials corrected until they prove them too. Where no correction within
// the rounding bound exists (near-ties that float32 ordered wrongly), the problem is solved on
// float64 costs. Either way the permutation is optimal for the float64 costs, up to float64
// rounding.
absl::StatusOr<TransportCost> ComputeTransportCost(const at::Tensor& source,
                                                   const at::Tensor& target);

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_TRANSPORT_COST_H_
