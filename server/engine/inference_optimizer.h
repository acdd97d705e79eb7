// Prepares a TorchScript module for inference at the speed LibTorch allows, without changing what
// it computes beyond rounding: the module is frozen (its attributes become constants, so that each
// convolution absorbs the BatchNorm or the scale and shift that follows it and dropout goes away)
// and its 4-D weights are laid out channels_last, the layout of oneDNN's and cuDNN's fastest
// convolutions; the batch is then given in that layout too.
//
// optimize_for_inference is deliberately not applied: its conversion to oneDNN's own layout is
// undone by every activation capture's reorder (resnet18, 64 images, 2 threads: frozen and
// channels_last 1.64 s, plus optimize_for_inference 4.25 s, the unoptimized forward 4.46 s).
#ifndef AFFSIG_SERVER_ENGINE_INFERENCE_OPTIMIZER_H_
#define AFFSIG_SERVER_ENGINE_INFERENCE_OPTIMIZER_H_

#include <torch/script.h>

#include "absl/status/statusor.h"

namespace affsig::engine {

// A frozen, channels_last copy of `module` (in eval mode), whose forward keeps every operator with
// side effects of the original, the activation captures among them. Fails, saying why, where
// LibTorch cannot freeze the module: a forward that assigns attributes, a module returning itself.
absl::StatusOr<torch::jit::Module> OptimizeForInference(const torch::jit::Module& module);

// Whether a frozen module's forward neither reads nor writes any of its attributes (freezing
// folded them all into constants; a buffer the forward updates in place stays an attribute):
// then no forward pass can change what the next one computes.
bool ForwardIsStateless(const torch::jit::Module& frozen);

// The layout an optimized module runs fastest on: channels_last for a 4-D batch, as given else.
at::Tensor InOptimizedLayout(const at::Tensor& batch);

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_INFERENCE_OPTIMIZER_H_
