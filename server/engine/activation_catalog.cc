#include "server/engine/activation_catalog.h"

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace affsig::engine {
namespace {

constexpr absl::string_view kActivationNamespace = "__torch__.torch.nn.modules.activation";

const absl::flat_hash_set<absl::string_view>& ActivationClasses() {
  static const auto* classes = new absl::flat_hash_set<absl::string_view>{
      "ReLU",     "RReLU",      "Hardtanh",  "ReLU6",      "Sigmoid",   "Hardsigmoid", "Tanh",
      "SiLU",     "Mish",       "Hardswish", "ELU",        "CELU",      "SELU",        "GLU",
      "GELU",     "Hardshrink", "LeakyReLU", "LogSigmoid", "Softplus",  "Softshrink",  "PReLU",
      "Softsign", "Tanhshrink", "Softmin",   "Softmax",    "Softmax2d", "LogSoftmax"};
  return *classes;
}

const absl::flat_hash_set<absl::string_view>& FunctionalOps() {
  static const auto* ops = new absl::flat_hash_set<absl::string_view>{
      "relu",     "relu6",      "rrelu", "hardtanh",   "sigmoid",    "hardsigmoid",
      "tanh",     "silu",       "mish",  "hardswish",  "elu",        "celu",
      "selu",     "glu",        "gelu",  "hardshrink", "leaky_relu", "log_sigmoid",
      "softplus", "softshrink", "prelu", "softmax",    "log_softmax"};
  return *ops;
}

// Splits "a.b.___torch_mangle_7.C" into the namespace "a.b" and the class "C", dropping the
// mangling TorchScript adds when one Python class gives several TorchScript types.
std::pair<std::string, std::string> SplitClassName(absl::string_view qualified) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(qualified, '.')) {
    if (!absl::StartsWith(part, "___torch_mangle_")) parts.push_back(part);
  }
  if (parts.empty()) return {"", ""};
  std::string class_name(parts.back());
  parts.pop_back();
  return {absl::StrJoin(parts, "."), std::move(class_name)};
}

}  // namespace

std::string ActivationModuleClass(absl::string_view qualified_class_name) {
  auto [name_space, class_name] = SplitClassName(qualified_class_name);
  if (name_space != kActivationNamespace) return "";
  return ActivationClasses().contains(class_name) ? class_name : "";
}

bool IsMultiheadAttentionClass(absl::string_view qualified_class_name) {
  auto [name_space, class_name] = SplitClassName(qualified_class_name);
  return name_space == kActivationNamespace && class_name == "MultiheadAttention";
}

bool IsAttentionPathComponent(absl::string_view component) { return component == "attn"; }

std::string FunctionalActivationOp(absl::string_view qualified_op_name) {
  absl::string_view op = qualified_op_name;
  if (!absl::ConsumePrefix(&op, "aten::")) return "";
  absl::ConsumeSuffix(&op, "_");  // in-place forms
  return FunctionalOps().contains(op) ? std::string(op) : "";
}

}  // namespace affsig::engine
