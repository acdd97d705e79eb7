#include "server/worker/job_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/batch_statistics.h"
#include "common/data_spec.h"
#include "common/job.h"
#include "server/datasets/batch_stream.h"
#include "server/datasets/sample_dataset.h"
#include "server/engine/signature_engine.h"
#include "server/store/blob_store.h"
#include "tests/golden_cases.h"
#include "tests/scratch_dir.h"

namespace affsig::worker {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The runner reads blobs as a worker's cache gives them: files of a BlobStore in a scratch folder,
// uploaded the way a fetch fills the cache.
class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshScratchDir();
    auto blobs = store::BlobStore::Open((dir_ / "cache").string(), int64_t{1} << 30);
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = *std::move(blobs);
  }

  std::string UploadBytes(const std::string& bytes) {
    auto upload = blobs_->BeginUpload();
    EXPECT_TRUE(upload.ok()) << upload.status();
    if (!upload.ok()) return "";
    EXPECT_TRUE((*upload)->Append(bytes).ok());
    auto info = (*upload)->Finish();
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? info->sha256 : "";
  }

  std::string UploadFile(const std::string& path) {
    const std::string bytes = ReadFile(path);
    EXPECT_FALSE(bytes.empty()) << "no fixture " << path;
    return UploadBytes(bytes);
  }

  std::string VisibleNet() { return UploadFile(testing::SharedGoldenDir() + "/visible_net.pt"); }
  std::string VisibleInput() {
    return UploadFile(testing::SharedGoldenDir() + "/visible_net.input.npy");
  }

  // A job on an uploaded input.
  static JobSpec UploadJob(const std::string& model_sha256, const std::string& input_sha256,
                           ActivationMode activations = ActivationMode::kModules) {
    JobSpec spec;
    spec.model_sha256 = model_sha256;
    spec.data.kind = DataKind::kUpload;
    spec.data.location = input_sha256;
    spec.activations = activations;
    return spec;
  }

  // A job on a data source written as `affsig submit --data` takes it, with its options.
  static JobSpec SourceJob(const std::string& model_sha256, const std::string& source,
                           const std::string& options = "") {
    JobSpec spec;
    spec.model_sha256 = model_sha256;
    auto data = ParseDataSource(source);
    EXPECT_TRUE(data.ok()) << data.status();
    if (data.ok()) spec.data = *std::move(data);
    absl::Status parsed = ParseDataOptions(options, spec.data);
    EXPECT_TRUE(parsed.ok()) << parsed;
    return spec;
  }

  absl::StatusOr<Signature> Run(const JobSpec& spec, const RunCallbacks& callbacks = {},
                                std::vector<std::string> data_roots = {}) {
    JobRunner runner({testing::TestDevice(), 0, std::move(data_roots)});
    return runner.Run(
        spec, [this](const std::string& sha256) { return blobs_->PathOf(sha256); }, callbacks);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::BlobStore> blobs_;
};

void ExpectGoldenSignature(const Signature& got, const testing::GoldenModel& expected) {
  ASSERT_EQ(got.size(), expected.signature.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const testing::GoldenEntry& want = expected.signature[i];
    SCOPED_TRACE(::testing::Message() << "entry " << i << " " << want.module << " " << want.op);
    EXPECT_EQ(got[i].module, want.module);
    EXPECT_EQ(got[i].call, want.call);
    EXPECT_EQ(got[i].op, want.op);
    EXPECT_EQ(EntryStatusName(got[i].status), want.status) << got[i].reason;
    if (want.status == "ok") EXPECT_NEAR(got[i].score, want.score, 1e-3);
    // One batch, in which the entry was scored or not.
    EXPECT_EQ(got[i].batches, want.status == "ok" ? 1 : 0);
  }
}

