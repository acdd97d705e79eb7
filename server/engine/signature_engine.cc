#include "server/engine/signature_engine.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <filesystem>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/engine/activation_capture.h"
#include "server/engine/companion_measures.h"
#include "server/engine/inference_optimizer.h"
#include "server/engine/torch_error.h"

namespace affsig::engine {

struct SignatureModel::State {
  torch::jit::Module module;  // as loaded; runs the bare forward when not optimized.
  c10::Device device = c10::kCPU;
  ForwardOptions forward_options;
  bool bare_prepared = false;                        // the optimized bare forward was tried.
  std::optional<torch::jit::Module> optimized_bare;  // set when it could be built.
  std::unique_ptr<InstrumentedForward> instrumented[2];  // by ActivationMode, built on first use.
  std::string unoptimized_reason;

  void NoteUnoptimized(absl::string_view why) {
    if (unoptimized_reason.empty()) unoptimized_reason = std::string(why);
  }

  // The instrumented forward of a mode, optimized when asked and possible.
  absl::StatusOr<InstrumentedForward*> Instrumented(ActivationMode mode) {
    auto& forward = instrumented[static_cast<int>(mode)];
    if (!forward) {
      ASSIGN_OR_RETURN(forward, InstrumentedForward::Create(module, mode));
      if (forward_options.optimize) {
        if (absl::Status optimized = forward->Optimize(); !optimized.ok()) {
          NoteUnoptimized(optimized.message());
        }
      }
    }
    return forward.get();
  }
};

namespace {

void FlattenTensors(const c10::IValue& value, std::vector<at::Tensor>& out) {
  if (value.isTensor()) {
    out.push_back(value.toTensor());
  } else if (value.isTuple()) {
    for (const c10::IValue& element : value.toTupleRef().elements()) FlattenTensors(element, out);
  } else if (value.isList()) {
    for (const c10::IValue& element : value.toListRef()) FlattenTensors(element, out);
  } else if (value.isGenericDict()) {
    for (const auto& item : value.toGenericDict()) FlattenTensors(item.value(), out);
  }
}

// Both the bare and the instrumented forward run in inference mode through the plain
// interpreter: no gradient bookkeeping, and no profiling-driven rewrites that could make the two
// differ.
struct ForwardGuards {
  c10::InferenceMode inference;
  torch::jit::GraphOptimizerEnabledGuard no_graph_rewrites{false};
};

absl::StatusOr<c10::Device> ParseDevice(const std::string& name) {
  try {
    c10::Device device(name);
    if (device.is_cuda()) {
      if (!torch::cuda::is_available()) {
        return absl::FailedPreconditionError(
            absl::StrCat("device '", name, "' requested but this LibTorch sees no CUDA device"));
      }
      if (!device.has_index()) device.set_index(0);
      if (device.index() >= static_cast<int>(torch::cuda::device_count())) {
        return absl::FailedPreconditionError(absl::StrCat(
            "device '", name, "' does not exist: ", torch::cuda::device_count(), " CUDA devices"));
      }
    } else if (!device.is_cpu()) {
      return absl::InvalidArgumentError(absl::StrCat("unsupported device '", name, "'"));
    }
    return device;
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad device '", name, "': ", OneLineTorchError(error)));
  }
}

EntryStatus ClassifyCall(const CapturedCall& call, std::string& reason) {
  if (!call.output.defined()) {
    reason = "the activation's output was never produced";
    return EntryStatus::kFailed;
  }
  if (call.input.size(0) != call.output.size(0) || call.input.size(1) != call.output.size(1)) {
    reason = absl::StrCat("input reduces to ", call.input.size(0), " x ", call.input.size(1),
                          " but output to ", call.output.size(0), " x ", call.output.size(1));
    return EntryStatus::kDimMismatch;
  }
  if (call.input.size(0) < 2) {
    reason = absl::StrCat("needs at least 2 samples, the batch has ", call.input.size(0));
    return EntryStatus::kTooFewSamples;
  }
  const bool input_finite = at::isfinite(call.input).all().item<bool>();
  const bool output_finite = at::isfinite(call.output).all().item<bool>();
  if (!input_finite || !output_finite) {
    reason =
        absl::StrCat("the activation's ", input_finite ? "output" : "input", " holds NaN or Inf");
    return EntryStatus::kNonFinite;
  }
  return EntryStatus::kOk;
}

// The score of a call that can be scored, and the measures the options ask for.
absl::Status Score(const CapturedCall& call, const SignatureOptions& options,
                   SignatureEntry& entry) {
  ASSIGN_OR_RETURN(const AffinityScore score,
                   ComputeAffinityScore(call.input, call.output, options.score));
  entry.score = score.score;
  if (!options.measures.any()) return absl::OkStatus();
  ASSIGN_OR_RETURN(entry.measures,
                   ComputeCompanionMeasures(call.input, call.output,
                                            {call.input_near_zero, call.output_near_zero},
                                            options.measures, options.score));
  return absl::OkStatus();
}

}  // namespace

SignatureModel::SignatureModel(std::unique_ptr<State> state) : state_(std::move(state)) {}
SignatureModel::~SignatureModel() = default;

absl::StatusOr<std::unique_ptr<SignatureModel>> SignatureModel::Load(
    const std::string& path, const DeviceOptions& options, const ForwardOptions& forward_options) {
  ASSIGN_OR_RETURN(auto device, ParseDevice(options.device));
  std::error_code error_code;
  if (!std::filesystem::is_regular_file(path, error_code)) {
    return absl::NotFoundError(absl::StrCat("'", path, "' does not exist"));
  }
  if (std::filesystem::file_size(path, error_code) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is empty: not a TorchScript model"));
  }
  if (options.intra_op_threads > 0) at::set_num_threads(options.intra_op_threads);
  at::globalContext().setAllowTF32CuDNN(options.allow_tf32);
  at::globalContext().setAllowTF32CuBLAS(options.allow_tf32);
  // cuDNN's benchmark mode times the candidate algorithms once per input shape and keeps the
  // fastest: a batch size seen again, as in every job's batches, runs at that speed.
  if (device.is_cuda() && forward_options.optimize) at::globalContext().setBenchmarkCuDNN(true);
  auto state = std::make_unique<State>();
  state->device = device;
  state->forward_options = forward_options;
  try {
    state->module = torch::jit::load(path, device);
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' is not a loadable TorchScript model: ", OneLineTorchError(error)));
  }
  if (!state->module.find_method("forward")) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' has no forward method"));
  }
  state->module.eval();
  return std::unique_ptr<SignatureModel>(new SignatureModel(std::move(state)));
}

