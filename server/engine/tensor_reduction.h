// Reduces an activation tensor to one row per sample (docs/affinity-score.md, section 1, step 1).
#ifndef AFFSIG_SERVER_ENGINE_TENSOR_REDUCTION_H_
#define AFFSIG_SERVER_ENGINE_TENSOR_REDUCTION_H_

namespace at {
class Tensor;
}

namespace affsig::engine {

// N x d on the tensor's device, in float32 (float64 input stays float64):
// rank 4 (N,C,H,W) -> mean over H, W; rank 3 (N,T,D) -> mean over D; rank 2 unchanged;
// rank 1 -> N x 1; rank > 4 -> mean over every dim after the second; rank 0 -> 1 x 1.
// The result never aliases the input, so later in-place ops cannot change it.
at::Tensor ReduceToSamples(const at::Tensor& activation);

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_TENSOR_REDUCTION_H_
