#include "server/engine/tensor_reduction.h"

#include <ATen/ATen.h>

namespace affsig::engine {

at::Tensor ReduceToSamples(const at::Tensor& activation) {
  at::Tensor t = activation.detach();
  // Reduce in the activation's own precision, as the paper does, but never below float32.
  if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble) t = t.to(at::kFloat);
  at::Tensor reduced;
  switch (t.dim()) {
    case 0:
      reduced = t.reshape({1, 1}).clone();
      break;
    case 1:
      reduced = t.unsqueeze(1).clone();
      break;
    case 2:
      reduced = t.clone();
      break;
    case 3:
      reduced = t.mean(-1);
      break;
    case 4:
      reduced = t.mean({2, 3});
      break;
    default:
      reduced = t.flatten(2).mean(-1);
      break;
  }
  return reduced.contiguous();
}

}  // namespace affsig::engine
