// Which calls count as activation calls (docs/affinity-score.md, section 2).
#ifndef AFFSIG_SERVER_ENGINE_ACTIVATION_CATALOG_H_
#define AFFSIG_SERVER_ENGINE_ACTIVATION_CATALOG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/job.h"  // ActivationMode: which calls count

namespace affsig::engine {

// The activation class named by a TorchScript class's qualified name, e.g.
// "__torch__.torch.nn.modules.activation.___torch_mangle_3.ReLU" -> "ReLU"; empty when the class
// is not one of torch.nn's activation classes (Threshold and MultiheadAttention are not).
std::string ActivationModuleClass(absl::string_view qualified_class_name);

// True for torch.nn.MultiheadAttention, whose calls are skipped with everything inside them.
bool IsMultiheadAttentionClass(absl::string_view qualified_class_name);

// True for a module path component that marks attention ("attn"), skipped as the paper does.
bool IsAttentionPathComponent(absl::string_view component);

// The activation operation of an ATen op ("aten::relu_" -> "relu"); empty when it is none.
std::string FunctionalActivationOp(absl::string_view qualified_op_name);

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_ACTIVATION_CATALOG_H_
