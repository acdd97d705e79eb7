#include "server/worker/lease_client.h"

#include "absl/strings/str_cat.h"
#include "proto/channel_arguments.h"
#include "proto/grpc_status.h"
#include "proto/proto_types.h"

namespace affsig::worker {
namespace {

constexpr absl::Duration kHeartbeatDeadline = absl::Seconds(5);
constexpr absl::Duration kFetchDeadline = absl::Hours(1);

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

LeaseClient::LeaseClient(const std::string& server, std::string token,
                         const std::shared_ptr<grpc::ChannelCredentials>& credentials)
    : token_(std::move(token)),
      channel_(grpc::CreateCustomChannel(server, credentials, ServerChannelArguments())),
      stub_(v1::WorkerService::NewStub(channel_)) {}

void LeaseClient::Prepare(grpc::ClientContext& context) const {
  if (!token_.empty()) context.AddMetadata("authorization", "Bearer " + token_);
}

absl::StatusOr<std::optional<v1::Lease>> LeaseClient::LeaseJob(v1::LeaseJobRequest request,
                                                               absl::Duration wait) {
  grpc::ClientContext context;
  Prepare(context);
  // The server answers before this deadline; a server that is down is waited for until then.
  SetDeadline(context, wait + absl::Seconds(10));
  context.set_wait_for_ready(true);
  request.set_wait_ms(absl::ToInt64Milliseconds(wait));
  {
    absl::MutexLock lock(&mutex_);
    if (cancelled_) return absl::CancelledError("the worker is stopping");
    waiting_ = &context;
  }
  v1::LeaseJobResponse response;
  const grpc::Status status = stub_->LeaseJob(&context, request, &response);
  {
    absl::MutexLock lock(&mutex_);
    waiting_ = nullptr;
  }
  if (!status.ok()) return FromGrpcStatus(status);
  if (!response.has_lease()) return std::optional<v1::Lease>();
  return std::optional<v1::Lease>(response.lease());
}

void LeaseClient::CancelLeaseWait() {
  absl::MutexLock lock(&mutex_);
  cancelled_ = true;
  if (waiting_ != nullptr) waiting_->TryCancel();
}

absl::StatusOr<v1::HeartbeatResponse> LeaseClient::Heartbeat(const v1::HeartbeatRequest& request) {
  grpc::ClientContext context;
  Prepare(context);
  SetDeadline(context, kHeartbeatDeadline);
  v1::HeartbeatResponse response;
  if (absl::Status status = FromGrpcStatus(stub_->Heartbeat(&context, request, &response));
      !status.ok()) {
    return status;
  }
  return response;
}

absl::Status LeaseClient::FetchBlob(const std::string& sha256, store::BlobUpload& upload) {
  grpc::ClientContext context;
  Prepare(context);
  SetDeadline(context, kFetchDeadline);
  context.set_wait_for_ready(true);
  v1::FetchBlobRequest request;
  request.set_sha256(sha256);
  std::unique_ptr<grpc::ClientReader<v1::BlobChunk>> reader = stub_->FetchBlob(&context, request);
  v1::BlobChunk chunk;
  absl::Status appended;
  while (appended.ok() && reader->Read(&chunk)) appended = upload.Append(chunk.data());
  if (!appended.ok()) {
    context.TryCancel();
    reader->Finish().ok();
    return appended;
  }
  if (absl::Status status = FromGrpcStatus(reader->Finish()); !status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("cannot fetch blob ", sha256, ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status LeaseClient::CompleteJob(const std::string& lease_id, const Signature& signature,
                                      const std::string& note, absl::Duration deadline) {
  grpc::ClientContext context;
  Prepare(context);
  SetDeadline(context, deadline);
  context.set_wait_for_ready(true);
  v1::CompleteJobRequest request;
  request.set_lease_id(lease_id);
  request.set_note(note);
  for (const SignatureEntry& entry : signature) EntryToProto(entry, request.add_entries());
  v1::CompleteJobResponse response;
  return FromGrpcStatus(stub_->CompleteJob(&context, request, &response));
}

absl::Status LeaseClient::FailJob(const std::string& lease_id, v1::AttemptOutcome outcome,
                                  const std::string& reason, absl::Duration deadline) {
  grpc::ClientContext context;
  Prepare(context);
  SetDeadline(context, deadline);
  context.set_wait_for_ready(true);
  v1::FailJobRequest request;
  request.set_lease_id(lease_id);
  request.set_outcome(outcome);
  request.set_reason(reason);
  v1::FailJobResponse response;
  return FromGrpcStatus(stub_->FailJob(&context, request, &response));
}

}  // namespace affsig::worker
