#include "server/workers/signature_worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/store/signature_store.h"
#include "tests/golden_cases.h"
#include "tests/scratch_dir.h"

namespace affsig::workers {
namespace {

using store::JobState;
using ::testing::HasSubstr;

class SignatureWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshScratchDir();
    auto queue = store::JobQueue::Open((dir_ / "affsig.db").string());
    ASSERT_TRUE(queue.ok()) << queue.status();
    queue_ = *std::move(queue);
    auto blobs = store::BlobStore::Open((dir_ / "data").string(), int64_t{1} << 30);
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = *std::move(blobs);
  }

  std::string UploadBytes(const std::string& bytes) {
    auto upload = blobs_->BeginUpload();
    EXPECT_TRUE(upload.ok());
    EXPECT_TRUE((*upload)->Append(bytes).ok());
    auto info = (*upload)->Finish();
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? info->sha256 : "";
  }

  std::string UploadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return UploadBytes(bytes.str());
  }

  std::string Submit(const std::string& model_sha, const std::string& input_sha) {
    store::JobSpec spec;
    spec.model_sha256 = model_sha;
    spec.input_sha256 = input_sha;
    auto job = queue_->Submit(spec);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? job->id : "";
  }

  std::string VisibleNet() { return UploadFile(testing::SharedGoldenDir() + "/visible_net.pt"); }
  std::string VisibleInput() {
    return UploadFile(testing::SharedGoldenDir() + "/visible_net.input.npy");
  }

  absl::StatusOr<Signature> Entries(const std::string& id) {
    auto signatures = store::SignatureStore::Open((dir_ / "affsig.db").string());
    if (!signatures.ok()) return signatures.status();
    auto stored = (*signatures)->Get(id);
    if (!stored.ok()) return stored.status();
    return stored->entries;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::JobQueue> queue_;
  std::unique_ptr<store::BlobStore> blobs_;
};

TEST_F(SignatureWorkerTest, RunsAQueuedJobAndStoresItsGoldenSignature) {
  const std::string id = Submit(VisibleNet(), VisibleInput());
  std::vector<JobProgress> progress;
  WorkerEvents events;
  std::vector<std::string> started, ended;
  events.on_start = [&](const std::string& device, const store::Job& job) {
    started.push_back(device + " " + job.id + " " + std::string(store::JobStateName(job.state)));
  };
  events.on_progress = [&](const JobProgress& p) { progress.push_back(p); };
  events.on_end = [&](const std::string& device, const store::Job& job) {
    ended.push_back(device + " " + job.id + " " + std::string(store::JobStateName(job.state)));
  };
  SignatureWorker worker(*queue_, *blobs_, {testing::TestDevice()}, events);
  auto ran = worker.RunNext();
  ASSERT_TRUE(ran.ok()) << ran.status();
  ASSERT_TRUE(ran->has_value());
  EXPECT_EQ((*ran)->state, JobState::kSucceeded) << (*ran)->error;
  EXPECT_THAT(started, ::testing::ElementsAre(testing::TestDevice() + " " + id + " RUNNING"));
  EXPECT_THAT(ended, ::testing::ElementsAre(testing::TestDevice() + " " + id + " SUCCEEDED"));
  auto entries = Entries(id);
  ASSERT_TRUE(entries.ok()) << entries.status();
  auto golden = testing::ReadGoldenSet(testing::SharedGoldenDir());
  ASSERT_TRUE(golden.ok());
  const auto& expected = golden->models.front().signature;
  ASSERT_EQ(entries->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*entries)[i].module, expected[i].module);
    EXPECT_NEAR((*entries)[i].score, expected[i].score, 1e-3);
  }
  ASSERT_EQ(progress.size(), expected.size() + 1);
  EXPECT_EQ(progress.back().done, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(progress.back().job_id, id);
  EXPECT_EQ(progress.back().activation, expected.back().module);
  // Nothing else waits.
  EXPECT_FALSE(worker.RunNext()->has_value());
}

TEST_F(SignatureWorkerTest, BadContentFailsThatJobWithOneLineAndTheWorkerGoesOn) {
  const std::string not_a_model = Submit(UploadBytes("not a TorchScript archive"), VisibleInput());
  const std::string bad_input = Submit(VisibleNet(), UploadBytes("\x93NUMPY garbage"));
  const std::string wrong_shape =
      Submit(VisibleNet(), UploadFile(testing::SharedGoldenDir() + "/act1d_relu.x.npy"));
  const std::string missing = Submit(std::string(64, 'a'), VisibleInput());
  const std::string good = Submit(VisibleNet(), VisibleInput());
  SignatureWorker worker(*queue_, *blobs_, {testing::TestDevice()});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(worker.RunNext().ok());

  auto expect_failed = [&](const std::string& id, const std::string& reason) {
    auto job = queue_->Get(id);
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->state, JobState::kFailed);
    EXPECT_THAT(job->error, HasSubstr(reason));
    EXPECT_EQ(job->error.find('\n'), std::string::npos) << job->error;
    EXPECT_EQ(job->error.find(dir_.string()), std::string::npos) << job->error;
  };
  expect_failed(not_a_model, "not a loadable TorchScript model");
  expect_failed(bad_input, ": npy: unsupported format version");
  expect_failed(wrong_shape, "forward failed");
  expect_failed(missing, "was never uploaded");
  EXPECT_EQ(queue_->Get(good)->state, JobState::kSucceeded);
}

TEST_F(SignatureWorkerTest, ACancelledRunningJobStopsAtItsNextActivation) {
  const std::string id = Submit(VisibleNet(), VisibleInput());
  WorkerEvents events;
  events.on_progress = [&](const JobProgress& p) {
    if (p.done == 1) ASSERT_TRUE(queue_->Cancel(p.job_id).ok());
  };
  SignatureWorker worker(*queue_, *blobs_, {testing::TestDevice()}, events);
  auto ran = worker.RunNext();
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_EQ((*ran)->state, JobState::kCancelled);
  EXPECT_TRUE(Entries(id)->empty());
}

}  // namespace
}  // namespace affsig::workers
