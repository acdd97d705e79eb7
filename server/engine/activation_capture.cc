#include "server/engine/activation_capture.h"

#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/library.h>

#include <optional>
#include <stdexcept>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "server/engine/inference_optimizer.h"
#include "server/engine/tensor_reduction.h"
#include "server/engine/torch_error.h"

namespace affsig::engine {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

// The recorder of the forward pass running on this thread; set only inside Run.
thread_local CaptureRecorder* active_recorder = nullptr;

void CaptureActivation(const at::Tensor& activation, int64_t site, int64_t side) {
  if (active_recorder != nullptr) active_recorder->Record(site, side == 1, activation);
}

constexpr char kCaptureOp[] = "affsig::capture";
constexpr char kSelfInstance[] = "SELF";  // a method called on the same module instance

// Conservative alias analysis marks the operator as having side effects: no pass removes or
// reorders it, and it reads its argument exactly where it stands.
TORCH_LIBRARY(affsig, m) {
  m.def(torch::schema("affsig::capture(Tensor activation, int site, int side) -> ()",
                      c10::AliasAnalysisKind::CONSERVATIVE),
        &CaptureActivation);
}

// One call frame of an inlined node, outermost first.
struct Frame {
  const torch::jit::Function* function = nullptr;
  torch::jit::SourceRange call_site;
  std::string instance;    // module attribute name; "" when the callee is a plain function.
  std::string class_name;  // qualified TorchScript class of the module instance.

  bool SameCall(const Frame& other) const {
    return function == other.function && instance == other.instance &&
           class_name == other.class_name && call_site.source() == other.call_site.source() &&
           call_site.start() == other.call_site.start() && call_site.end() == other.call_site.end();
  }
};

std::vector<Frame> FramesOf(const Node* node) {
  std::vector<Frame> frames;
  std::optional<torch::jit::InlinedCallStackPtr> at;
  if (auto callstack = node->callstack()) at = *callstack;
  while (at) {
    Frame frame;
    frame.function = (*at)->function();
    frame.call_site = (*at)->source_range();
    if (auto instance = (*at)->module_instance()) {
      frame.instance = instance->instance_name();
      if (auto type = instance->class_type(); type && type->name()) {
        frame.class_name = type->name()->qualifiedName();
      }
    }
    frames.push_back(std::move(frame));
    auto callee = (*at)->callee();
    at = callee ? std::optional(*callee) : std::nullopt;
  }
  return frames;
}

// What a node is for the signature.
struct NodeRole {
  enum class Kind { kOther, kModuleCall, kFunctional, kExcluded };
  Kind kind = Kind::kOther;
  size_t module_frame = 0;  // kModuleCall: the activation module's frame.
  ActivationSite site;
};

// Resolves the module path of each frame. A callstack names a module by its attribute name
// only; modules reached through a container (self.blocks[3]) are found among the descendants of
// the calling module by that name and their TorchScript type.
class ModulePaths {
 public:
  explicit ModulePaths(const torch::jit::Module& root) : root_(root) {}

  // The dotted path of the module executing `frames[0..count)`, and its components.
  std::vector<std::string> Components(const std::vector<Frame>& frames, size_t count) {
    std::vector<std::string> components;
    torch::jit::Module current = root_;
    for (size_t i = 0; i < count; ++i) {
      const Frame& frame = frames[i];
      if (frame.instance.empty() || frame.instance == kSelfInstance) continue;
      auto [relative, child] = Child(current, frame);
      for (absl::string_view part : absl::StrSplit(relative, '.')) {
        components.emplace_back(part);
      }
      current = child;
    }
    return components;
  }

 private:
  std::pair<std::string, torch::jit::Module> Child(const torch::jit::Module& parent,
                                                   const Frame& frame) {
    if (parent.hasattr(frame.instance)) {
      c10::IValue value = parent.attr(frame.instance);
      if (value.isModule()) return {frame.instance, value.toModule()};
    }
    for (const auto& named : parent.named_modules()) {
      const std::string& name = named.name;
      const bool last_component_matches = absl::EndsWith(name, frame.instance) &&
                                          (name.size() == frame.instance.size() ||
                                           name[name.size() - frame.instance.size() - 1] == '.');
      if (last_component_matches && named.value.type()->name() &&
          named.value.type()->name()->qualifiedName() == frame.class_name) {
        return {name, named.value};
      }
    }
    return {frame.instance, parent};  // unknown: keep the attribute name.
  }

