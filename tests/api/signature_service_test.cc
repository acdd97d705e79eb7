// The real affsig-server on 127.0.0.1, driven through the generated gRPC stub.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "affsig/v1/signature_service.grpc.pb.h"
#include "client/signature_client.h"
#include "tests/api/server_process.h"
#include "tests/golden_cases.h"
#include "tests/scratch_dir.h"

namespace affsig::api {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

class SignatureServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshScratchDir();
    StartServer();
  }

  void StartServer() {
    auto server = testing::ServerProcess::Start({"--db=" + (dir_ / "affsig.db").string(),
                                                 "--data-dir=" + (dir_ / "data").string(),
                                                 "--devices=cpu", "--max-upload-mb=1"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_.emplace(*std::move(server));
    stub_ = v1::SignatureService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Upload(const std::string& bytes, v1::Blob* blob, const std::string& sha = "",
                      size_t chunk_size = 1000) {
    grpc::ClientContext context;
    auto writer = stub_->UploadModel(&context, blob);
    for (size_t at = 0; at < bytes.size() || at == 0; at += chunk_size) {
      v1::UploadChunk chunk;
      if (at == 0) chunk.set_sha256(sha);
      chunk.set_data(bytes.substr(at, chunk_size));
      if (!writer->Write(chunk)) break;
      if (bytes.empty()) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  v1::Job WaitForEnd(const std::string& job_id) {
    v1::Job job;
    for (int i = 0; i < 600; ++i) {
      grpc::ClientContext context;
      v1::GetJobRequest request;
      request.set_job_id(job_id);
      EXPECT_TRUE(stub_->GetJob(&context, request, &job).ok());
      if (job.state() != v1::QUEUED && job.state() != v1::RUNNING) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return job;
  }

  std::filesystem::path dir_;
  std::optional<testing::ServerProcess> server_;
  std::unique_ptr<v1::SignatureService::Stub> stub_;
};

TEST_F(SignatureServiceTest, TheClientUploadsSubmitsAndFetchesTheGoldenSignature) {
  client::SignatureClient client(server_->address());
  const std::string golden_dir = testing::SharedGoldenDir();
  auto model = client.UploadModel(golden_dir + "/visible_net.pt");
  auto input = client.UploadInput(golden_dir + "/visible_net.input.npy");
  ASSERT_TRUE(model.ok() && input.ok()) << model.status() << input.status();
  auto again = client.UploadModel(golden_dir + "/visible_net.pt");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_stored());
  EXPECT_EQ(again->sha256(), model->sha256());
  EXPECT_EQ(model->sha256(), *client::FileSha256(golden_dir + "/visible_net.pt"));

  v1::SubmitJobRequest submit;
  submit.set_model_sha256(model->sha256());
  submit.set_input_sha256(input->sha256());
  submit.set_name("visible");
  (*submit.mutable_labels())["arch"] = "visible_net";
  auto job = client.Submit(submit);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), v1::QUEUED);
  EXPECT_EQ(job->labels().at("arch"), "visible_net");
  std::vector<v1::JobState> seen;
  auto ended =
      client.WaitForEnd(job->job_id(), [&](const v1::Job& j) { seen.push_back(j.state()); });
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->state(), v1::SUCCEEDED);
  EXPECT_EQ(seen.back(), v1::SUCCEEDED);

  auto signature = client.GetSignature(job->job_id());
  ASSERT_TRUE(signature.ok()) << signature.status();
  auto golden = testing::ReadGoldenSet(golden_dir);
  ASSERT_TRUE(golden.ok());
  const auto& expected = golden->models.front().signature;
  ASSERT_EQ(signature->entries_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(signature->entries(i).module(), expected[i].module);
    EXPECT_EQ(signature->entries(i).op(), expected[i].op);
    EXPECT_NEAR(signature->entries(i).score(), expected[i].score, 1e-3);
  }
  EXPECT_EQ(client.GetJob("job-unknown").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
}

TEST_F(SignatureServiceTest, BadRequestsGetClearErrorsAndTheServerKeepsRunning) {
  v1::Blob blob;
  grpc::Status corrupted = Upload("some bytes", &blob, std::string(64, 'b'));
  EXPECT_EQ(corrupted.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(corrupted.error_message(), HasSubstr("upload corrupted"));
  grpc::Status oversize = Upload(std::string(2 << 20, 'x'), &blob, "", 64 << 10);
  EXPECT_EQ(oversize.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  grpc::ClientContext get_context;
  v1::GetJobRequest get;
  get.set_job_id("job-does-not-exist");
  v1::Job job;
  grpc::Status unknown = stub_->GetJob(&get_context, get, &job);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext submit_context;
  v1::SubmitJobRequest submit;
  submit.set_model_sha256(std::string(64, 'c'));
  submit.set_input_sha256(std::string(64, 'd'));
  grpc::Status missing = stub_->SubmitJob(&submit_context, submit, &job);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(missing.error_message(), HasSubstr("upload it first"));

  // A job whose model is not TorchScript fails; the server goes on.
  v1::Blob not_model, input;
  ASSERT_TRUE(Upload("definitely not a model", &not_model).ok());
  ASSERT_TRUE(Upload(ReadFile(testing::SharedGoldenDir() + "/visible_net.input.npy"), &input).ok());
  grpc::ClientContext bad_context;
  submit.set_model_sha256(not_model.sha256());
  submit.set_input_sha256(input.sha256());
  ASSERT_TRUE(stub_->SubmitJob(&bad_context, submit, &job).ok());
  const v1::Job failed = WaitForEnd(job.job_id());
  EXPECT_EQ(failed.state(), v1::FAILED);
  EXPECT_THAT(failed.error(), HasSubstr("not a loadable TorchScript model"));
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
}

TEST_F(SignatureServiceTest, AQueuedJobSurvivesAKilledServer) {
  v1::Blob model, input;
  ASSERT_TRUE(Upload(ReadFile(testing::SharedGoldenDir() + "/visible_net.pt"), &model).ok());
  ASSERT_TRUE(Upload(ReadFile(testing::SharedGoldenDir() + "/visible_net.input.npy"), &input).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    v1::SubmitJobRequest submit;
    submit.set_model_sha256(model.sha256());
    submit.set_input_sha256(input.sha256());
    v1::Job job;
    ASSERT_TRUE(stub_->SubmitJob(&context, submit, &job).ok());
    ids.push_back(job.job_id());
  }
  server_->Stop(SIGKILL);
  StartServer();
  for (const std::string& id : ids) {
    EXPECT_EQ(WaitForEnd(id).state(), v1::SUCCEEDED) << id;
    grpc::ClientContext context;
    v1::GetSignatureRequest request;
    request.set_job_id(id);
    v1::Signature signature;
    ASSERT_TRUE(stub_->GetSignature(&context, request, &signature).ok());
    EXPECT_EQ(signature.entries_size(), 3);  // stored once, whatever attempt finished it
  }
}

}  // namespace
}  // namespace affsig::api
