// The gRPC adapter of affsig.v1.SignatureService: translates requests into calls of the store
// (job queue, blob store) and their absl::Status into grpc::Status, here and only here.
#ifndef AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_
#define AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "affsig/v1/signature_service.grpc.pb.h"
#include "server/store/blob_store.h"
#include "server/store/job_queue.h"

namespace affsig::api {

// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

class SignatureServiceImpl final : public v1::SignatureService::Service {
 public:
  // `on_submit` wakes the workers.
  SignatureServiceImpl(store::JobQueue& queue, store::BlobStore& blobs,
                       std::function<void()> on_submit);

  grpc::Status UploadModel(grpc::ServerContext* context,
                           grpc::ServerReader<v1::UploadChunk>* reader,
                           v1::Blob* response) override;
  grpc::Status UploadInput(grpc::ServerContext* context,
                           grpc::ServerReader<v1::UploadChunk>* reader,
                           v1::Blob* response) override;
  grpc::Status SubmitJob(grpc::ServerContext* context, const v1::SubmitJobRequest* request,
                         v1::Job* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                      v1::Job* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const v1::CancelJobRequest* request,
                         v1::Job* response) override;
  grpc::Status GetSignature(grpc::ServerContext* context, const v1::GetSignatureRequest* request,
                            v1::Signature* response) override;

 private:
  grpc::Status Upload(grpc::ServerReader<v1::UploadChunk>* reader, v1::Blob* response);

  store::JobQueue& queue_;
  store::BlobStore& blobs_;
  std::function<void()> on_submit_;
};

// The proto form of a stored job.
v1::Job ToProto(const store::Job& job);

}  // namespace affsig::api

#endif  // AFFSIG_SERVER_API_SIGNATURE_SERVICE_H_
