// Finds the activation calls of a TorchScript model and captures each call's input and output
// without changing the forward pass.
//
// The forward graph is inlined, and a side-effecting operator, affsig::capture, is inserted before
// and after each activation call. This reaches calls inside if/loop blocks of scripted models,
// leaves in-place activations in place (the input is reduced before the call overwrites it), and
// each captured tensor is reduced at once to N x d on its device, so that a forward pass with
// capture needs hardly more memory than one without.
#ifndef AFFSIG_SERVER_ENGINE_ACTIVATION_CAPTURE_H_
#define AFFSIG_SERVER_ENGINE_ACTIVATION_CAPTURE_H_

#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/engine/activation_catalog.h"
#include "server/engine/tensor_reduction.h"

namespace affsig::engine {

// A place in the forward graph where an activation call happens. One site can make several calls:
// a module reused in one forward, or a call inside a loop.
struct ActivationSite {
  std::string module;  // dotted path of the activation module, or of the module calling the op.
  std::string op;      // activation class ("ReLU") or functional operation ("relu").
};

// One activation call captured during a forward pass, in execution order.
struct CapturedCall {
  int64_t site = 0;
  int64_t call = 0;  // earlier calls with the same module and op.
  at::Tensor input;  // reduced: N x d.
  at::Tensor output;
  NearZeroCount input_near_zero;  // of the unreduced tensors, when the recorder counts them.
  NearZeroCount output_near_zero;
};

// Receives a call as soon as its output is captured, with its place in execution order, so that
// it can be scored while the forward pass goes on.
using CapturedCallSink = std::function<void(int64_t index, CapturedCall call)>;

// Collects captured calls while an InstrumentedForward runs on the current thread.
class CaptureRecorder {
 public:
  // `should_stop` is asked before each capture; when it says true the forward pass is abandoned.
  // `count_near_zero`: also count each unreduced tensor's near-zero values (section 5's sparsity),
  // a pass over it that a job without that measure does not pay. `on_complete`: where finished
  // calls go; TakeCalls then returns them with their tensors moved out.
  explicit CaptureRecorder(const std::vector<ActivationSite>& sites,
                           std::function<bool()> should_stop = nullptr,
                           bool count_near_zero = false, CapturedCallSink on_complete = nullptr);

  void Record(int64_t site, bool is_output, const at::Tensor& activation);
  bool stopped() const { return stopped_; }
  // Every call in execution order.
  std::vector<CapturedCall> TakeCalls();

 private:
  const std::vector<ActivationSite>& sites_;
  std::function<bool()> should_stop_;
  bool count_near_zero_ = false;
  CapturedCallSink on_complete_;
  bool stopped_ = false;
  std::vector<CapturedCall> calls_;
  std::vector<int64_t> open_call_for_site_;                  // index into calls_, -1 when none.
  absl::flat_hash_map<std::string, int64_t> calls_per_key_;  // by module + op: call numbers.
};

// A copy of a model whose forward reports each activation call, for one activation mode. The
// capture points are placed on the model as loaded, so that module paths and call numbers come
// from it; the copy may then be optimized for inference, which keeps every capture (they have
// side effects) and so every activation, unfused.
class InstrumentedForward {
 public:
  static absl::StatusOr<std::unique_ptr<InstrumentedForward>> Create(
      const torch::jit::Module& module, ActivationMode mode);

  const std::vector<ActivationSite>& sites() const { return sites_; }

  // Replaces the copy by its frozen, channels_last version (inference_optimizer.h); on failure
  // keeps it as it is and says why.
  absl::Status Optimize();
  bool optimized() const { return optimized_; }
  // Optimized, and its forward reads no module attribute (ForwardIsStateless).
  bool stateless() const { return stateless_; }

  // Runs forward(inputs) on the copy, reporting every activation call to `recorder`. Returns the
  // model's output, identical to the model's own forward(inputs) when not optimized.
  absl::StatusOr<c10::IValue> Run(std::vector<c10::IValue> inputs, CaptureRecorder& recorder);

 private:
  InstrumentedForward(torch::jit::Module module, std::vector<ActivationSite> sites)
      : module_(std::move(module)), sites_(std::move(sites)) {}

  torch::jit::Module module_;
  std::vector<ActivationSite> sites_;
  bool optimized_ = false;
  bool stateless_ = false;
};

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_ACTIVATION_CAPTURE_H_