TEST_F(JobRunnerTest, RunsAJobToItsGoldenSignatureReportingProgressUpToTheLastActivation) {
  auto golden = testing::ReadGoldenSet(testing::SharedGoldenDir());
  ASSERT_TRUE(golden.ok()) << golden.status();
  ASSERT_FALSE(golden->models.empty());
  const testing::GoldenModel& expected = golden->models.front();
  ASSERT_EQ(expected.name, "visible_net");
  const int64_t entries = static_cast<int64_t>(expected.signature.size());

  std::vector<RunProgress> progress;
  RunCallbacks callbacks;
  callbacks.on_progress = [&](const RunProgress& p) { progress.push_back(p); };
  auto signature = Run(UploadJob(VisibleNet(), VisibleInput()), callbacks);
  ASSERT_TRUE(signature.ok()) << signature.status();
  ExpectGoldenSignature(*signature, expected);

  // Events as activations are scored, beside the forward pass (its total unknown, 0, until it
  // has ended) and after it, ending at the total.
  ASSERT_FALSE(progress.empty());
  for (size_t i = 0; i < progress.size(); ++i) {
    if (i > 0) EXPECT_GE(progress[i].done, progress[i - 1].done) << "event " << i;
    if (progress[i].total != 0) EXPECT_EQ(progress[i].total, entries) << "event " << i;
    EXPECT_LE(progress[i].done, entries) << "event " << i;
    EXPECT_EQ(progress[i].batch, 1);
    EXPECT_EQ(progress[i].batches, 1);
  }
  EXPECT_EQ(progress.back().done, entries);
  EXPECT_EQ(progress.back().total, entries);
  std::vector<std::string> modules;
  for (const auto& entry : expected.signature) modules.push_back(entry.module);
  EXPECT_THAT(modules, Contains(progress.back().activation));
}

