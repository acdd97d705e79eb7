#include "server/api/worker_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/error_reason.h"
#include "proto/grpc_status.h"
#include "proto/proto_types.h"

namespace affsig::api {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
// A long poll never holds a call for longer than this, whatever the worker asks.
constexpr absl::Duration kMaxLeaseWait = absl::Seconds(60);

void LeaseToProto(const core::Lease& lease, v1::Lease* proto) {
  proto->set_lease_id(lease.lease_id);
  proto->set_expires_in_ms(absl::ToInt64Milliseconds(lease.expires_in));
  proto->set_deadline_in_ms(absl::ToInt64Milliseconds(lease.deadline_in));
  v1::LeasedJob* job = proto->mutable_job();
  job->set_job_id(lease.job.id);
  job->set_model_sha256(lease.job.spec.model_sha256);
  DataSpecToProto(lease.job.spec.data, job->mutable_input_sha256(), job->mutable_data_source(),
                  job->mutable_data_options());
  job->set_activations(ActivationModeToProto(lease.job.spec.activations));
  job->set_optimize(ForwardOptimizationToProto(lease.job.spec.optimize));
  MeasureSelectionToProto(lease.job.spec.measures, job->mutable_measures());
  job->set_attempt(lease.attempt);
}

}  // namespace

grpc::Status WorkerServiceImpl::LeaseJob(grpc::ServerContext* context,
                                         const v1::LeaseJobRequest* request,
                                         v1::LeaseJobResponse* response) {
  auto caller = WorkerOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (request->worker().empty() || request->device().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a worker names itself and its device");
  }
  // The server's own workers' names: a job they hold is returned when the server stops, and
  // their exits end their leases. Another worker under such a name would take that with it.
  if (absl::StartsWith(request->worker(), "local/") && caller->role != core::Role::kLocal &&
      caller->user != core::kLocalWorkersUser) {
    return ToGrpcStatus(
        WithReason(absl::PermissionDeniedError(absl::StrCat(
                       "'", request->worker(), "' is a name of the server's own workers")),
                   reason::kRoleNotAllowed));
  }
  core::WorkerRequest worker;
  worker.worker = request->worker();
  worker.device = request->device();
  worker.host = request->host();
  worker.pid = request->pid();
  worker.version = request->capabilities().version();
  worker.data_roots.assign(request->capabilities().data_roots().begin(),
                           request->capabilities().data_roots().end());
  // The poll ends before the worker's own deadline for the call, so that it is answered.
  absl::Duration wait =
      std::clamp(absl::Milliseconds(request->wait_ms()), absl::ZeroDuration(), kMaxLeaseWait);
  const absl::Duration until_deadline =
      absl::FromChrono(context->deadline()) - absl::Now() - absl::Seconds(1);
  wait = std::max(absl::ZeroDuration(), std::min(wait, until_deadline));
  auto lease = core_.leases().Acquire(worker, wait, [context] { return context->IsCancelled(); });
  if (!lease.ok()) return ToGrpcStatus(lease.status());
  if (*lease) LeaseToProto(**lease, response->mutable_lease());
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  if (absl::Status allowed = CheckWorker(context); !allowed.ok()) return ToGrpcStatus(allowed);
  std::optional<core::JobProgress> progress;
  if (request->has_progress()) {
    const v1::JobProgress& reported = request->progress();
    progress = core::JobProgress{reported.done(), reported.total(), reported.activation(),
                                 reported.batch(), reported.batches()};
  }
  auto renewal = core_.leases().Renew(request->lease_id(), progress);
  if (!renewal.ok()) return ToGrpcStatus(renewal.status());
  response->set_cancel(renewal->cancel);
  response->set_expires_in_ms(absl::ToInt64Milliseconds(renewal->expires_in));
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::BlobChunk>* WorkerServiceImpl::FetchBlob(
    grpc::CallbackServerContext* context, const v1::FetchBlobRequest* request) {
  // The blob's bytes in chunks, one write in flight, read from its file as the writes go.
  class Reactor final : public grpc::ServerWriteReactor<v1::BlobChunk> {
   public:
    explicit Reactor(absl::StatusOr<core::BlobContent> blob) : blob_(std::move(blob)) {
      if (!blob_.ok()) {
        Finish(ToGrpcStatus(blob_.status()));
        return;
      }
      chunk_.set_size(blob_->size);
      buffer_.resize(kChunkBytes);
      WriteNext();
    }
    void OnWriteDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the fetch was abandoned"));
        return;
      }
      chunk_.clear_size();
      WriteNext();
    }
    void OnDone() override { delete this; }

   private:
    void WriteNext() {
      blob_->stream->read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
      const auto read = static_cast<size_t>(blob_->stream->gcount());
      // An empty blob is one empty chunk (with its size); any other ends after its last bytes.
      if (read == 0 && !first_) {
        Finish(blob_->stream->bad() ? grpc::Status(grpc::StatusCode::DATA_LOSS, "read failed")
                                    : grpc::Status::OK);
        return;
      }
      first_ = false;
      chunk_.set_data(buffer_.data(), read);
      StartWrite(&chunk_);
    }

    absl::StatusOr<core::BlobContent> blob_;
    std::string buffer_;
    v1::BlobChunk chunk_;
    bool first_ = true;
  };
  if (absl::Status allowed = CheckWorker(context); !allowed.ok()) return new Reactor(allowed);
  return new Reactor(core_.ReadBlob(request->sha256()));
}

grpc::Status WorkerServiceImpl::CompleteJob(grpc::ServerContext* context,
                                            const v1::CompleteJobRequest* request,
                                            v1::CompleteJobResponse*) {
  if (absl::Status allowed = CheckWorker(context); !allowed.ok()) return ToGrpcStatus(allowed);
  Signature signature;
  signature.reserve(static_cast<size_t>(request->entries_size()));
  for (const v1::SignatureEntry& entry : request->entries()) {
    signature.push_back(EntryFromProto(entry));
  }
  return ToGrpcStatus(core_.leases().Complete(request->lease_id(), signature, request->note()));
}

grpc::Status WorkerServiceImpl::FailJob(grpc::ServerContext* context,
                                        const v1::FailJobRequest* request, v1::FailJobResponse*) {
  if (absl::Status allowed = CheckWorker(context); !allowed.ok()) return ToGrpcStatus(allowed);
  AttemptOutcome outcome;
  switch (request->outcome()) {
    case v1::ATTEMPT_FAILED:
      outcome = AttemptOutcome::kFailed;
      break;
    case v1::ATTEMPT_CANCELLED:
      outcome = AttemptOutcome::kCancelled;
      break;
    case v1::ATTEMPT_RETURNED:
      outcome = AttemptOutcome::kReturned;
      break;
    default:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "outcome must be ATTEMPT_FAILED, ATTEMPT_CANCELLED or ATTEMPT_RETURNED");
  }
  return ToGrpcStatus(core_.leases().End(request->lease_id(), outcome, request->reason()));
}

}  // namespace affsig::api
