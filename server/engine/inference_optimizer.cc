#include "server/engine/inference_optimizer.h"

#include <torch/csrc/jit/ir/ir.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/engine/torch_error.h"

namespace affsig::engine {
namespace {

// Freezing turns weights, and the weights conv-BN folding computes, into graph constants; a
// constant is rewritten here rather than the module's parameters, which the unoptimized forward
// shares.
void WeightsToChannelsLast(torch::jit::Block* block) {
  for (torch::jit::Node* node : block->nodes()) {
    for (torch::jit::Block* inner : node->blocks()) WeightsToChannelsLast(inner);
    if (node->kind() != c10::prim::Constant || !node->hasAttribute(c10::attr::value) ||
        node->kindOf(c10::attr::value) != torch::jit::AttributeKind::t) {
      continue;
    }
    const at::Tensor& weight = node->t(c10::attr::value);
    if (weight.dim() != 4 || weight.is_contiguous(at::MemoryFormat::ChannelsLast)) continue;
    at::Tensor reordered = weight.contiguous(at::MemoryFormat::ChannelsLast);
    node->t_(c10::attr::value, reordered);
    node->output()->inferTypeFrom(reordered);
  }
}

bool TouchesModuleState(const torch::jit::Block* block) {
  for (const torch::jit::Node* node : block->nodes()) {
    const c10::Symbol kind = node->kind();
    if (kind == c10::prim::GetAttr || kind == c10::prim::SetAttr ||
        kind == c10::prim::CallMethod) {
      return true;
    }
    for (const torch::jit::Block* inner : node->blocks()) {
      if (TouchesModuleState(inner)) return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<torch::jit::Module> OptimizeForInference(const torch::jit::Module& module) {
  try {
    torch::jit::Module frozen = torch::jit::freeze(module);
    WeightsToChannelsLast(frozen.get_method("forward").graph()->block());
    return frozen;
  } catch (const std::exception& error) {
    return absl::FailedPreconditionError(
        absl::StrCat("LibTorch cannot freeze the model: ", OneLineTorchError(error)));
  }
}

bool ForwardIsStateless(const torch::jit::Module& frozen) {
  return !TouchesModuleState(frozen.get_method("forward").graph()->block());
}

at::Tensor InOptimizedLayout(const at::Tensor& batch) {
  if (batch.dim() != 4) return batch;
  return batch.contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace affsig::engine
