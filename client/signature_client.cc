#include "client/signature_client.h"

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/error_reason.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "proto/channel_arguments.h"
#include "proto/grpc_status.h"

namespace affsig::client {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
constexpr int kUploadAttempts = 5;

}  // namespace

bool IsFinal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

namespace {

// The calls that may be sent again when the server answers UNAVAILABLE (it is stopping, or
// overloaded): reads (the analyses included), and SubmitJob, whose request id makes a repeat
// return the job the first made. CancelJob and DeleteJob are not: repeated, they would answer
// with an error.
constexpr char kServiceConfig[] = R"json({
  "methodConfig": [{
    "name": [
      {"service": "affsig.v1.SignatureService", "method": "FindMissingBlobs"},
      {"service": "affsig.v1.SignatureService", "method": "ListModels"},
      {"service": "affsig.v1.SignatureService", "method": "SubmitJob"},
      {"service": "affsig.v1.SignatureService", "method": "GetJob"},
      {"service": "affsig.v1.SignatureService", "method": "ListJobs"},
      {"service": "affsig.v1.SignatureService", "method": "GetSignature"},
      {"service": "affsig.v1.SignatureService", "method": "ListSignatures"},
      {"service": "affsig.v1.SignatureService", "method": "GetServerInfo"},
      {"service": "affsig.v1.SignatureService", "method": "CompareSignatures"},
      {"service": "affsig.v1.SignatureService", "method": "ClusterSignatures"},
      {"service": "affsig.v1.SignatureService", "method": "CorrelateSignatures"},
      {"service": "grpc.health.v1.Health", "method": "Check"}
    ],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.25s",
      "maxBackoff": "4s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

// A call's own time once connected; the largest signatures take seconds.
constexpr absl::Duration kCallTime = absl::Minutes(5);
// How long the call that asks why a channel does not connect may take.
constexpr absl::Duration kProbeTime = absl::Seconds(2);

std::shared_ptr<grpc::Channel> NewChannel(
    const std::string& address, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments arguments = ServerChannelArguments();
  arguments.SetServiceConfigJSON(kServiceConfig);
  return grpc::CreateCustomChannel(address, credentials, arguments);
}

std::string RandomRequestId() {
  absl::BitGen random;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(random),
                         absl::Uniform<uint64_t>(random));
}

}  // namespace

SignatureClient::SignatureClient(const std::string& address, ClientOptions options)
    : address_(address),
      options_(options),
      channel_(NewChannel(address, options_.credentials)),
      stub_(v1::SignatureService::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

absl::Status SignatureClient::Connect() {
  const absl::Time deadline = absl::Now() + options_.connect_timeout;
  bool asked_why = false;
  for (grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
       state != GRPC_CHANNEL_READY; state = channel_->GetState(/*try_to_connect=*/true)) {
    // A server that is down or restarting is waited for; one whose certificate does not verify
    // would not verify on a retry either, and is said at once. Asked once: a restart takes time.
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && !asked_why) {
      asked_why = true;
      RETURN_IF_ERROR(HandshakeFailure());
    }
    if (!channel_->WaitForStateChange(state, absl::ToChronoTime(deadline))) {
      return absl::UnavailableError(absl::StrCat("cannot reach ", address_, " within ",
                                                 absl::FormatDuration(options_.connect_timeout)));
    }
  }
  return absl::OkStatus();
}

absl::Status SignatureClient::HandshakeFailure() const {
  // Only a failed call tells why it failed, and on this channel the retry policy would retry
  // the call for seconds: a channel of its own, without the policy, and a call that does not
  // wait for the connection.
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kProbeTime));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      grpc::health::v1::Health::NewStub(
          grpc::CreateCustomChannel(address_, options_.credentials, ServerChannelArguments()))
          ->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  if (status.ok()) return absl::OkStatus();
  // gRPC's words, after "last error: UNKNOWN: ipv4:127.0.0.1:50051: ": "Ssl handshake failed:
  // SSL_ERROR_SSL: ...:certificate verify failed" (or "...:wrong version number": no TLS there),
  // or "Peer name 127.0.0.2 is not in peer certificate".
  const std::string& message = status.error_message();
  for (const char* words : {"Ssl handshake failed", "Peer name "}) {
    const size_t at = message.find(words);
    if (at == std::string::npos) continue;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot connect to ", address_, " over TLS: ", message.substr(at),
                     " (does it serve TLS, with a certificate for this address that --tls-ca or "
                     "$AFFSIG_TLS_CA, else the system's roots, verify?)"));
  }
  return absl::OkStatus();
}