// A lab runs the same model on one batch after another: the runner keeps the last model for the
// next job, which then gives what a fresh load gives — except a model whose forward changes its
// own state, loaded afresh for each job.
TEST_F(JobRunnerTest, TheNextJobOnTheSameModelReusesItUnlessItsForwardKeepsState) {
  JobRunner runner({testing::TestDevice(), 0, {}});
  std::map<std::string, int> lookups;
  auto run = [&](const JobSpec& spec) {
    auto signature = runner.Run(spec,
                                [&](const std::string& sha256) {
                                  ++lookups[sha256];
                                  return blobs_->PathOf(sha256);
                                },
                                {});
    EXPECT_TRUE(signature.ok()) << signature.status();
    return signature.ok() ? *signature : Signature{};
  };
  auto scores = [](const Signature& signature) {
    std::vector<double> scores;
    for (const SignatureEntry& entry : signature) scores.push_back(entry.score);
    return scores;
  };

  const std::string visible = VisibleNet();
  const JobSpec job = UploadJob(visible, VisibleInput());
  const Signature first = run(job);
  const Signature second = run(job);
  EXPECT_EQ(lookups[visible], 1) << "the second job loaded the model again";
  EXPECT_EQ(scores(second), scores(first));
  JobSpec unoptimized = job;
  unoptimized.optimize = ForwardOptimization::kOff;
  const Signature third = run(unoptimized);
  EXPECT_EQ(lookups[visible], 2) << "a job asking for the unoptimized forward got the kept one";
  ASSERT_EQ(third.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_NEAR(third[i].score, first[i].score, 1e-5);

  const std::string counting = UploadFile(testing::ServiceFixtureDir() + "/counting.pt");
  const JobSpec counting_job = SourceJob(counting, "random:16,count=8,seed=1");
  const Signature counted_once = run(counting_job);
  const Signature counted_again = run(counting_job);
  EXPECT_EQ(lookups[counting], 2) << "a model with state was kept for the next job";
  EXPECT_EQ(scores(counted_again), scores(counted_once));
}

// The job's activation mode reaches the engine: "all" also scores functional calls.
TEST_F(JobRunnerTest, RunsEveryCommittedGoldenModelInTheActivationModeOfItsJob) {
  auto golden = testing::ReadGoldenSet(testing::CommittedFixtureDir());
  ASSERT_TRUE(golden.ok()) << golden.status();
  ASSERT_FALSE(golden->models.empty());
  bool saw_all = false;
  for (const testing::GoldenModel& expected : golden->models) {
    SCOPED_TRACE(expected.name);
    auto mode = ParseActivationMode(expected.activations);
    ASSERT_TRUE(mode.ok()) << mode.status();
    saw_all = saw_all || *mode == ActivationMode::kAll;
    auto signature =
        Run(UploadJob(UploadFile(expected.model_path), UploadFile(expected.input_path), *mode));
    ASSERT_TRUE(signature.ok()) << signature.status();
    ExpectGoldenSignature(*signature, expected);
  }
  EXPECT_TRUE(saw_all) << "no golden case runs in mode 'all'";
}

TEST_F(JobRunnerTest, BadContentFailsWithOneLineNamingBlobsByDigestNeverByPath) {
  const std::string model = VisibleNet();
  const std::string input = VisibleInput();
  const std::string input_bytes = ReadFile(testing::SharedGoldenDir() + "/visible_net.input.npy");
  const std::string not_a_model = UploadBytes("not a TorchScript archive");
  const std::string bad_npy = UploadBytes("\x93NUMPY garbage");
  const std::string truncated_npy = UploadBytes(input_bytes.substr(0, input_bytes.size() / 2));
  const std::string wrong_shape = UploadFile(testing::SharedGoldenDir() + "/act1d_relu.x.npy");
  const std::string never_uploaded_model(64, 'a');
  const std::string never_uploaded_input(64, 'b');

  struct Case {
    JobSpec spec;
    absl::StatusCode code;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases = {
      {UploadJob(not_a_model, input),
       absl::StatusCode::kInvalidArgument,
       {"model " + not_a_model, "not a loadable TorchScript model"}},
      {UploadJob(model, bad_npy),
       absl::StatusCode::kInvalidArgument,
       {"input " + bad_npy + ": npy: unsupported format version"}},
      {UploadJob(model, truncated_npy),
       absl::StatusCode::kInvalidArgument,
       {"input " + truncated_npy + ": npy: truncated data"}},
      {UploadJob(model, wrong_shape), absl::StatusCode::kInvalidArgument, {"forward failed"}},
      {UploadJob(never_uploaded_model, input),
       absl::StatusCode::kNotFound,
       {"model " + never_uploaded_model}},
      {UploadJob(model, never_uploaded_input),
       absl::StatusCode::kNotFound,
       {"input " + never_uploaded_input + ": no blob"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "model " << c.spec.model_sha256 << " input " << c.spec.data.location);
    auto signature = Run(c.spec);
    ASSERT_FALSE(signature.ok());
    const std::string message(signature.status().message());
    EXPECT_EQ(signature.status().code(), c.code) << message;
    for (const std::string& part : c.says) EXPECT_THAT(message, HasSubstr(part));
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    // Where the worker keeps its blobs is none of the user's business.
    EXPECT_THAT(message, Not(HasSubstr(dir_.string())));
    EXPECT_THAT(message, Not(HasSubstr("/blobs/")));
  }
  // A job's content only fails that job: the same runner's next job succeeds.
  EXPECT_TRUE(Run(UploadJob(model, input)).ok());
}

TEST_F(JobRunnerTest, ShouldStopCancelsTheJobAtItsNextActivation) {
  std::vector<RunProgress> progress;
  RunCallbacks callbacks;
  callbacks.on_progress = [&](const RunProgress& p) { progress.push_back(p); };
  // As a cancel request arriving once the first activation is scored.
  callbacks.should_stop = [&] { return !progress.empty() && progress.back().done >= 1; };
  auto signature = Run(UploadJob(VisibleNet(), VisibleInput()), callbacks);
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kCancelled) << signature.status();
  ASSERT_FALSE(progress.empty());
  // Nothing was scored after the request.
  EXPECT_EQ(progress.back().done, 1);
  EXPECT_LT(progress.back().done, progress.back().total);
}

TEST_F(JobRunnerTest, ShouldStopInALaterBatchCancelsTheJobThere) {
  const std::string model = UploadFile(testing::CommittedFixtureDir() + "/mlp_mixed.pt");
  std::vector<RunProgress> progress;
  RunCallbacks callbacks;
  callbacks.on_progress = [&](const RunProgress& p) { progress.push_back(p); };
  callbacks.should_stop = [&] { return !progress.empty() && progress.back().batch == 2; };
  auto signature =
      Run(SourceJob(model, "random:24,count=100,seed=3", "batch_size=32,batches=3"), callbacks);
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kCancelled) << signature.status();
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().batch, 2);
  EXPECT_LT(progress.back().done, progress.back().total);
}

