// The gRPC adapter of affsig.v1.SignatureService: translates requests into calls of the core and
// its results back, converting absl::Status into grpc::Status here and only here.
#ifndef AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_
#define AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_

#include "affsig/v1/signature_service.grpc.pb.h"
#include "server/core/server_core.h"

namespace affsig::api {

class SignatureServiceImpl final : public v1::SignatureService::Service {
 public:
  explicit SignatureServiceImpl(core::ServerCore& core) : core_(core) {}

  grpc::Status UploadModel(grpc::ServerContext* context,
                           grpc::ServerReader<v1::UploadChunk>* reader,
                           v1::Blob* response) override;
  grpc::Status UploadInput(grpc::ServerContext* context,
                           grpc::ServerReader<v1::UploadChunk>* reader,
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
  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::Job>* writer) override;
  grpc::Status GetSignature(grpc::ServerContext* context, const v1::GetSignatureRequest* request,
                            v1::Signature* response) override;
  grpc::Status ListSignatures(grpc::ServerContext* context,
                              const v1::ListSignaturesRequest* request,
                              v1::ListSignaturesResponse* response) override;
  grpc::Status GetServerInfo(grpc::ServerContext* context, const v1::GetServerInfoRequest* request,
                             v1::ServerInfo* response) override;

 private:
  grpc::Status Upload(grpc::ServerContext* context, grpc::ServerReader<v1::UploadChunk>* reader,
                      BlobKind kind, v1::Blob* response);

  core::ServerCore& core_;
};

}  // namespace affsig::api

#endif  // AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_