void SignatureClient::Authorize(grpc::ClientContext& context) const {
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
}

void SignatureClient::Prepare(grpc::ClientContext& context) const {
  Authorize(context);
  // A connection lost meanwhile is waited for rather than failing the call.
  context.set_wait_for_ready(true);
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.connect_timeout + kCallTime));
}

void SignatureClient::PrepareUpload(grpc::ClientContext& context) const {
  // No deadline: a large upload over a slow link takes as long as it takes.
  context.set_wait_for_ready(true);
  Authorize(context);
}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> SignatureClient::Unary(Stub& stub,
                                                UnaryMethod<Stub, Request, Response> method,
                                                const Request& request) {
  RETURN_IF_ERROR(Connect());
  grpc::ClientContext context;
  Prepare(context);
  Response response;
  RETURN_IF_ERROR(FromGrpcStatus((stub.*method)(&context, request, &response)));
  return response;
}

absl::StatusOr<v1::Blob> SignatureClient::Upload(const std::string& path, BlobKind kind) {
  ASSIGN_OR_RETURN(auto sha, FileSha256(path));
  return UploadWithDigest(path, kind, sha);
}

absl::StatusOr<v1::Blob> SignatureClient::UploadWithDigest(const std::string& path, BlobKind kind,
                                                           const std::string& sha256) {
  // A client stream outgrows the channel's retry buffer: an upload cut short by an unavailable
  // server is sent again from its first byte, as the retry policy would do for a small call.
  absl::Duration backoff = absl::Milliseconds(250);
  for (int attempt = 1;; ++attempt) {
    RETURN_IF_ERROR(Connect());
    std::ifstream in(path, std::ios::binary);
    grpc::ClientContext context;
    PrepareUpload(context);
    v1::Blob blob;
    auto writer = kind == BlobKind::kModel ? stub_->UploadModel(&context, &blob)
                                           : stub_->UploadInput(&context, &blob);
    std::vector<char> buffer(kChunkBytes);
    bool first = true;
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0 || first) {
      v1::UploadChunk chunk;
      if (first) {
        chunk.set_sha256(sha256);
        chunk.set_name(std::filesystem::path(path).filename().string());
      }
      chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
      first = false;
      if (!writer->Write(chunk)) break;  // the server ended the stream: Finish says why
      if (in.eof()) break;
    }
    writer->WritesDone();
    const absl::Status status = FromGrpcStatus(writer->Finish());
    if (status.ok()) return blob;
    if (status.code() != absl::StatusCode::kUnavailable || attempt == kUploadAttempts) {
      return WithReason(absl::Status(status.code(), absl::StrCat(path, ": ", status.message())),
                        ErrorReason(status));
    }
    absl::SleepFor(backoff);
    backoff *= 2;
  }
}

absl::StatusOr<EnsuredBlob> SignatureClient::EnsureUploaded(const std::string& path,
                                                            BlobKind kind) {
  ASSIGN_OR_RETURN(auto sha, FileSha256(path));
  ASSIGN_OR_RETURN(auto missing, FindMissingBlobs({sha}));
  if (missing.empty()) return EnsuredBlob{sha, false};
  ASSIGN_OR_RETURN(auto blob,
                   UploadWithDigest(path, kind, sha));  // hashed once: models can be large
  return EnsuredBlob{blob.sha256(), true};
}

absl::StatusOr<std::vector<std::string>> SignatureClient::FindMissingBlobs(
    const std::vector<std::string>& sha256s) {
  v1::FindMissingBlobsRequest request;
  request.mutable_sha256()->Add(sha256s.begin(), sha256s.end());
  ASSIGN_OR_RETURN(auto response,
                   Unary(*stub_, &v1::SignatureService::Stub::FindMissingBlobs, request));
  return std::vector<std::string>(response.missing_sha256().begin(),
                                  response.missing_sha256().end());
}

absl::StatusOr<v1::ListModelsResponse> SignatureClient::ListModels(
    const v1::ListModelsRequest& request) {
  return Unary(*stub_, &v1::SignatureService::Stub::ListModels, request);
}

absl::StatusOr<v1::Job> SignatureClient::Submit(v1::SubmitJobRequest request) {
  if (request.request_id().empty()) request.set_request_id(RandomRequestId());
  return Unary(*stub_, &v1::SignatureService::Stub::SubmitJob, request);
}