// What the runner should give for a batched job: the engine run on the same batches, one by one,
// combined.
std::vector<std::string> ModulesOf(const Signature& signature) {
  std::vector<std::string> modules;
  for (const SignatureEntry& entry : signature) modules.push_back(entry.module);
  return modules;
}

struct EngineBatches {
  std::vector<Signature> per_batch;
  Signature combined;
};

EngineBatches RunEngineOnBatches(const std::string& model_path, const DataSpec& data,
                                 const MeasureSelection& measures = {}) {
  EngineBatches result;
  auto dataset = datasets::OpenSampleDataset(data, {});
  EXPECT_TRUE(dataset.ok()) << dataset.status();
  if (!dataset.ok()) return result;
  auto stream = datasets::BatchStream::Start(*std::move(dataset), data);
  EXPECT_TRUE(stream.ok()) << stream.status();
  if (!stream.ok()) return result;
  auto model = engine::SignatureModel::Load(model_path, {testing::TestDevice()});
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return result;
  while (true) {
    auto batch = (*stream)->Next();
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok() || !batch->has_value()) break;
    EXPECT_EQ((*batch)->size(0), data.batching.batch_size);
    auto signature = (*model)->Compute(**batch, {ActivationMode::kModules, {}, measures});
    EXPECT_TRUE(signature.ok()) << signature.status();
    if (!signature.ok()) break;
    result.per_batch.push_back(*std::move(signature));
  }
  auto combined = CombineBatches(result.per_batch);
  EXPECT_TRUE(combined.ok()) << combined.status();
  if (combined.ok()) result.combined = *std::move(combined);
  return result;
}

void ExpectCombinedBatches(const Signature& got, const EngineBatches& expected) {
  ASSERT_EQ(got.size(), expected.combined.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "entry " << i << " " << got[i].module);
    const SignatureEntry& want = expected.combined[i];
    EXPECT_EQ(got[i].module, want.module);
    EXPECT_EQ(got[i].batches, want.batches);
    EXPECT_NEAR(got[i].score, want.score, 1e-12);
    EXPECT_NEAR(got[i].score_std, want.score_std, 1e-12);
    EXPECT_NEAR(got[i].score_min, want.score_min, 1e-12);
    EXPECT_NEAR(got[i].score_max, want.score_max, 1e-12);
    ASSERT_EQ(got[i].batch_scores.size(), expected.per_batch.size());
    for (size_t b = 0; b < expected.per_batch.size(); ++b) {
      if (expected.per_batch[b][i].status == EntryStatus::kOk) {
        EXPECT_NEAR(got[i].batch_scores[b], expected.per_batch[b][i].score, 1e-12);
      } else {
        EXPECT_TRUE(std::isnan(got[i].batch_scores[b]));  // GLU: dim_mismatch in every batch
      }
    }
    ASSERT_EQ(got[i].measures.size(), want.measures.size());
    for (size_t m = 0; m < want.measures.size(); ++m) {
      SCOPED_TRACE(MeasureName(want.measures[m].measure));
      EXPECT_EQ(got[i].measures[m].measure, want.measures[m].measure);
      EXPECT_NEAR(got[i].measures[m].mean, want.measures[m].mean, 1e-12);
      EXPECT_NEAR(got[i].measures[m].std, want.measures[m].std, 1e-12);
    }
  }
}

