#include "server/workers/signature_worker.h"

#include <ATen/ATen.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/batch_statistics.h"
#include "common/data_spec.h"
#include "server/datasets/batch_stream.h"
#include "server/datasets/sample_dataset.h"
#include "server/engine/signature_engine.h"

namespace affsig::workers {
namespace {

absl::StatusOr<DataSpec> JobDataSpec(const store::JobSpec& spec) {
  DataSpec data;
  if (spec.data_source.empty()) {
    data.kind = DataKind::kUpload;
    data.location = spec.input_sha256;
  } else {
    auto parsed = ParseDataSource(spec.data_source);
    if (!parsed.ok()) return parsed.status();
    data = *std::move(parsed);
  }
  if (absl::Status options = ParseDataOptions(spec.data_options, data); !options.ok()) {
    return options;
  }
  return data;
}

}  // namespace

SignatureWorker::SignatureWorker(store::JobQueue& queue, const store::BlobStore& blobs,
                                 WorkerOptions options, WorkerEvents events)
    : queue_(queue), blobs_(blobs), options_(std::move(options)), events_(std::move(events)) {}

absl::StatusOr<Signature> SignatureWorker::Compute(const store::Job& job) {
  auto model_path = blobs_.PathOf(job.spec.model_sha256);
  if (!model_path.ok()) {
    return absl::NotFoundError(
        absl::StrCat("model ", job.spec.model_sha256, " was never uploaded"));
  }
  auto mode = engine::ParseActivationMode(job.spec.activations);
  if (!mode.ok()) return mode.status();
  auto data = JobDataSpec(job.spec);
  if (!data.ok()) return data.status();
  datasets::DataAccess access;
  access.blob_path = [this](const std::string& sha256) { return blobs_.PathOf(sha256); };
  access.roots = options_.data_roots;
  auto dataset = datasets::OpenSampleDataset(*data, access);
  if (!dataset.ok()) return dataset.status();
  auto batches = datasets::BatchStream::Start(*std::move(dataset), *data);
  if (!batches.ok()) return batches.status();
  // Messages name blobs by digest: the server's file layout is none of the user's business.
  auto model =
      engine::SignatureModel::Load(*model_path, {options_.device, options_.intra_op_threads});
  if (!model.ok()) {
    return absl::InvalidArgumentError(absl::StrReplaceAll(
        model.status().message(), {{*model_path, absl::StrCat("model ", job.spec.model_sha256)}}));
  }

  const int64_t batch_count = (*batches)->batch_count();
  std::vector<Signature> per_batch;
  engine::SignatureCallbacks callbacks;
  callbacks.should_stop = [&] { return queue_.CancelRequested(job.id); };
  if (events_.on_progress) {
    callbacks.on_progress = [&](const engine::SignatureProgress& progress) {
      // Activations over every batch, the forward pass of the first giving the count.
      const auto batch = static_cast<int64_t>(per_batch.size());
      events_.on_progress({job.id, batch * progress.total + progress.scored,
                           batch_count * progress.total, progress.activation, batch + 1,
                           batch_count});
    };
  }
  while (true) {
    auto batch = (*batches)->Next();
    if (!batch.ok()) {
      return absl::Status(batch.status().code(),
                          absl::StrCat("batch ", per_batch.size() + 1, " of ", batch_count, ": ",
                                       batch.status().message()));
    }
    if (!batch->has_value()) break;
    auto signature = (*model)->Compute(**batch, {*mode}, callbacks);
    if (!signature.ok()) {
      if (batch_count == 1) return signature.status();
      return absl::Status(signature.status().code(),
                          absl::StrCat("batch ", per_batch.size() + 1, " of ", batch_count, ": ",
                                       signature.status().message()));
    }
    per_batch.push_back(*std::move(signature));
  }
  return CombineBatches(per_batch);
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
