#include "server/workers/signature_worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/batch_statistics.h"
#include "common/data_spec.h"
#include "server/datasets/batch_stream.h"
#include "server/engine/signature_engine.h"
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

TEST_F(SignatureWorkerTest, ABatchedJobStoresEachEntrysMeanAndSpreadOverItsBatches) {
  const std::string model_path = testing::CommittedFixtureDir() + "/mlp_mixed.pt";
  store::JobSpec spec;
  spec.model_sha256 = UploadFile(model_path);
  spec.data_source = "random:24,count=100,seed=3";
  spec.data_options = "batch_size=32,batches=3";
  const std::string id = queue_->Submit(spec)->id;
  WorkerEvents events;
  std::vector<JobProgress> progress;
  events.on_progress = [&](const JobProgress& p) { progress.push_back(p); };
  SignatureWorker worker(*queue_, *blobs_, {testing::TestDevice()}, events);
  auto ran = worker.RunNext();
  ASSERT_TRUE(ran.ok() && ran->has_value()) << ran.status();
  ASSERT_EQ((*ran)->state, JobState::kSucceeded) << (*ran)->error;
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().batch, 3);
  EXPECT_EQ(progress.back().batches, 3);
  EXPECT_EQ(progress.back().done, progress.back().total);

  // The same batches through the engine, one by one.
  DataSpec data = *ParseDataSource(spec.data_source);
  ASSERT_TRUE(ParseDataOptions(spec.data_options, data).ok());
  auto stream = datasets::BatchStream::Start(*datasets::OpenSampleDataset(data, {}), data);
  ASSERT_TRUE(stream.ok()) << stream.status();
  auto model = engine::SignatureModel::Load(model_path, {testing::TestDevice()});
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<Signature> per_batch;
  while (true) {
    auto batch = (*stream)->Next();
    ASSERT_TRUE(batch.ok());
    if (!batch->has_value()) break;
    EXPECT_EQ((*batch)->size(0), 32);
    per_batch.push_back(*(*model)->Compute(**batch, {engine::ActivationMode::kModules}));
  }
  ASSERT_EQ(per_batch.size(), 3u);
  const Signature expected = *CombineBatches(per_batch);
  auto entries = Entries(id);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const SignatureEntry& got = (*entries)[i];
    EXPECT_EQ(got.module, expected[i].module);
    EXPECT_EQ(got.batches, expected[i].batches);
    EXPECT_NEAR(got.score, expected[i].score, 1e-12);
    EXPECT_NEAR(got.score_std, expected[i].score_std, 1e-12);
    EXPECT_NEAR(got.score_min, expected[i].score_min, 1e-12);
    EXPECT_NEAR(got.score_max, expected[i].score_max, 1e-12);
    ASSERT_EQ(got.batch_scores.size(), 3u);
    for (int b = 0; b < 3; ++b) {
      if (per_batch[b][i].status == EntryStatus::kOk) {
        EXPECT_NEAR(got.batch_scores[b], per_batch[b][i].score, 1e-12);
      } else {
        EXPECT_TRUE(std::isnan(got.batch_scores[b]));  // GLU: dim_mismatch in every batch
      }
    }
  }
  EXPECT_GT(expected.front().score_std, 0.0);  // three different batches: some spread
}

TEST_F(SignatureWorkerTest, BadDataFailsTheJobWithOneLineNamingTheFile) {
  const std::string model = UploadFile(testing::CommittedFixtureDir() + "/mlp_mixed.pt");
  const std::filesystem::path root = dir_ / "root";
  std::filesystem::create_directories(root / "empty_folder");
  std::ofstream(root / "cifar.bin") << std::string(100, 'x');
  auto submit = [&](const std::string& source, const std::string& options = "") {
    store::JobSpec spec;
    spec.model_sha256 = model;
    spec.data_source = source;
    spec.data_options = options;
    return queue_->Submit(spec)->id;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {submit("server:/etc/passwd"), "outside the server's data roots"},
      {submit("server:" + (root / ".." / "root" / "x.npy").string()), "'..' is not allowed"},
      {submit("imagefolder:" + (root / "empty_folder").string()), "no images in"},
      {submit("cifar10:" + (root / "cifar.bin").string()), "cifar.bin' is not a CIFAR-10"},
      {submit("random:24,count=10,seed=1", "batch_size=4,batches=5"), "asked for 5 batches"},
  };
  SignatureWorker worker(*queue_, *blobs_, {testing::TestDevice(), 0, {root.string()}});
  for (const auto& [id, message] : cases) {
    auto ran = worker.RunNext();
    ASSERT_TRUE(ran.ok() && ran->has_value());
    EXPECT_EQ((*ran)->id, id);
    EXPECT_EQ((*ran)->state, JobState::kFailed);
    EXPECT_THAT((*ran)->error, HasSubstr(message));
    EXPECT_EQ((*ran)->error.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace affsig::workers