  torch::jit::Module root_;
};

NodeRole Classify(const Node* node, const std::vector<Frame>& frames, ActivationMode mode,
                  ModulePaths& paths) {
  NodeRole role;
  size_t frame_count = frames.size();
  for (size_t i = 0; i < frames.size(); ++i) {
    if (IsMultiheadAttentionClass(frames[i].class_name)) {
      role.kind = NodeRole::Kind::kExcluded;
      return role;
    }
    if (!ActivationModuleClass(frames[i].class_name).empty()) {
      role.kind = NodeRole::Kind::kModuleCall;
      role.module_frame = i;
      frame_count = i + 1;
      break;
    }
  }
  if (role.kind == NodeRole::Kind::kOther && mode == ActivationMode::kAll) {
    role.site.op = FunctionalActivationOp(node->kind().toQualString());
    if (!role.site.op.empty()) role.kind = NodeRole::Kind::kFunctional;
  }
  if (role.kind == NodeRole::Kind::kOther) return role;
  const std::vector<std::string> components = paths.Components(frames, frame_count);
  for (const std::string& component : components) {
    if (IsAttentionPathComponent(component)) {
      role.kind = NodeRole::Kind::kExcluded;
      return role;
    }
  }
  role.site.module = absl::StrJoin(components, ".");
  if (role.kind == NodeRole::Kind::kModuleCall) {
    role.site.op = ActivationModuleClass(frames[role.module_frame].class_name);
  }
  return role;
}

bool IsTensor(const Value* value) { return value->type()->cast<c10::TensorType>() != nullptr; }

// The consecutive nodes of one block that make up one call of an activation module.
struct ModuleCallGroup {
  std::vector<Frame> frames;  // up to and including the activation module's frame.
  std::vector<Node*> nodes;
  ActivationSite site;
};

void CollectNested(Node* node, absl::flat_hash_set<const Node*>& members) {
  members.insert(node);
  for (Block* block : node->blocks()) {
    for (Node* inner : block->nodes()) CollectNested(inner, members);
  }
}

// Instruments a graph: finds sites, inserts capture nodes.
class GraphInstrumenter {
 public:
  GraphInstrumenter(Graph& graph, ActivationMode mode, const torch::jit::Module& root)
      : graph_(graph), mode_(mode), paths_(root) {}

  std::vector<ActivationSite> Instrument() {
    InstrumentBlock(graph_.block());
    return std::move(sites_);
  }

 private:
  void InstrumentBlock(Block* block) {
    std::vector<ModuleCallGroup> groups;
    std::vector<std::pair<Node*, ActivationSite>> functional;
    std::vector<Block*> nested;
    ModuleCallGroup* open = nullptr;
    for (Node* node : block->nodes()) {
      const std::vector<Frame> frames = FramesOf(node);
      NodeRole role = Classify(node, frames, mode_, paths_);
      if (role.kind == NodeRole::Kind::kModuleCall) {
        std::vector<Frame> call(frames.begin(), frames.begin() + role.module_frame + 1);
        if (open == nullptr || !SameCall(open->frames, call)) {
          groups.push_back({std::move(call), {}, std::move(role.site)});
          open = &groups.back();
        }
        open->nodes.push_back(node);
        continue;
      }
      // Constants emitted while inlining do not end a module's call.
      if (open != nullptr && node->kind() == c10::prim::Constant) continue;
      open = nullptr;
      if (role.kind == NodeRole::Kind::kExcluded) continue;
      if (role.kind == NodeRole::Kind::kFunctional) {
        functional.emplace_back(node, std::move(role.site));
      }
      for (Block* inner : node->blocks()) nested.push_back(inner);
    }
    for (const ModuleCallGroup& group : groups) InstrumentModuleCall(group);
    for (auto& [node, site] : functional) {
      if (IsTensor(node->input(0)) && node->outputs().size() >= 1 && IsTensor(node->output(0))) {
        InsertCaptures(node->input(0), node, node->output(0), node, std::move(site));
      }
    }
    for (Block* inner : nested) InstrumentBlock(inner);
  }

  static bool SameCall(const std::vector<Frame>& a, const std::vector<Frame>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].SameCall(b[i])) return false;
    }
    return true;
  }

  // The tensor entering the module is the first tensor its nodes read from outside; the tensor
  // leaving it is the last tensor its top-level nodes produce.
  void InstrumentModuleCall(const ModuleCallGroup& group) {
    absl::flat_hash_set<const Node*> members;
    for (Node* node : group.nodes) CollectNested(node, members);
    Value* input = nullptr;
    Node* first_reader = nullptr;
    for (Node* node : group.nodes) {
      input = FirstExternalTensor(node, members);
      if (input != nullptr) {
        first_reader = node;
        break;
      }
    }
    Value* output = nullptr;
    Node* producer = nullptr;
    for (auto it = group.nodes.rbegin(); it != group.nodes.rend() && output == nullptr; ++it) {
      for (Value* value : (*it)->outputs()) {
        if (IsTensor(value)) {
          output = value;
          producer = *it;
          break;
        }
      }
    }
    if (input == nullptr || output == nullptr) return;  // not a tensor-to-tensor call.
    InsertCaptures(input, first_reader, output, producer, group.site);
  }

  static Value* FirstExternalTensor(Node* node, const absl::flat_hash_set<const Node*>& members) {
    for (Value* value : node->inputs()) {
      if (!members.contains(value->node()) && IsTensor(value)) return value;
    }
    for (Block* block : node->blocks()) {
      for (Node* inner : block->nodes()) {
        if (Value* found = FirstExternalTensor(inner, members)) return found;
      }
    }
    return nullptr;
  }

  void InsertCaptures(Value* input, Node* before, Value* output, Node* after, ActivationSite site) {
    const int64_t index = static_cast<int64_t>(sites_.size());
    sites_.push_back(std::move(site));
    CreateCapture(input, index, /*side=*/0)->insertBefore(before);
    Node* output_capture = CreateCapture(output, index, /*side=*/1);
    output_capture->insertAfter(after);
    for (Node* capture : {before->prev(), output_capture}) {
      for (Value* argument : capture->inputs().slice(1)) argument->node()->insertBefore(capture);
    }
  }

  // A capture node with its two integer constants, none of them in the graph yet.
  Node* CreateCapture(Value* activation, int64_t site, int64_t side) {
    std::vector<Value*> arguments = {activation};
    for (int64_t value : {site, side}) {
      Node* constant = graph_.create(c10::prim::Constant);
      constant->i_(c10::attr::value, value);
      constant->output()->setType(c10::IntType::get());
      arguments.push_back(constant->output());
    }
    return graph_.create(c10::Symbol::fromQualString(kCaptureOp), arguments, /*num_outputs=*/0);
  }

 private:
  Graph& graph_;
  ActivationMode mode_;
  ModulePaths paths_;
  std::vector<ActivationSite> sites_;
};

}  // namespace

