// The gRPC adapter of affsig.v1.SignatureService: translates requests into calls of the core and
// its results back, converting absl::Status into grpc::Status here and only here. The streaming
// calls (uploads, watches) are on gRPC's callback API and hold no thread while they wait; the
// unary ones are synchronous. Every call starts with its caller (authentication.h).
#ifndef AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_
#define AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_

#include "affsig/v1/signature_service.grpc.pb.h"
#include "server/api/authentication.h"
#include "server/core/server_core.h"

namespace affsig::api {

using SignatureServiceBase = v1::SignatureService::WithCallbackMethod_UploadModel<
    v1::SignatureService::WithCallbackMethod_UploadInput<
        v1::SignatureService::WithCallbackMethod_WatchJob<v1::SignatureService::Service>>>;

class SignatureServiceImpl final : public SignatureServiceBase {
 public:
  SignatureServiceImpl(core::ServerCore& core, const Authentication& authentication)
      : core_(core), authentication_(authentication) {}

  grpc::ServerReadReactor<v1::UploadChunk>* UploadModel(grpc::CallbackServerContext* context,
                                                        v1::Blob* response) override;
  grpc::ServerReadReactor<v1::UploadChunk>* UploadInput(grpc::CallbackServerContext* context,
                                                        v1::Blob* response) override;
  grpc::Status FindMissingBlobs(grpc::ServerContext* context,
                                const v1::FindMissingBlobsRequest* request,
                                v1::FindMissingBlobsResponse* response) override;
  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status SubmitJob(grpc::ServerContext* context, const v1::SubmitJobRequest* request,
                         v1::Job* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                      v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const v1::CancelJobRequest* request,
                         v1::Job* response) override;
  grpc::Status DeleteJob(grpc::ServerContext* context, const v1::DeleteJobRequest* request,
                         google::protobuf::Empty* response) override;
  grpc::ServerWriteReactor<v1::Job>* WatchJob(grpc::CallbackServerContext* context,
                                              const v1::WatchJobRequest* request) override;
  grpc::Status GetSignature(grpc::ServerContext* context, const v1::GetSignatureRequest* request,
                            v1::Signature* response) override;
  grpc::Status ListSignatures(grpc::ServerContext* context,
                              const v1::ListSignaturesRequest* request,
                              v1::ListSignaturesResponse* response) override;
  grpc::Status GetServerInfo(grpc::ServerContext* context, const v1::GetServerInfoRequest* request,
                             v1::ServerInfo* response) override;
  grpc::Status CompareSignatures(grpc::ServerContext* context,
                                 const v1::CompareSignaturesRequest* request,
                                 v1::SignatureComparison* response) override;
  grpc::Status ClusterSignatures(grpc::ServerContext* context,
                                 const v1::ClusterSignaturesRequest* request,
                                 v1::SignatureClustering* response) override;
  grpc::Status CorrelateSignatures(grpc::ServerContext* context,
                                   const v1::CorrelateSignaturesRequest* request,
                                   v1::SignatureCorrelation* response) override;

 private:
  // The caller of a call to this service: a user or an admin.
  absl::StatusOr<core::Caller> UserOf(const grpc::ServerContextBase* context) const {
    return authentication_.Authorize(context, Authentication::Service::kSignatures);
  }

  core::ServerCore& core_;
  const Authentication& authentication_;
};

}  // namespace affsig::api

#endif  // AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_