std::string SignatureModel::device() const { return state_->device.str(); }

const std::string& SignatureModel::unoptimized_reason() const {
  return state_->unoptimized_reason;
}

bool SignatureModel::reusable() const {
  bool any = false;
  for (const auto& forward : state_->instrumented) {
    if (!forward) continue;
    if (!forward->stateless()) return false;
    any = true;
  }
  // The bare forward runs the loaded module itself when it could not be optimized.
  return any && (!state_->bare_prepared || state_->optimized_bare.has_value());
}

absl::StatusOr<std::vector<at::Tensor>> SignatureModel::Forward(const at::Tensor& batch) {
  // Before the guards: freezing inlines and folds only while the graph optimizer is on.
  if (state_->forward_options.optimize && !state_->bare_prepared) {
    state_->bare_prepared = true;
    auto optimized = OptimizeForInference(state_->module);
    if (optimized.ok()) {
      state_->optimized_bare = *std::move(optimized);
    } else {
      state_->NoteUnoptimized(optimized.status().message());
    }
  }
  ForwardGuards guards;
  const at::Tensor input = batch.to(state_->device);
  auto run = [&](torch::jit::Module& module,
                 const at::Tensor& given) -> absl::StatusOr<std::vector<at::Tensor>> {
    try {
      std::vector<at::Tensor> outputs;
      FlattenTensors(module.forward({given}), outputs);
      return outputs;
    } catch (const std::exception& error) {
      return absl::InvalidArgumentError(
          absl::StrCat("the model's forward failed: ", OneLineTorchError(error)));
    }
  };
  if (!state_->optimized_bare) return run(state_->module, input);
  auto optimized = run(*state_->optimized_bare, InOptimizedLayout(input));
  if (optimized.ok()) return optimized;
  // As in Compute: the model's own forward from now on, unless it fails too.
  ASSIGN_OR_RETURN(auto outputs, run(state_->module, input));
  state_->NoteUnoptimized(
      absl::StrCat("the optimized forward failed: ", optimized.status().message()));
  state_->optimized_bare.reset();
  return outputs;
}

