// The gRPC adapter of affsig.v1.WorkerService: the protocol of affsig-worker processes, local or
// remote, translated into calls of the core's JobLeases; absl::Status becomes grpc::Status here.
// FetchBlob streams on gRPC's callback API; the rest is synchronous (LeaseJob's long poll holds a
// thread, one per waiting worker). Only workers may call (authentication.h).
#ifndef AFFSIG_SERVER_API_WORKER_SERVICE_H_
#define AFFSIG_SERVER_API_WORKER_SERVICE_H_

#include "affsig/v1/worker_service.grpc.pb.h"
#include "server/api/authentication.h"
#include "server/core/server_core.h"

namespace affsig::api {

class WorkerServiceImpl final
    : public v1::WorkerService::WithCallbackMethod_FetchBlob<v1::WorkerService::Service> {
 public:
  WorkerServiceImpl(core::ServerCore& core, const Authentication& authentication)
      : core_(core), authentication_(authentication) {}

  grpc::Status LeaseJob(grpc::ServerContext* context, const v1::LeaseJobRequest* request,
                        v1::LeaseJobResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::ServerWriteReactor<v1::BlobChunk>* FetchBlob(grpc::CallbackServerContext* context,
                                                     const v1::FetchBlobRequest* request) override;
  grpc::Status CompleteJob(grpc::ServerContext* context, const v1::CompleteJobRequest* request,
                           v1::CompleteJobResponse* response) override;
  grpc::Status FailJob(grpc::ServerContext* context, const v1::FailJobRequest* request,
                       v1::FailJobResponse* response) override;

 private:
  // The caller of a call to this service: a worker.
  absl::StatusOr<core::Caller> WorkerOf(const grpc::ServerContextBase* context) const {
    return authentication_.Authorize(context, Authentication::Service::kWorkers);
  }
  absl::Status CheckWorker(const grpc::ServerContextBase* context) const {
    return WorkerOf(context).status();
  }

  core::ServerCore& core_;
  const Authentication& authentication_;
};

}  // namespace affsig::api

#endif  // AFFSIG_SERVER_API_WORKER_SERVICE_H_