TEST_F(JobRunnerTest, ABatchedJobGivesEachEntrysMeanAndSpreadOverItsBatches) {
  const std::string model_path = testing::CommittedFixtureDir() + "/mlp_mixed.pt";
  const JobSpec spec =
      SourceJob(UploadFile(model_path), "random:24,count=100,seed=3", "batch_size=32,batches=3");
  std::vector<RunProgress> progress;
  RunCallbacks callbacks;
  callbacks.on_progress = [&](const RunProgress& p) { progress.push_back(p); };
  auto signature = Run(spec, callbacks);
  ASSERT_TRUE(signature.ok()) << signature.status();

  const EngineBatches expected = RunEngineOnBatches(model_path, spec.data);
  ASSERT_EQ(expected.per_batch.size(), 3u);
  ExpectCombinedBatches(*signature, expected);
  EXPECT_GT(expected.combined.front().score_std, 0.0);  // three different batches: some spread

  // Progress counts the activations of every batch, batch after batch, and ends at their total.
  ASSERT_FALSE(progress.empty());
  const auto entries = static_cast<int64_t>(expected.combined.size());
  for (size_t i = 0; i < progress.size(); ++i) {
    // Unknown (0) only while the first batch's forward runs.
    if (progress[i].total == 0) EXPECT_EQ(progress[i].batch, 1) << "event " << i;
    if (progress[i].total != 0) EXPECT_EQ(progress[i].total, 3 * entries) << "event " << i;
    EXPECT_EQ(progress[i].batches, 3);
    // Within its batch's share of the total.
    EXPECT_GE(progress[i].done, (progress[i].batch - 1) * entries) << "event " << i;
    EXPECT_LE(progress[i].done, progress[i].batch * entries) << "event " << i;
    if (i > 0) {
      EXPECT_GE(progress[i].done, progress[i - 1].done) << "event " << i;
      EXPECT_GE(progress[i].batch, progress[i - 1].batch) << "event " << i;
    }
  }
  EXPECT_EQ(progress.front().batch, 1);
  EXPECT_EQ(progress.back().batch, 3);
  EXPECT_EQ(progress.back().done, progress.back().total);
  EXPECT_EQ(progress.back().total, 3 * entries);
  EXPECT_THAT(ModulesOf(expected.combined), Contains(progress.back().activation));
}

// The job's measures reach the engine, and each entry gets their mean and spread over the batches.
TEST_F(JobRunnerTest, ABatchedJobWithMeasuresGivesTheirMeanAndSpreadOverItsBatches) {
  const std::string model_path = testing::CommittedFixtureDir() + "/mlp_mixed.pt";
  JobSpec spec =
      SourceJob(UploadFile(model_path), "random:24,count=100,seed=3", "batch_size=32,batches=3");
  spec.measures = MeasureSelection::All();
  auto signature = Run(spec);
  ASSERT_TRUE(signature.ok()) << signature.status();
  const EngineBatches expected = RunEngineOnBatches(model_path, spec.data, spec.measures);
  ASSERT_EQ(expected.per_batch.size(), 3u);
  ExpectCombinedBatches(*signature, expected);
  for (const SignatureEntry& entry : *signature) {
    EXPECT_EQ(entry.measures.size(),
              entry.status == EntryStatus::kOk ? static_cast<size_t>(kMeasureCount) : 0u)
        << entry.module;
  }
  ASSERT_FALSE(signature->empty());
  EXPECT_GT(signature->front().measures.front().std, 0.0);  // three batches: some spread
}

TEST_F(JobRunnerTest, AShuffledBatchedJobTakesItsBatchesInTheSeededOrder) {
  const std::string model_path = testing::CommittedFixtureDir() + "/mlp_mixed.pt";
  const std::string model = UploadFile(model_path);
  const JobSpec shuffled =
      SourceJob(model, "random:24,count=100,seed=3", "batch_size=32,batches=3,shuffle_seed=7");
  ASSERT_TRUE(shuffled.data.batching.shuffle_seed.has_value());
  auto signature = Run(shuffled);
  ASSERT_TRUE(signature.ok()) << signature.status();
  const EngineBatches expected = RunEngineOnBatches(model_path, shuffled.data);
  ASSERT_EQ(expected.per_batch.size(), 3u);
  ExpectCombinedBatches(*signature, expected);

  // The seed mattered: in stored order the same samples make other batches.
  auto in_order = Run(SourceJob(model, "random:24,count=100,seed=3", "batch_size=32,batches=3"));
  ASSERT_TRUE(in_order.ok()) << in_order.status();
  ASSERT_FALSE(in_order->empty());
  ASSERT_FALSE(signature->empty());
  EXPECT_NE(in_order->front().batch_scores, signature->front().batch_scores);
}

