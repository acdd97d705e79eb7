#include "client/signature_client.h"

#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace affsig::client {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

absl::Status ToAbslStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace

absl::StatusOr<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  std::vector<char> buffer(kChunkBytes);
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    EVP_DigestUpdate(context, buffer.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, digest, &length);
  EVP_MD_CTX_free(context);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), length));
}

SignatureClient::SignatureClient(const std::string& address)
    : stub_(v1::SignatureService::NewStub(
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}

absl::StatusOr<v1::Blob> SignatureClient::Upload(const std::string& path, Kind kind) {
  auto sha = FileSha256(path);
  if (!sha.ok()) return sha.status();
  std::ifstream in(path, std::ios::binary);
  grpc::ClientContext context;
  v1::Blob blob;
  auto writer = kind == Kind::kModel ? stub_->UploadModel(&context, &blob)
                                     : stub_->UploadInput(&context, &blob);
  std::vector<char> buffer(kChunkBytes);
  bool first = true;
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0 || first) {
    v1::UploadChunk chunk;
    if (first) chunk.set_sha256(*sha);
    chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
    first = false;
    if (!writer->Write(chunk)) break;  // the server ended the stream: Finish says why
    if (in.eof()) break;
  }
  writer->WritesDone();
  if (absl::Status status = ToAbslStatus(writer->Finish()); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  }
  return blob;
}

absl::StatusOr<v1::Blob> SignatureClient::UploadModel(const std::string& path) {
  return Upload(path, Kind::kModel);
}

absl::StatusOr<v1::Blob> SignatureClient::UploadInput(const std::string& path) {
  return Upload(path, Kind::kInput);
}

template <typename Request, typename Response>
absl::StatusOr<Response> SignatureClient::Unary(UnaryMethod<Request, Response> method,
                                                const Request& request) {
  grpc::ClientContext context;
  Response response;
  if (absl::Status status = ToAbslStatus((stub_.get()->*method)(&context, request, &response));
      !status.ok()) {
    return status;
  }
  return response;
}

absl::StatusOr<v1::Job> SignatureClient::Submit(const v1::SubmitJobRequest& request) {
  return Unary<v1::SubmitJobRequest, v1::Job>(&v1::SignatureService::Stub::SubmitJob, request);
}

absl::StatusOr<v1::Job> SignatureClient::GetJob(const std::string& job_id) {
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  return Unary<v1::GetJobRequest, v1::Job>(&v1::SignatureService::Stub::GetJob, request);
}

absl::StatusOr<v1::Job> SignatureClient::CancelJob(const std::string& job_id) {
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  return Unary<v1::CancelJobRequest, v1::Job>(&v1::SignatureService::Stub::CancelJob, request);
}

absl::StatusOr<v1::Signature> SignatureClient::GetSignature(const std::string& job_id) {
  v1::GetSignatureRequest request;
  request.set_job_id(job_id);
  return Unary<v1::GetSignatureRequest, v1::Signature>(&v1::SignatureService::Stub::GetSignature,
                                                       request);
}

absl::StatusOr<v1::Job> SignatureClient::WaitForEnd(
    const std::string& job_id, const std::function<void(const v1::Job&)>& on_update,
    absl::Duration poll) {
  v1::JobState last = v1::JOB_STATE_UNSPECIFIED;
  while (true) {
    auto job = GetJob(job_id);
    if (!job.ok()) return job.status();
    if (job->state() != last) {
      last = job->state();
      if (on_update) on_update(*job);
    }
    if (job->state() != v1::QUEUED && job->state() != v1::RUNNING) return job;
    absl::SleepFor(poll);
  }
}

}  // namespace affsig::client
