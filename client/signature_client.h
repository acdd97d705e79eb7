// The client side of affsig.v1.SignatureService and of the standard health service: uploads,
// jobs, progress, signatures, server state. grpc::Status is turned into absl::Status here, once;
// UNAVAILABLE means the server could not be reached.
//
// It rides out a busy or restarting server: every call waits for the connection (up to the
// connect timeout) instead of failing at once; the idempotent calls — SubmitJob among them, made
// so by its request id — are retried with exponential backoff when the server answers
// UNAVAILABLE, by a retry policy in the channel's service config; uploads start again from the
// first byte (they are content-addressed: a second upload of the same bytes stores nothing new);
// a watch follows its job across a server restart.
#ifndef AFFSIG_CLIENT_SIGNATURE_CLIENT_H_
#define AFFSIG_CLIENT_SIGNATURE_CLIENT_H_

#include <grpcpp/security/credentials.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "affsig/v1/signature_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace affsig::client {

enum class BlobKind { kModel, kInput };

struct EnsuredBlob {
  std::string sha256;
  bool uploaded = false;  // false: the server had the bytes already
};

struct ClientOptions {
  // How long a call waits for the server to be reachable before it fails UNAVAILABLE.
  absl::Duration connect_timeout = absl::Seconds(20);
  // TLS or plaintext: proto/channel_credentials.h makes them from the flags.
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  // Sent with every call as `authorization: Bearer <token>` (common/auth_token.h finds it);
  // "": none, for a server without --auth-tokens.
  std::string token;
};

class SignatureClient {
 public:
  explicit SignatureClient(const std::string& address, ClientOptions options = {});

  // Streams a file in 1 MiB chunks, announcing its sha256 and name; returns what the server
  // stored.
  absl::StatusOr<v1::Blob> Upload(const std::string& path, BlobKind kind);
  // Uploads the file only when the server lacks its bytes.
  absl::StatusOr<EnsuredBlob> EnsureUploaded(const std::string& path, BlobKind kind);
  absl::StatusOr<std::vector<std::string>> FindMissingBlobs(
      const std::vector<std::string>& sha256s);
  absl::StatusOr<v1::ListModelsResponse> ListModels(const v1::ListModelsRequest& request);

  // Submits once: a request without a request id gets a random one, which its retries share.
  absl::StatusOr<v1::Job> Submit(v1::SubmitJobRequest request);
  absl::StatusOr<v1::Job> GetJob(const std::string& job_id);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request);
  absl::StatusOr<v1::Job> CancelJob(const std::string& job_id);
  absl::Status DeleteJob(const std::string& job_id);
  // Follows the job until it ends; `on_update` sees it now and at every change of state or
  // progress. A server that restarts meanwhile is waited for (up to `reconnect_for`) and the
  // watch goes on.
  absl::StatusOr<v1::Job> Watch(const std::string& job_id,
                                const std::function<void(const v1::Job&)>& on_update,
                                absl::Duration reconnect_for = absl::Seconds(60));

  absl::StatusOr<v1::Signature> GetSignature(const std::string& job_id);
  absl::StatusOr<v1::ListSignaturesResponse> ListSignatures(
      const v1::ListSignaturesRequest& request);
  absl::StatusOr<v1::ServerInfo> GetServerInfo();
  absl::StatusOr<v1::SignatureComparison> CompareSignatures(
      const v1::CompareSignaturesRequest& request);
  absl::StatusOr<v1::SignatureClustering> ClusterSignatures(
      const v1::ClusterSignaturesRequest& request);
  absl::StatusOr<v1::SignatureCorrelation> CorrelateSignatures(
      const v1::CorrelateSignaturesRequest& request);
  // The standard health check of the whole server.
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> CheckHealth();

 private:
  template <typename Stub, typename Request, typename Response>
  using UnaryMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);
  // One unary call: a fresh context that waits for the connection, the status converted.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Unary(Stub& stub, UnaryMethod<Stub, Request, Response> method,
                                 const Request& request);
  // Waits (up to the connect timeout) for the channel to connect; UNAVAILABLE, naming the
  // server, when it does not; FAILED_PRECONDITION at once when its TLS handshake fails.
  absl::Status Connect();
  // When the channel fails to connect: FAILED_PRECONDITION when it is the TLS handshake that
  // fails, which no retry mends; OK when it is anything else.
  absl::Status HandshakeFailure() const;
  // The token's metadata, when there is a token.
  void Authorize(grpc::ClientContext& context) const;
  // A context for a call: waiting for the connection, with a deadline past the connect timeout.
  void Prepare(grpc::ClientContext& context) const;
  void PrepareUpload(grpc::ClientContext& context) const;

  // Streams the file, announcing `sha256` (its digest, already computed).
  absl::StatusOr<v1::Blob> UploadWithDigest(const std::string& path, BlobKind kind,
                                            const std::string& sha256);

  const std::string address_;
  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SignatureService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// True for a job that has ended (SUCCEEDED, FAILED or CANCELLED).
bool IsFinal(v1::JobState state);

}  // namespace affsig::client

#endif  // AFFSIG_CLIENT_SIGNATURE_CLIENT_H_