absl::StatusOr<v1::Job> SignatureClient::GetJob(const std::string& job_id) {
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  return Unary(*stub_, &v1::SignatureService::Stub::GetJob, request);
}

absl::StatusOr<v1::ListJobsResponse> SignatureClient::ListJobs(const v1::ListJobsRequest& request) {
  return Unary(*stub_, &v1::SignatureService::Stub::ListJobs, request);
}

absl::StatusOr<v1::Job> SignatureClient::CancelJob(const std::string& job_id) {
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  return Unary(*stub_, &v1::SignatureService::Stub::CancelJob, request);
}

absl::Status SignatureClient::DeleteJob(const std::string& job_id) {
  v1::DeleteJobRequest request;
  request.set_job_id(job_id);
  return Unary(*stub_, &v1::SignatureService::Stub::DeleteJob, request).status();
}

absl::StatusOr<v1::Job> SignatureClient::Watch(const std::string& job_id,
                                               const std::function<void(const v1::Job&)>& on_update,
                                               absl::Duration reconnect_for) {
  std::optional<v1::Job> last;
  RETURN_IF_ERROR(Connect());
  while (true) {
    grpc::ClientContext context;
    // A watch lasts as long as its job, with no deadline; a connection lost meanwhile is waited
    // for.
    context.set_wait_for_ready(true);
    Authorize(context);
    v1::WatchJobRequest request;
    request.set_job_id(job_id);
    auto reader = stub_->WatchJob(&context, request);
    v1::Job job;
    while (reader->Read(&job)) {
      if (on_update) on_update(job);
      last = job;
    }
    absl::Status status = FromGrpcStatus(reader->Finish());
    if (status.ok() && last && IsFinal(last->state())) return *last;
    // A server that stops or restarts during the watch: wait for it, then watch again. Its
    // shutdown ends open calls with UNAVAILABLE, or CANCELLED when they outlive its grace period
    // (this client never cancels a watch itself) — also before the first update arrived: the
    // connection was up when the watch began.
    const bool server_went_away = status.code() == absl::StatusCode::kUnavailable ||
                                  status.code() == absl::StatusCode::kCancelled;
    if (!server_went_away) {
      return status.ok() ? absl::InternalError("the watch ended before the job did") : status;
    }
    // Only the reconnection is bounded, not the watch that follows it.
    absl::SleepFor(absl::Milliseconds(100));
    channel_->GetState(/*try_to_connect=*/true);
    if (!channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + reconnect_for))) {
      return absl::UnavailableError(absl::StrCat("the server went away while watching job ", job_id,
                                                 " and did not come back within ",
                                                 absl::FormatDuration(reconnect_for)));
    }
  }
}

absl::StatusOr<v1::Signature> SignatureClient::GetSignature(const std::string& job_id) {
  v1::GetSignatureRequest request;
  request.set_job_id(job_id);
  return Unary(*stub_, &v1::SignatureService::Stub::GetSignature, request);
}

absl::StatusOr<v1::ListSignaturesResponse> SignatureClient::ListSignatures(
    const v1::ListSignaturesRequest& request) {
  return Unary(*stub_, &v1::SignatureService::Stub::ListSignatures, request);
}

absl::StatusOr<v1::ServerInfo> SignatureClient::GetServerInfo() {
  return Unary(*stub_, &v1::SignatureService::Stub::GetServerInfo, v1::GetServerInfoRequest());
}

absl::StatusOr<v1::SignatureComparison> SignatureClient::CompareSignatures(
    const v1::CompareSignaturesRequest& request) {
  return Unary(*stub_, &v1::SignatureService::Stub::CompareSignatures, request);
}

absl::StatusOr<v1::SignatureClustering> SignatureClient::ClusterSignatures(
    const v1::ClusterSignaturesRequest& request) {
  return Unary(*stub_, &v1::SignatureService::Stub::ClusterSignatures, request);
}

absl::StatusOr<v1::SignatureCorrelation> SignatureClient::CorrelateSignatures(
    const v1::CorrelateSignaturesRequest& request) {
  return Unary(*stub_, &v1::SignatureService::Stub::CorrelateSignatures, request);
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus>
SignatureClient::CheckHealth() {
  ASSIGN_OR_RETURN(auto response, Unary(*health_, &grpc::health::v1::Health::Stub::Check,
                                        grpc::health::v1::HealthCheckRequest()));
  return response.status();
}

}  // namespace affsig::client
