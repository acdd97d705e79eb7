#include "server/api/signature_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

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

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

v1::Job ToProto(const store::Job& job) {
  v1::Job proto;
  proto.set_job_id(job.id);
  proto.set_state(StateToProto(job.state));
  proto.set_name(job.spec.name);
  proto.set_model_sha256(job.spec.model_sha256);
  proto.set_input_sha256(job.spec.input_sha256);
  proto.set_activations(job.spec.activations == "all" ? v1::ALL : v1::MODULES);
  for (const auto& [key, value] : job.spec.labels) (*proto.mutable_labels())[key] = value;
  proto.set_priority(job.spec.priority);
  proto.set_attempts(job.attempts);
  proto.set_error(job.error);
  proto.set_created_at_ms(job.created_at_ms);
  proto.set_started_at_ms(job.started_at_ms);
  proto.set_finished_at_ms(job.finished_at_ms);
  return proto;
}

SignatureServiceImpl::SignatureServiceImpl(store::JobQueue& queue, store::BlobStore& blobs,
                                           std::function<void()> on_submit)
    : queue_(queue), blobs_(blobs), on_submit_(std::move(on_submit)) {}

grpc::Status SignatureServiceImpl::Upload(grpc::ServerReader<v1::UploadChunk>* reader,
                                          v1::Blob* response) {
  auto upload = blobs_.BeginUpload();
  if (!upload.ok()) return ToGrpcStatus(upload.status());
  std::string announced;
  v1::UploadChunk chunk;
  while (reader->Read(&chunk)) {
    if (announced.empty()) announced = chunk.sha256();
    if (absl::Status status = (*upload)->Append(chunk.data()); !status.ok()) {
      return ToGrpcStatus(status);
    }
  }
  auto info = (*upload)->Finish(announced);
  if (!info.ok()) return ToGrpcStatus(info.status());
  response->set_sha256(info->sha256);
  response->set_size(info->size);
  response->set_already_stored(info->already_stored);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::UploadModel(grpc::ServerContext*,
                                               grpc::ServerReader<v1::UploadChunk>* reader,
                                               v1::Blob* response) {
  return Upload(reader, response);
}

grpc::Status SignatureServiceImpl::UploadInput(grpc::ServerContext*,
                                               grpc::ServerReader<v1::UploadChunk>* reader,
                                               v1::Blob* response) {
  return Upload(reader, response);
}

grpc::Status SignatureServiceImpl::SubmitJob(grpc::ServerContext*,
                                             const v1::SubmitJobRequest* request,
                                             v1::Job* response) {
  for (const std::string* digest : {&request->model_sha256(), &request->input_sha256()}) {
    if (!blobs_.Contains(*digest)) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("blob '", *digest, "' is not on the server: upload it first"));
    }
  }
  store::JobSpec spec;
  spec.name = request->name();
  spec.model_sha256 = request->model_sha256();
  spec.input_sha256 = request->input_sha256();
  spec.activations = request->activations() == v1::ALL ? "all" : "modules";
  spec.priority = request->priority();
  spec.labels.insert(request->labels().begin(), request->labels().end());
  auto job = queue_.Submit(spec);
  if (!job.ok()) return ToGrpcStatus(job.status());
  if (on_submit_) on_submit_();
  *response = ToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::GetJob(grpc::ServerContext*, const v1::GetJobRequest* request,
                                          v1::Job* response) {
  auto job = queue_.Get(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = ToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::CancelJob(grpc::ServerContext*,
                                             const v1::CancelJobRequest* request,
                                             v1::Job* response) {
  auto job = queue_.Cancel(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = ToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::GetSignature(grpc::ServerContext*,
                                                const v1::GetSignatureRequest* request,
                                                v1::Signature* response) {
  auto job = queue_.Get(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  auto entries = queue_.Entries(request->job_id());
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  *response->mutable_job() = ToProto(*job);
  for (const SignatureEntry& entry : *entries) {
    v1::SignatureEntry* out = response->add_entries();
    out->set_index(entry.index);
    out->set_module(entry.module);
    out->set_call(entry.call);
    out->set_op(entry.op);
    out->set_d(entry.d);
    out->set_n(entry.n);
    if (entry.status == EntryStatus::kOk) out->set_score(entry.score);
    out->set_status(std::string(EntryStatusName(entry.status)));
    out->set_reason(entry.reason);
  }
  return grpc::Status::OK;
}

}  // namespace affsig::api
