// The client side of affsig.v1.SignatureService: uploads, jobs, signatures. grpc::Status is
// turned into absl::Status here, once; UNAVAILABLE means the server could not be reached.
#ifndef AFFSIG_CLIENT_SIGNATURE_CLIENT_H_
#define AFFSIG_CLIENT_SIGNATURE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "affsig/v1/signature_service.grpc.pb.h"

namespace affsig::client {

class SignatureClient {
 public:
  explicit SignatureClient(const std::string& address);

  // Streams a file in 1 MiB chunks, announcing its sha256; returns what the server stored.
  absl::StatusOr<v1::Blob> UploadModel(const std::string& path);
  absl::StatusOr<v1::Blob> UploadInput(const std::string& path);
  absl::StatusOr<v1::Job> Submit(const v1::SubmitJobRequest& request);
  absl::StatusOr<v1::Job> GetJob(const std::string& job_id);
  absl::StatusOr<v1::Job> CancelJob(const std::string& job_id);
  absl::StatusOr<v1::Signature> GetSignature(const std::string& job_id);
  // Polls until the job ends; `on_update` sees every state change.
  absl::StatusOr<v1::Job> WaitForEnd(const std::string& job_id,
                                     const std::function<void(const v1::Job&)>& on_update,
                                     absl::Duration poll = absl::Milliseconds(250));

 private:
  template <typename Request, typename Response>
  using UnaryMethod = grpc::Status (v1::SignatureService::Stub::*)(grpc::ClientContext*,
                                                                   const Request&, Response*);
  // One unary call: a fresh context, the status converted.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Unary(UnaryMethod<Request, Response> method, const Request& request);

  enum class Kind { kModel, kInput };
  absl::StatusOr<v1::Blob> Upload(const std::string& path, Kind kind);

  std::unique_ptr<v1::SignatureService::Stub> stub_;
};

// The sha256 of a file, lower-case hex.
absl::StatusOr<std::string> FileSha256(const std::string& path);

}  // namespace affsig::client

#endif  // AFFSIG_CLIENT_SIGNATURE_CLIENT_H_
