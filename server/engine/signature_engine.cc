#include "server/engine/signature_engine.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/engine/activation_capture.h"
#include "server/engine/companion_measures.h"
#include "server/engine/inference_optimizer.h"
#include "server/engine/scoring_pool.h"
#include "server/engine/torch_error.h"

namespace affsig::engine {

struct SignatureModel::State {
  torch::jit::Module module;  // as loaded; runs the bare forward when not optimized.
  c10::Device device = c10::kCPU;
  ForwardOptions forward_options;
  bool bare_prepared = false;                            // the optimized bare forward was tried.
  std::optional<torch::jit::Module> optimized_bare;      // set when it could be built.
  std::unique_ptr<InstrumentedForward> instrumented[2];  // by ActivationMode, built on first use.
  std::unique_ptr<ScoringPool> scoring;
  int64_t calls_last_time[2] = {0, 0};  // by ActivationMode: the last forward's call count.
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

// A batch in page-locked memory (datasets::StreamOptions::pinned_memory) is copied without
// blocking: the copy is queued on the device's stream ahead of the forward's kernels, which wait
// for it there, while the host goes on queueing them. LibTorch's pinned-memory allocator keeps
// the host buffer until the copy has run, however soon the caller lets go of it.
at::Tensor ToDevice(const at::Tensor& batch, const c10::Device& device) {
  return batch.to(device, /*non_blocking=*/device.is_cuda() && batch.is_pinned());
}

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

// The entry of a call, before it is scored: where it happened.
SignatureEntry NewEntry(const InstrumentedForward& forward, const CapturedCall& call,
                        int64_t index) {
  const ActivationSite& site = forward.sites()[call.site];
  SignatureEntry entry;
  entry.index = index;
  entry.module = site.module;
  entry.call = call.call;
  entry.op = site.op;
  return entry;
}

// Classifies and scores a call into its entry. Runs on a scoring thread, or on the forward's
// once that has ended.
void ScoreCall(const CapturedCall& call, const SignatureOptions& options, SignatureEntry& entry) {
  c10::InferenceMode inference;
  try {
    entry.n = call.input.size(0);
    entry.d = call.input.size(1);
    entry.status = ClassifyCall(call, entry.reason);
    if (entry.status != EntryStatus::kOk) return;
    if (absl::Status scored = Score(call, options, entry); !scored.ok()) {
      entry.status = EntryStatus::kFailed;
      entry.reason = std::string(scored.message());
    }
  } catch (const std::exception& error) {
    entry.status = EntryStatus::kFailed;
    entry.reason = OneLineTorchError(error);
  }
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
  state->scoring = std::make_unique<ScoringPool>(ScoringPoolOptions{
      options.scoring_threads >= 0 ? options.scoring_threads
                                   : DefaultScoringThreads(at::get_num_threads())});
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

const std::string& SignatureModel::unoptimized_reason() const { return state_->unoptimized_reason; }

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
  const at::Tensor input = ToDevice(batch, state_->device);
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
  ScoringPool& pool = *state_->scoring;
  // By call index. Each finished call is scored on the pool while the forward goes on; the
  // entry's place is fixed here, on this thread, and the task fills in its outcome.
  std::vector<std::unique_ptr<SignatureEntry>> entries;
  std::atomic<int64_t> last_scored{-1};
  // Progress during the forward too, much of the scoring being done there; the total is the last
  // forward's count until this one has ended (0, unknown, during a model's first).
  int64_t& expected_calls = state_->calls_last_time[static_cast<int>(options.mode)];
  int64_t scored = 0;
  auto report = [&](int64_t total) {
    const int64_t index = last_scored.load();
    if (callbacks.on_progress && index >= 0) {
      callbacks.on_progress({scored, total, entries[index]->module});
    }
  };
  // Tasks refer to `entries` and `options`: none may outlive this call.
  absl::Cleanup abandon_tasks = [&pool] { pool.Abandon(); };
  std::vector<CapturedCall> calls;
  auto run = [&](InstrumentedForward& forward) -> absl::Status {
    pool.Abandon();
    entries.clear();
    scored = 0;
    last_scored.store(-1);
    auto score_later = [&](int64_t index, CapturedCall call) {
      if (static_cast<int64_t>(entries.size()) <= index) entries.resize(index + 1);
      entries[index] = std::make_unique<SignatureEntry>(NewEntry(forward, call, index));
      SignatureEntry* entry = entries[index].get();
      pool.Submit([entry, call = std::move(call), &options, &last_scored] {
        ScoreCall(call, options, *entry);
        last_scored.store(entry->index);
      });
      if (const int64_t finished = pool.TakeFinished(); finished > 0) {
        scored += finished;
        report(expected_calls > 0 ? std::max(expected_calls, static_cast<int64_t>(entries.size()))
                                  : 0);
      }
    };
    ForwardGuards guards;
    const at::Tensor input = ToDevice(batch, state_->device);
    CaptureRecorder recorder(forward.sites(), callbacks.should_stop, options.measures.sparsity,
                             score_later);
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

  // Calls whose output never came were not handed to the pool: they fail here.
  entries.resize(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    if (entries[i]) continue;
    entries[i] = std::make_unique<SignatureEntry>(NewEntry(*instrumented, calls[i], i));
    ScoreCall(calls[i], options, *entries[i]);
  }
  const int64_t total = static_cast<int64_t>(calls.size());
  expected_calls = total;
  // Those scored here still hold their tensors; the others were the pool's.
  scored += std::count_if(calls.begin(), calls.end(),
                          [](const CapturedCall& call) { return call.input.defined(); });
  scored += pool.TakeFinished();
  if (callbacks.on_progress) callbacks.on_progress({scored, total, ""});
  const bool finished = pool.Finish(
      [&] {
        ++scored;
        report(total);
      },
      callbacks.should_stop);
  if (!finished) return absl::CancelledError("stopped before scoring every activation");
  Signature signature;
  signature.reserve(entries.size());
  for (auto& entry : entries) signature.push_back(std::move(*entry));
  return signature;
}

}  // namespace affsig::engine