TEST_F(JobRunnerTest, ReadsAFileUnderItsDataRootsAsItWouldTheSameUpload) {
  const std::filesystem::path root = dir_ / "root";
  std::filesystem::create_directories(root / "batches");
  std::filesystem::copy_file(testing::SharedGoldenDir() + "/visible_net.input.npy",
                             root / "batches" / "input.npy");
  const std::string model = VisibleNet();
  auto from_root = Run(SourceJob(model, "server:" + (root / "batches" / "input.npy").string()), {},
                       {root.string()});
  ASSERT_TRUE(from_root.ok()) << from_root.status();
  auto uploaded = Run(UploadJob(model, VisibleInput()));
  ASSERT_TRUE(uploaded.ok()) << uploaded.status();
  ASSERT_EQ(from_root->size(), uploaded->size());
  for (size_t i = 0; i < uploaded->size(); ++i) {
    EXPECT_EQ((*from_root)[i].module, (*uploaded)[i].module);
    EXPECT_DOUBLE_EQ((*from_root)[i].score, (*uploaded)[i].score);
  }
}

TEST_F(JobRunnerTest, BadDataFailsWithOneLineNamingTheFile) {
  const std::string model = UploadFile(testing::CommittedFixtureDir() + "/mlp_mixed.pt");
  const std::filesystem::path root = dir_ / "root";
  std::filesystem::create_directories(root / "empty_folder");
  std::ofstream(root / "cifar.bin") << std::string(100, 'x');
  std::filesystem::copy_file(testing::SharedGoldenDir() + "/visible_net.input.npy",
                             dir_ / "outside.npy");
  // A link inside the root does not lead outside it.
  std::filesystem::create_symlink(dir_ / "outside.npy", root / "escape.npy");
  const std::vector<std::pair<JobSpec, std::string>> cases = {
      {SourceJob(model, "server:/etc/passwd"), "outside the server's data roots"},
      {SourceJob(model, "server:" + (dir_ / "outside.npy").string()),
       "outside the server's data roots"},
      {SourceJob(model, "server:" + (root / "escape.npy").string()),
       "outside the server's data roots once its symbolic links are followed"},
      {SourceJob(model, "server:" + (root / ".." / "root" / "x.npy").string()),
       "'..' is not allowed"},
      {SourceJob(model, "imagefolder:" + (root / "empty_folder").string()), "no images in"},
      {SourceJob(model, "cifar10:" + (root / "cifar.bin").string()),
       "cifar.bin' is not a CIFAR-10"},
      {SourceJob(model, "random:24,count=10,seed=1", "batch_size=4,batches=5"),
       "asked for 5 batches"},
  };
  for (const auto& [spec, message] : cases) {
    SCOPED_TRACE(FormatDataSource(spec.data));
    auto signature = Run(spec, {}, {root.string()});
    ASSERT_FALSE(signature.ok());
    EXPECT_THAT(signature.status().message(), HasSubstr(message));
    EXPECT_EQ(signature.status().message().find('\n'), std::string::npos)
        << signature.status().message();
  }
}

// A worker started without --data-root reads no server paths at all.
TEST_F(JobRunnerTest, ServerPathsAreRefusedWithoutDataRoots) {
  const std::filesystem::path file = dir_ / "input.npy";
  std::filesystem::copy_file(testing::SharedGoldenDir() + "/visible_net.input.npy", file);
  auto signature = Run(SourceJob(VisibleNet(), "server:" + file.string()));
  ASSERT_FALSE(signature.ok());
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kPermissionDenied) << signature.status();
  EXPECT_THAT(signature.status().message(), HasSubstr("has no --data-root"));
}

}  // namespace
}  // namespace affsig::worker
