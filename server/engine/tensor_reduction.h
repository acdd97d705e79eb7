// What the capture keeps of an activation tensor: its rows per sample (docs/affinity-score.md,
// section 1, step 1) and, when a job asks for sparsity (section 5), its count of near-zero values.
#ifndef AFFSIG_SERVER_ENGINE_TENSOR_REDUCTION_H_
#define AFFSIG_SERVER_ENGINE_TENSOR_REDUCTION_H_

#include <cstdint>

namespace at {
class Tensor;
}

namespace affsig::engine {

// N x d on the tensor's device, in float32 (float64 input stays float64):
// rank 4 (N,C,H,W) -> mean over H, W; rank 3 (N,T,D) -> mean over D; rank 2 unchanged;
// rank 1 -> N x 1; rank > 4 -> mean over every dim after the second; rank 0 -> 1 x 1.
// The result never aliases the input, so later in-place ops cannot change it.
at::Tensor ReduceToSamples(const at::Tensor& activation);

struct NearZeroCount {
  int64_t near_zero = 0;  // values with |v| <= 1e-3
  int64_t total = 0;      // values
};

// |v| <= 1e-3 as float64 compares it, whatever the tensor's dtype. In one pass over the values,
// without a copy, where the tensor lies densely in CPU memory (as activations do, channels_last
// or not); with tensor operations elsewhere.
NearZeroCount CountNearZero(const at::Tensor& activation);

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_TENSOR_REDUCTION_H_
