#include "server/workers/signature_worker.h"

#include <ATen/ATen.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/engine/npy_tensor.h"
#include "server/engine/signature_engine.h"

namespace affsig::workers {

SignatureWorker::SignatureWorker(store::JobQueue& queue, const store::BlobStore& blobs,
                                 WorkerOptions options, WorkerEvents events)
    : queue_(queue), blobs_(blobs), options_(std::move(options)), events_(std::move(events)) {}

absl::StatusOr<Signature> SignatureWorker::Compute(const store::Job& job) {
  auto model_path = blobs_.PathOf(job.spec.model_sha256);
  if (!model_path.ok()) {
    return absl::NotFoundError(
        absl::StrCat("model ", job.spec.model_sha256, " was never uploaded"));
  }
  auto input_path = blobs_.PathOf(job.spec.input_sha256);
  if (!input_path.ok()) {
    return absl::NotFoundError(
        absl::StrCat("input ", job.spec.input_sha256, " was never uploaded"));
  }
  auto mode = engine::ParseActivationMode(job.spec.activations);
  if (!mode.ok()) return mode.status();
  // Messages name blobs by digest: the server's file layout is none of the user's business.
  auto batch = engine::ReadNpyTensor(*input_path);
  if (!batch.ok()) {
    return absl::InvalidArgumentError(absl::StrReplaceAll(
        batch.status().message(), {{*input_path, absl::StrCat("input ", job.spec.input_sha256)}}));
  }
  at::Tensor input = *batch;
  if (!at::isFloatingType(input.scalar_type())) input = input.to(at::kFloat);
  auto model =
      engine::SignatureModel::Load(*model_path, {options_.device, options_.intra_op_threads});
  if (!model.ok()) {
    return absl::InvalidArgumentError(absl::StrReplaceAll(
        model.status().message(), {{*model_path, absl::StrCat("model ", job.spec.model_sha256)}}));
  }
  engine::SignatureCallbacks callbacks;
  callbacks.should_stop = [&] { return queue_.CancelRequested(job.id); };
  if (events_.on_progress) {
    callbacks.on_progress = [&](const engine::SignatureProgress& progress) {
      events_.on_progress({job.id, progress.scored, progress.total, progress.activation});
    };
  }
  return (*model)->Compute(input, {*mode}, callbacks);
}

absl::StatusOr<std::optional<store::Job>> SignatureWorker::RunNext() {
  auto claimed = queue_.ClaimNext();
  if (!claimed.ok()) return claimed.status();
  if (!claimed->has_value()) return std::optional<store::Job>();
  const store::Job& job = **claimed;
  if (events_.on_start) events_.on_start(options_.device, job);

  absl::Status ended;
  absl::StatusOr<Signature> signature = Compute(job);
  if (signature.ok()) {
    ended = queue_.Complete(job.id, *signature);
  } else if (signature.status().code() == absl::StatusCode::kCancelled) {
    ended = queue_.FinishCancelled(job.id);
  } else {
    ended = queue_.Fail(job.id, signature.status().message());
  }
  auto final_job = ended.ok() ? queue_.Get(job.id) : absl::StatusOr<store::Job>(ended);
  if (events_.on_end) events_.on_end(options_.device, final_job.ok() ? *final_job : job);
  if (!final_job.ok()) return final_job.status();
  return std::optional<store::Job>(*std::move(final_job));
}

}  // namespace affsig::workers