absl::StatusOr<Signature> SignatureModel::Compute(const at::Tensor& batch,
                                                  const SignatureOptions& options,
                                                  const SignatureCallbacks& callbacks,
                                                  std::vector<at::Tensor>* forward_outputs) {
  ASSIGN_OR_RETURN(InstrumentedForward * instrumented, state_->Instrumented(options.mode));
  std::vector<CapturedCall> calls;
  auto run = [&](InstrumentedForward& forward) -> absl::Status {
    ForwardGuards guards;
    const at::Tensor input = batch.to(state_->device);
    CaptureRecorder recorder(forward.sites(), callbacks.should_stop, options.measures.sparsity);
    ASSIGN_OR_RETURN(
        auto output,
        forward.Run({forward.optimized() ? InOptimizedLayout(input) : input}, recorder));
    if (forward_outputs != nullptr) FlattenTensors(output, *forward_outputs);
    calls = recorder.TakeCalls();
    return absl::OkStatus();
  };
  const absl::Status ran = run(*instrumented);
  if (!ran.ok() && instrumented->optimized() && !absl::IsCancelled(ran)) {
    // A forward can fail optimized only (a view of a tensor channels_last left
    // non-contiguous): the model's own forward runs from then on. Where the input is at fault,
    // that fails as well, says so, and the optimized forward stays.
    ASSIGN_OR_RETURN(auto unoptimized, InstrumentedForward::Create(state_->module, options.mode));
    RETURN_IF_ERROR(run(*unoptimized));
    state_->NoteUnoptimized(absl::StrCat("the optimized forward failed: ", ran.message()));
    instrumented = unoptimized.get();
    state_->instrumented[static_cast<int>(options.mode)] = std::move(unoptimized);
  } else {
    RETURN_IF_ERROR(ran);
  }

  const int64_t total = static_cast<int64_t>(calls.size());
  if (callbacks.on_progress) callbacks.on_progress({0, total, ""});
  c10::InferenceMode inference;
  Signature signature;
  signature.reserve(calls.size());
  for (CapturedCall& call : calls) {
    if (callbacks.should_stop && callbacks.should_stop()) {
      return absl::CancelledError("stopped before scoring every activation");
    }
    const ActivationSite& site = instrumented->sites()[call.site];
    SignatureEntry entry;
    entry.index = static_cast<int64_t>(signature.size());
    entry.module = site.module;
    entry.call = call.call;
    entry.op = site.op;
    entry.n = call.input.size(0);
    entry.d = call.input.size(1);
    entry.status = ClassifyCall(call, entry.reason);
    if (entry.status == EntryStatus::kOk) {
      if (absl::Status scored = Score(call, options, entry); !scored.ok()) {
        entry.status = EntryStatus::kFailed;
        entry.reason = std::string(scored.message());
      }
    }
    call = CapturedCall();  // release the reduced tensors as we go.
    signature.push_back(std::move(entry));
    if (callbacks.on_progress) {
      callbacks.on_progress({static_cast<int64_t>(signature.size()), total, site.module});
    }
  }
  return signature;
}

}  // namespace affsig::engine
