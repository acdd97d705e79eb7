#include "server/api/signature_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/data_spec.h"
#include "common/grpc_status.h"

namespace affsig::api {
namespace {

v1::JobState StateToProto(store::JobState state) {
  switch (state) {
    case store::JobState::kQueued:
      return v1::QUEUED;
    case store::JobState::kRunning:
      return v1::RUNNING;
    case store::JobState::kSucceeded:
      return v1::SUCCEEDED;
    case store::JobState::kFailed:
      return v1::FAILED;
    case store::JobState::kCancelled:
      return v1::CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

// DataOptions <-> the canonical key=value form the store keeps (common/data_spec.h).
std::string DataOptionsText(const v1::DataOptions& proto) {
  DataSpec spec;
  spec.batching.batch_size = proto.batch_size();
  spec.batching.batches = proto.batches();
  if (proto.has_shuffle_seed()) spec.batching.shuffle_seed = proto.shuffle_seed();
  if (proto.has_resize()) spec.preprocessing.resize = proto.resize();
  if (proto.has_crop()) spec.preprocessing.crop = proto.crop();
  spec.preprocessing.mean.assign(proto.mean().begin(), proto.mean().end());
  spec.preprocessing.std.assign(proto.std().begin(), proto.std().end());
  spec.preprocessing.grayscale_to_rgb = proto.grayscale_to_rgb();
  return FormatDataOptions(spec);
}

void DataOptionsToProto(const std::string& text, v1::DataOptions* proto) {
  DataSpec spec;
  if (!ParseDataOptions(text, spec).ok()) return;  // written by this server: always parses
  proto->set_batch_size(spec.batching.batch_size);
  proto->set_batches(spec.batching.batches);
  if (spec.batching.shuffle_seed) proto->set_shuffle_seed(*spec.batching.shuffle_seed);
  if (spec.preprocessing.resize) proto->set_resize(*spec.preprocessing.resize);
  if (spec.preprocessing.crop) proto->set_crop(*spec.preprocessing.crop);
  proto->mutable_mean()->Add(spec.preprocessing.mean.begin(), spec.preprocessing.mean.end());
  proto->mutable_std()->Add(spec.preprocessing.std.begin(), spec.preprocessing.std.end());
  proto->set_grayscale_to_rgb(spec.preprocessing.grayscale_to_rgb);
}

v1::Job JobToProto(const core::JobView& view) {
  const store::Job& job = view.job;
  v1::Job proto;
  proto.set_job_id(job.id);
  proto.set_state(StateToProto(job.state));
  proto.set_name(job.spec.name);
  proto.set_model_sha256(job.spec.model_sha256);
  proto.set_input_sha256(job.spec.input_sha256);
  proto.set_activations(job.spec.activations == "all" ? v1::ALL : v1::MODULES);
  proto.mutable_labels()->insert(job.spec.labels.begin(), job.spec.labels.end());
  proto.set_priority(job.spec.priority);
  proto.set_attempts(job.attempts);
  proto.set_error(job.error);
  proto.set_created_at_ms(job.created_at_ms);
  proto.set_started_at_ms(job.started_at_ms);
  proto.set_finished_at_ms(job.finished_at_ms);
  proto.set_data_source(job.spec.data_source);
  DataOptionsToProto(job.spec.data_options, proto.mutable_data_options());
  if (view.progress) {
    proto.mutable_progress()->set_done(view.progress->done);
    proto.mutable_progress()->set_total(view.progress->total);
    proto.mutable_progress()->set_activation(view.progress->activation);
    proto.mutable_progress()->set_batch(view.progress->batch);
    proto.mutable_progress()->set_batches(view.progress->batches);
    proto.set_device(view.progress->device);
  }
  return proto;
}

void BlobToProto(const store::CatalogedBlob& blob, v1::Blob* proto) {
  proto->set_sha256(blob.sha256);
  proto->set_size(blob.size.value_or(0));
  proto->set_name(blob.name);
  proto->set_uploaded_at_ms(blob.uploaded_at_ms);
  proto->set_job_count(blob.job_count);
}

void SignatureToProto(const store::StoredSignature& signature, v1::Signature* proto) {
  *proto->mutable_job() = JobToProto({signature.job, std::nullopt});
  v1::SignatureSummary* summary = proto->mutable_summary();
  summary->set_entries(signature.summary.entries);
  summary->set_scored(signature.summary.scored);
  summary->set_mean_score(signature.summary.mean_score);
  summary->set_min_score(signature.summary.min_score);
  summary->set_max_score(signature.summary.max_score);
  for (const SignatureEntry& entry : signature.entries) {
    v1::SignatureEntry* out = proto->add_entries();
    out->set_index(entry.index);
    out->set_module(entry.module);
    out->set_call(entry.call);
    out->set_op(entry.op);
    out->set_d(entry.d);
    out->set_n(entry.n);
    if (entry.status == EntryStatus::kOk) out->set_score(entry.score);
    out->set_status(std::string(EntryStatusName(entry.status)));
    out->set_reason(entry.reason);
    out->set_batches(entry.batches);
    if (entry.status == EntryStatus::kOk) {
      out->set_std(entry.score_std);
      out->set_min(entry.score_min);
      out->set_max(entry.score_max);
    }
    out->mutable_batch_scores()->Add(entry.batch_scores.begin(), entry.batch_scores.end());
  }
}

store::JobState StateFromProto(v1::JobState state) {
  switch (state) {
    case v1::RUNNING:
      return store::JobState::kRunning;
    case v1::SUCCEEDED:
      return store::JobState::kSucceeded;
    case v1::FAILED:
      return store::JobState::kFailed;
    case v1::CANCELLED:
      return store::JobState::kCancelled;
    default:
      return store::JobState::kQueued;
  }
}

absl::Status AddLabelFilters(const google::protobuf::RepeatedPtrField<std::string>& labels,
                             store::JobFilter& filter) {
  for (const std::string& text : labels) {
    auto label = store::ParseLabelFilter(text);
    if (!label.ok()) return label.status();
    filter.labels.push_back(*std::move(label));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status SignatureServiceImpl::Upload(grpc::ServerContext* context,
                                          grpc::ServerReader<v1::UploadChunk>* reader,
                                          store::BlobKind kind, v1::Blob* response) {
  auto upload = core_.BeginUpload();
  if (!upload.ok()) return ToGrpcStatus(upload.status());
  std::string announced, name;
  v1::UploadChunk chunk;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) {
      announced = chunk.sha256();
      name = chunk.name();
      first = false;
    }
    if (absl::Status status = (*upload)->Append(chunk.data()); !status.ok()) {
      return ToGrpcStatus(status);
    }
  }
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the upload was abandoned");
  }
  auto stored = core_.FinishUpload(**upload, announced, kind, name);
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  BlobToProto(stored->blob, response);
  response->set_already_stored(stored->already_stored);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::UploadModel(grpc::ServerContext* context,
                                               grpc::ServerReader<v1::UploadChunk>* reader,
                                               v1::Blob* response) {
  return Upload(context, reader, store::BlobKind::kModel, response);
}

grpc::Status SignatureServiceImpl::UploadInput(grpc::ServerContext* context,
                                               grpc::ServerReader<v1::UploadChunk>* reader,
                                               v1::Blob* response) {
  return Upload(context, reader, store::BlobKind::kInput, response);
}

grpc::Status SignatureServiceImpl::FindMissingBlobs(grpc::ServerContext*,
                                                    const v1::FindMissingBlobsRequest* request,
                                                    v1::FindMissingBlobsResponse* response) {
  auto missing = core_.FindMissingBlobs({request->sha256().begin(), request->sha256().end()});
  if (!missing.ok()) return ToGrpcStatus(missing.status());
  response->mutable_missing_sha256()->Add(missing->begin(), missing->end());
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::ListModels(grpc::ServerContext*,
                                              const v1::ListModelsRequest* request,
                                              v1::ListModelsResponse* response) {
  auto models = core_.ListModels({request->page_size(), request->page_token()});
  if (!models.ok()) return ToGrpcStatus(models.status());
  for (const store::CatalogedBlob& model : models->items) {
    BlobToProto(model, response->add_models());
  }
  response->set_next_page_token(models->next_page_token);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::SubmitJob(grpc::ServerContext*,
                                             const v1::SubmitJobRequest* request,
                                             v1::Job* response) {
  store::JobSpec spec;
  spec.name = request->name();
  spec.model_sha256 = request->model_sha256();
  spec.input_sha256 = request->input_sha256();
  spec.data_source = request->data_source();
  spec.data_options = DataOptionsText(request->data_options());
  spec.activations = request->activations() == v1::ALL ? "all" : "modules";
  spec.priority = request->priority();
  spec.labels.insert(request->labels().begin(), request->labels().end());
  auto job = core_.SubmitJob(spec);
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = JobToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::GetJob(grpc::ServerContext*, const v1::GetJobRequest* request,
                                          v1::Job* response) {
  auto job = core_.GetJob(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = JobToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::ListJobs(grpc::ServerContext*,
                                            const v1::ListJobsRequest* request,
                                            v1::ListJobsResponse* response) {
  store::JobFilter filter;
  if (request->state() != v1::JOB_STATE_UNSPECIFIED)
    filter.state = StateFromProto(request->state());
  filter.model_sha256 = request->model_sha256();
  filter.name = request->name();
  if (absl::Status labels = AddLabelFilters(request->labels(), filter); !labels.ok()) {
    return ToGrpcStatus(labels);
  }
  auto jobs = core_.ListJobs(filter, {request->page_size(), request->page_token()});
  if (!jobs.ok()) return ToGrpcStatus(jobs.status());
  for (const core::JobView& job : jobs->items) *response->add_jobs() = JobToProto(job);
  response->set_next_page_token(jobs->next_page_token);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::CancelJob(grpc::ServerContext*,
                                             const v1::CancelJobRequest* request,
                                             v1::Job* response) {
  auto job = core_.CancelJob(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = JobToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::DeleteJob(grpc::ServerContext*,
                                             const v1::DeleteJobRequest* request,
                                             google::protobuf::Empty*) {
  return ToGrpcStatus(core_.DeleteJob(request->job_id()));
}

grpc::Status SignatureServiceImpl::WatchJob(grpc::ServerContext* context,
                                            const v1::WatchJobRequest* request,
                                            grpc::ServerWriter<v1::Job>* writer) {
  return ToGrpcStatus(core_.WatchJob(request->job_id(), [&](const core::JobView& job) {
    return !context->IsCancelled() && writer->Write(JobToProto(job));
  }));
}

grpc::Status SignatureServiceImpl::GetSignature(grpc::ServerContext*,
                                                const v1::GetSignatureRequest* request,
                                                v1::Signature* response) {
  auto signature = core_.GetSignature(request->job_id());
  if (!signature.ok()) return ToGrpcStatus(signature.status());
  SignatureToProto(*signature, response);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::ListSignatures(grpc::ServerContext*,
                                                  const v1::ListSignaturesRequest* request,
                                                  v1::ListSignaturesResponse* response) {
  store::JobFilter filter;
  filter.model_sha256 = request->model_sha256();
  filter.name = request->name();
  filter.created_after_ms = request->created_after_ms();
  filter.created_before_ms = request->created_before_ms();
  if (absl::Status labels = AddLabelFilters(request->labels(), filter); !labels.ok()) {
    return ToGrpcStatus(labels);
  }
  auto signatures = core_.ListSignatures(filter, request->view() == v1::FULL,
                                         {request->page_size(), request->page_token()});
  if (!signatures.ok()) return ToGrpcStatus(signatures.status());
  for (const store::StoredSignature& signature : signatures->items) {
    SignatureToProto(signature, response->add_signatures());
  }
  response->set_next_page_token(signatures->next_page_token);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::GetServerInfo(grpc::ServerContext*,
                                                 const v1::GetServerInfoRequest*,
                                                 v1::ServerInfo* response) {
  auto status = core_.GetStatus();
  if (!status.ok()) return ToGrpcStatus(status.status());
  response->set_version(status->version);
  for (const core::WorkerActivity& worker : status->workers) {
    v1::Worker* out = response->add_workers();
    out->set_device(worker.device);
    out->set_job_id(worker.job_id);
  }
  response->set_queued_jobs(status->queued_jobs);
  response->set_running_jobs(status->running_jobs);
  response->set_max_upload_bytes(status->max_upload_bytes);
  response->set_started_at_ms(status->started_at_ms);
  response->mutable_data_roots()->Add(status->data_roots.begin(), status->data_roots.end());
  return grpc::Status::OK;
}

}  // namespace affsig::api
