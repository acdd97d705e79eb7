// The signature engine: loads a TorchScript model onto a device and computes the non-linearity
// signature of a batch, one affinity score per activation call, in execution order.
#ifndef AFFSIG_SERVER_ENGINE_SIGNATURE_ENGINE_H_
#define AFFSIG_SERVER_ENGINE_SIGNATURE_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/measures.h"
#include "common/signature.h"
#include "server/engine/activation_catalog.h"
#include "server/engine/affinity_score.h"

namespace at {
class Tensor;
}

namespace affsig::engine {

struct DeviceOptions {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:K".
  int intra_op_threads = 0;    // LibTorch intra-op threads for this process; 0 leaves it as is.
  // Threads that score activations while the forward pass goes on (scoring_pool.h says how
  // they share the cores with the forward); 0 scores each after the forward, on its thread;
  // negative: DefaultScoringThreads of the forward's intra-op threads.
  int scoring_threads = -1;
  // TensorFloat-32 in CUDA convolutions and matrix products (process-wide). Off by default: with
  // it, activations differ from the float32 forward by ~1e-3 and so do the scores.
  bool allow_tf32 = false;
};

// How the forward pass runs.
struct ForwardOptions {
  // Frozen and channels_last (inference_optimizer.h), with the capture intact; where LibTorch
  // cannot freeze the model, or the optimized forward fails where the model's own might not, the
  // model's own forward runs instead and unoptimized_reason() says why.
  bool optimize = true;
};

struct SignatureOptions {
  ActivationMode mode = ActivationMode::kModules;
  AffinityScoreOptions score;
  // The companion measures of each scored entry (companion_measures.h). None by default, and
  // then neither the capture nor the scoring does any work for them.
  MeasureSelection measures;
};

struct SignatureProgress {
  int64_t scored = 0;      // entries done.
  int64_t total = 0;       // entries of this forward pass: until it has ended, of the last one
                           // (or those seen so far, where more); 0 during the first: unknown.
  std::string activation;  // the module path of the entry just scored
};

struct SignatureCallbacks {
  // While the forward pass runs, when entries have been scored beside it; after it; and after
  // each entry scored from then on.
  std::function<void(const SignatureProgress&)> on_progress;
  // Asked at every activation call and before every score; true stops with CANCELLED.
  std::function<bool()> should_stop;
};

// One loaded model. Not thread-safe: a worker owns its model; load one per worker.
class SignatureModel {
 public:
  // Loads a TorchScript file (scripted or traced) onto the device, in eval mode.
  static absl::StatusOr<std::unique_ptr<SignatureModel>> Load(
      const std::string& path, const DeviceOptions& options,
      const ForwardOptions& forward_options = {});
  ~SignatureModel();
  SignatureModel(const SignatureModel&) = delete;
  SignatureModel& operator=(const SignatureModel&) = delete;

  // The device the model runs on, as LibTorch names it ("cpu", "cuda:0").
  std::string device() const;

  // The signature of one batch (first dimension = samples). The forward pass is the model's own:
  // when `forward_outputs` is given it receives the output's tensors, flattened.
  absl::StatusOr<Signature> Compute(const at::Tensor& batch, const SignatureOptions& options,
                                    const SignatureCallbacks& callbacks = {},
                                    std::vector<at::Tensor>* forward_outputs = nullptr);

  // The bare forward pass, run exactly as Compute runs it but without capture.
  absl::StatusOr<std::vector<at::Tensor>> Forward(const at::Tensor& batch);

  // Empty while every forward pass so far ran optimized as asked; else why one did not, once.
  const std::string& unoptimized_reason() const;

  // Whether another job may run on this model as on a fresh load of the same file: every forward
  // pass so far ran frozen, reading no module attribute, so none could change what the next
  // computes.
  bool reusable() const;

 private:
  struct State;
  explicit SignatureModel(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_SIGNATURE_ENGINE_H_