CaptureRecorder::CaptureRecorder(const std::vector<ActivationSite>& sites,
                                 std::function<bool()> should_stop, bool count_near_zero,
                                 CapturedCallSink on_complete)
    : sites_(sites),
      should_stop_(std::move(should_stop)),
      count_near_zero_(count_near_zero),
      on_complete_(std::move(on_complete)),
      open_call_for_site_(sites.size(), -1) {}

void CaptureRecorder::Record(int64_t site, bool is_output, const at::Tensor& activation) {
  if (should_stop_ && should_stop_()) {
    stopped_ = true;
    throw std::runtime_error("signature computation stopped");
  }
  if (site < 0 || site >= static_cast<int64_t>(sites_.size())) return;
  at::Tensor reduced = ReduceToSamples(activation);
  const NearZeroCount near_zero = count_near_zero_ ? CountNearZero(activation) : NearZeroCount();
  if (!is_output) {
    const ActivationSite& where = sites_[site];
    const int64_t call = calls_per_key_[absl::StrCat(where.module, "\n", where.op)]++;
    open_call_for_site_[site] = static_cast<int64_t>(calls_.size());
    calls_.push_back({site, call, std::move(reduced), at::Tensor(), near_zero, {}});
    return;
  }
  const int64_t open = open_call_for_site_[site];
  if (open < 0) return;
  calls_[open].output = std::move(reduced);
  calls_[open].output_near_zero = near_zero;
  open_call_for_site_[site] = -1;
  if (on_complete_) {
    CapturedCall& finished = calls_[open];
    on_complete_(
        open, {finished.site, finished.call, std::move(finished.input), std::move(finished.output),
               finished.input_near_zero, finished.output_near_zero});
  }
}

std::vector<CapturedCall> CaptureRecorder::TakeCalls() { return std::move(calls_); }

absl::StatusOr<std::unique_ptr<InstrumentedForward>> InstrumentedForward::Create(
    const torch::jit::Module& module, ActivationMode mode) {
  if (!module.find_method("forward")) {
    return absl::InvalidArgumentError("the model has no forward method");
  }
  try {
    // The copy has types and methods of its own, so instrumenting its forward leaves the
    // model's; it shares the model's tensors (inplace), so that no weight is held twice.
    torch::jit::Module copy = module.clone(/*inplace=*/true);
    std::shared_ptr<Graph> graph = copy.get_method("forward").graph();
    torch::jit::Inline(*graph);
    GraphInstrumenter instrumenter(*graph, mode, copy);
    std::vector<ActivationSite> sites = instrumenter.Instrument();
    graph->lint();
    return std::unique_ptr<InstrumentedForward>(
        new InstrumentedForward(std::move(copy), std::move(sites)));
  } catch (const std::exception& error) {
    return absl::InternalError(
        absl::StrCat("cannot instrument the forward graph: ", OneLineTorchError(error)));
  }
}

absl::Status InstrumentedForward::Optimize() {
  ASSIGN_OR_RETURN(module_, OptimizeForInference(module_));
  optimized_ = true;
  stateless_ = ForwardIsStateless(module_);
  return absl::OkStatus();
}

absl::StatusOr<c10::IValue> InstrumentedForward::Run(std::vector<c10::IValue> inputs,
                                                     CaptureRecorder& recorder) {
  CaptureRecorder* previous = active_recorder;
  active_recorder = &recorder;
  c10::IValue output;
  try {
    output = module_.forward(std::move(inputs));
  } catch (const std::exception& error) {
    active_recorder = previous;
    if (recorder.stopped()) return absl::CancelledError("stopped at an activation");
    return absl::InvalidArgumentError(
        absl::StrCat("the model's forward failed: ", OneLineTorchError(error)));
  }
  active_recorder = previous;
  return output;
}

}  // namespace affsig::engine
