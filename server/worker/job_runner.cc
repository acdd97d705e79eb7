#include "server/worker/job_runner.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/batch_statistics.h"
#include "common/status_macros.h"
#include "server/datasets/batch_stream.h"
#include "server/datasets/sample_dataset.h"
#include "server/engine/signature_engine.h"

namespace affsig::worker {
namespace {

// "batch 2 of 4: ...".
absl::Status InBatch(const absl::Status& status, size_t batch, int64_t batch_count) {
  return absl::Status(status.code(),
                      absl::StrCat("batch ", batch, " of ", batch_count, ": ", status.message()));
}

}  // namespace

JobRunner::JobRunner(RunnerOptions options) : options_(std::move(options)) {}
JobRunner::~JobRunner() = default;

absl::StatusOr<std::unique_ptr<engine::SignatureModel>> JobRunner::TakeModel(
    const JobSpec& spec, const BlobPath& blob_path) {
  // Only models that ran optimized are kept (reusable()): a job asking for the unoptimized
  // forward loads its own.
  if (kept_model_ && kept_sha256_ == spec.model_sha256 &&
      spec.optimize == ForwardOptimization::kAuto) {
    kept_sha256_.clear();
    return std::move(kept_model_);
  }
  kept_model_.reset();  // one model in memory at a time
  kept_sha256_.clear();
  auto model_path = blob_path(spec.model_sha256);
  if (!model_path.ok()) {
    return absl::Status(model_path.status().code(), absl::StrCat("model ", spec.model_sha256, ": ",
                                                                 model_path.status().message()));
  }
  // Messages name blobs by digest: where a worker keeps its files is none of the user's business.
  auto model = engine::SignatureModel::Load(
      *model_path, {options_.device, options_.intra_op_threads, options_.scoring_threads},
      {/*optimize=*/spec.optimize == ForwardOptimization::kAuto});
  if (!model.ok()) {
    return absl::InvalidArgumentError(absl::StrReplaceAll(
        model.status().message(), {{*model_path, absl::StrCat("model ", spec.model_sha256)}}));
  }
  return model;
}

absl::StatusOr<Signature> JobRunner::Run(const JobSpec& spec, const BlobPath& blob_path,
                                         const RunCallbacks& callbacks) {
  datasets::DataAccess access;
  access.blob_path = blob_path;
  access.roots = options_.data_roots;
  ASSIGN_OR_RETURN(auto dataset, datasets::OpenSampleDataset(spec.data, access));
  datasets::StreamOptions stream;
  stream.decode_threads = options_.data_threads;
  stream.waiting_decode_threads =
      std::max(options_.data_threads, options_.intra_op_threads > 0
                                          ? options_.intra_op_threads
                                          : static_cast<int>(std::thread::hardware_concurrency()));
  stream.pinned_memory = absl::StartsWith(options_.device, "cuda");
  ASSIGN_OR_RETURN(auto batches,
                   datasets::BatchStream::Start(std::move(dataset), spec.data, stream));
  ASSIGN_OR_RETURN(std::unique_ptr<engine::SignatureModel> model, TakeModel(spec, blob_path));

  const int64_t batch_count = batches->batch_count();
  std::vector<Signature> per_batch;
  engine::SignatureCallbacks engine_callbacks;
  engine_callbacks.should_stop = callbacks.should_stop;
  if (callbacks.on_progress) {
    engine_callbacks.on_progress = [&](const engine::SignatureProgress& progress) {
      // Activations over every batch, the forward pass of the first giving the count.
      const auto batch = static_cast<int64_t>(per_batch.size());
      callbacks.on_progress({batch * progress.total + progress.scored, batch_count * progress.total,
                             progress.activation, batch + 1, batch_count});
    };
  }
  while (true) {
    auto batch = batches->Next();
    if (!batch.ok()) return InBatch(batch.status(), per_batch.size() + 1, batch_count);
    if (!batch->has_value()) break;
    auto signature =
        model->Compute(**batch, {spec.activations, {}, spec.measures}, engine_callbacks);
    if (!signature.ok()) {
      // A job of one batch fails as its forward pass did.
      if (batch_count == 1) return signature.status();
      return InBatch(signature.status(), per_batch.size() + 1, batch_count);
    }
    per_batch.push_back(*std::move(signature));
  }
  if (!model->unoptimized_reason().empty()) {
    if (callbacks.on_note) {
      callbacks.on_note(absl::StrCat("the forward ran unoptimized: ", model->unoptimized_reason()));
    }
  } else if (model->reusable()) {
    kept_sha256_ = spec.model_sha256;
    kept_model_ = std::move(model);
  }
  return CombineBatches(per_batch);
}

}  // namespace affsig::worker
