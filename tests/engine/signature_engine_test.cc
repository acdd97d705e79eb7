#include "server/engine/signature_engine.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "server/engine/npy_tensor.h"
#include "tests/engine/golden_signature.h"
#include "tests/golden_cases.h"

namespace affsig::engine {
namespace {

using ::testing::HasSubstr;

class SignatureEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto model = SignatureModel::Load(testing::SharedGoldenDir() + "/visible_net.pt",
                                      {testing::TestDevice()});
    ASSERT_TRUE(model.ok()) << model.status();
    visible_net_ = model->release();
    auto batch = ReadNpyTensor(testing::SharedGoldenDir() + "/visible_net.input.npy");
    ASSERT_TRUE(batch.ok());
    visible_input_ = new at::Tensor(*batch);
  }
  static void TearDownTestSuite() {
    delete visible_net_;
    delete visible_input_;
  }

  static SignatureModel* visible_net_;
  static at::Tensor* visible_input_;
};

SignatureModel* SignatureEngineTest::visible_net_ = nullptr;
at::Tensor* SignatureEngineTest::visible_input_ = nullptr;

TEST_F(SignatureEngineTest, MatchesSharedGoldenModels) {
  ExpectMatchesGoldenSet(testing::SharedGoldenDir());
}

TEST_F(SignatureEngineTest, MatchesCommittedGoldenFixtures) {
  ExpectMatchesGoldenSet(testing::CommittedFixtureDir());
}

TEST_F(SignatureEngineTest, MatchesGeneratedTorchvisionFixtures) {
  ExpectMatchesGoldenSet(testing::GeneratedFixtureDir());
}

TEST_F(SignatureEngineTest, ReportsProgressUntilEveryEntryIsScored) {
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<SignatureProgress> progress;
    SignatureCallbacks callbacks;
    callbacks.on_progress = [&](const SignatureProgress& p) { progress.push_back(p); };
    auto signature = visible_net_->Compute(*visible_input_, {}, callbacks);
    ASSERT_TRUE(signature.ok());
    const auto total = static_cast<int64_t>(signature->size());
    ASSERT_FALSE(progress.empty());
    for (size_t i = 0; i < progress.size(); ++i) {
      if (i > 0) EXPECT_GE(progress[i].scored, progress[i - 1].scored);
      // A total of 0 is not known yet: only during the model's first forward pass.
      if (progress[i].total == 0) EXPECT_EQ(pass, 0);
      if (progress[i].total != 0) EXPECT_LE(progress[i].scored, progress[i].total);
    }
    EXPECT_EQ(progress.back().scored, total);
    EXPECT_EQ(progress.back().total, total);
    // After the first forward pass, every report knows the total.
    if (pass == 1) {
      for (const SignatureProgress& p : progress) EXPECT_EQ(p.total, total);
    }
  }
}

TEST_F(SignatureEngineTest, StopsAtTheNextActivationWhenAsked) {
  int asked = 0;
  SignatureCallbacks callbacks;
  callbacks.should_stop = [&] { return ++asked > 2; };
  auto signature = visible_net_->Compute(*visible_input_, {}, callbacks);
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(asked, 3);
  // The model stays usable.
  EXPECT_TRUE(visible_net_->Compute(*visible_input_, {}).ok());
}

TEST_F(SignatureEngineTest, ScoresTheSameWhetherScoredBesideTheForwardOrAfterIt) {
  // The pool's threads score on one intra-op thread: the same algorithm, BLAS sums split
  // differently, so equal to rounding.
  const std::string path = testing::GeneratedFixtureDir() + "/resnet18.pt";
  at::manual_seed(3);
  const at::Tensor batch = at::randn({16, 3, 64, 64});
  Signature by_threads[2];
  for (int scoring_threads : {0, 3}) {
    DeviceOptions device{testing::TestDevice()};
    device.scoring_threads = scoring_threads;
    auto model = SignatureModel::Load(path, device);
    ASSERT_TRUE(model.ok()) << model.status();
    auto signature = (*model)->Compute(batch, {ActivationMode::kAll});
    ASSERT_TRUE(signature.ok()) << signature.status();
    by_threads[scoring_threads > 0] = *std::move(signature);
  }
  ASSERT_EQ(by_threads[0].size(), by_threads[1].size());
  ASSERT_GT(by_threads[0].size(), 10u);
  for (size_t i = 0; i < by_threads[0].size(); ++i) {
    const SignatureEntry& after = by_threads[0][i];
    const SignatureEntry& beside = by_threads[1][i];
    EXPECT_EQ(beside.index, static_cast<int64_t>(i));
    EXPECT_EQ(beside.module, after.module);
    EXPECT_EQ(beside.call, after.call);
    EXPECT_EQ(beside.status, after.status);
    EXPECT_NEAR(beside.score, after.score, 1e-9) << after.module;
  }
}

TEST_F(SignatureEngineTest, KeepsEntriesWithTooFewSamples) {
  auto signature = visible_net_->Compute(visible_input_->slice(0, 0, 1), {});
  ASSERT_TRUE(signature.ok()) << signature.status();
  ASSERT_EQ(signature->size(), 3u);
  for (const SignatureEntry& entry : *signature) {
    EXPECT_EQ(entry.status, EntryStatus::kTooFewSamples);
    EXPECT_EQ(entry.n, 1);
    EXPECT_THAT(entry.reason, HasSubstr("at least 2 samples"));
  }
}

TEST_F(SignatureEngineTest, KeepsEntriesWithNonFiniteActivations) {
  at::Tensor batch = visible_input_->clone();
  batch[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  auto signature = visible_net_->Compute(batch, {});
  ASSERT_TRUE(signature.ok()) << signature.status();
  ASSERT_EQ(signature->size(), 3u);
  EXPECT_EQ((*signature)[0].status, EntryStatus::kNonFinite);
  EXPECT_THAT((*signature)[0].reason, HasSubstr("NaN or Inf"));
}

TEST_F(SignatureEngineTest, WrongInputShapeFailsWithTheModelsMessage) {
  auto signature = visible_net_->Compute(at::randn({4, 7}), {});
  ASSERT_FALSE(signature.ok());
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(signature.status().message());
  EXPECT_THAT(message, HasSubstr("forward failed"));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// The signature of a service fixture model through both forward paths, and why the optimized one
// was not taken.
struct BothPaths {
  Signature optimized;
  Signature unoptimized;
  std::string reason;
};

BothPaths ComputeBothWays(const std::string& fixture, const at::Tensor& batch,
                          ActivationMode mode) {
  BothPaths both;
  for (bool optimize : {true, false}) {
    auto model = SignatureModel::Load(testing::ServiceFixtureDir() + "/" + fixture,
                                      {testing::TestDevice()}, {optimize});
    EXPECT_TRUE(model.ok()) << model.status();
    if (!model.ok()) return both;
    auto signature = (*model)->Compute(batch, {mode});
    EXPECT_TRUE(signature.ok()) << signature.status();
    if (!signature.ok()) return both;
    auto outputs = (*model)->Forward(batch);
    EXPECT_TRUE(outputs.ok()) << outputs.status();
    (optimize ? both.optimized : both.unoptimized) = *std::move(signature);
    if (optimize) both.reason = (*model)->unoptimized_reason();
  }
  return both;
}

void ExpectSameScores(const Signature& actual, const Signature& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].module, expected[i].module);
    EXPECT_EQ(actual[i].status, expected[i].status);
    EXPECT_DOUBLE_EQ(actual[i].score, expected[i].score) << actual[i].module;
  }
}

TEST(OptimizedForwardTest, AModelLibTorchCannotFreezeGetsItsSignatureUnoptimizedAndSaysWhy) {
  at::manual_seed(0);
  const BothPaths both =
      ComputeBothWays("unfreezable.pt", at::randn({8, 16}), ActivationMode::kModules);
  EXPECT_THAT(both.reason, HasSubstr("cannot freeze"));
  EXPECT_THAT(both.reason, HasSubstr("ModuleContainerIndex"));
  EXPECT_EQ(both.reason.find('\n'), std::string::npos) << both.reason;
  EXPECT_EQ(both.optimized.size(), 2u);
  ExpectSameScores(both.optimized, both.unoptimized);
}

TEST(OptimizedForwardTest, AModelWhoseOptimizedForwardFailsGetsItsSignatureUnoptimized) {
  at::manual_seed(0);
  const BothPaths both =
      ComputeBothWays("view_after_conv.pt", at::randn({6, 3, 8, 8}), ActivationMode::kModules);
  EXPECT_THAT(both.reason, HasSubstr("the optimized forward failed"));
  EXPECT_THAT(both.reason, HasSubstr("view"));
  EXPECT_EQ(both.optimized.size(), 1u);
  ExpectSameScores(both.optimized, both.unoptimized);
}

TEST(OptimizedForwardTest, AnInputAtFaultFailsWithoutGivingUpTheOptimizedForward) {
  auto model = SignatureModel::Load(testing::SharedGoldenDir() + "/visible_net.pt",
                                    {testing::TestDevice()}, {/*optimize=*/true});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->Compute(at::randn({4, 7}), {}).ok());
  EXPECT_FALSE((*model)->Forward(at::randn({4, 7})).ok());
  EXPECT_EQ((*model)->unoptimized_reason(), "");
}

TEST(OptimizedForwardTest, AModelIsReusableOnlyWhenItsOptimizedForwardKeepsNoState) {
  auto load = [](const std::string& path, bool optimize) {
    auto model = SignatureModel::Load(path, {testing::TestDevice()}, {optimize});
    EXPECT_TRUE(model.ok()) << model.status();
    return *std::move(model);
  };
  const std::string visible = testing::SharedGoldenDir() + "/visible_net.pt";
  auto read = ReadNpyTensor(testing::SharedGoldenDir() + "/visible_net.input.npy");
  ASSERT_TRUE(read.ok()) << read.status();
  const at::Tensor input = *read;
  auto optimized = load(visible, true);
  EXPECT_FALSE(optimized->reusable()) << "reusable before any forward pass";
  ASSERT_TRUE(optimized->Compute(input, {}).ok());
  EXPECT_TRUE(optimized->reusable());

  auto unoptimized = load(visible, false);
  ASSERT_TRUE(unoptimized->Compute(input, {}).ok());
  EXPECT_FALSE(unoptimized->reusable());

  // Its forward increments a buffer in place: frozen, but the buffer stays an attribute, and
  // each run computes something else.
  auto counting = load(testing::ServiceFixtureDir() + "/counting.pt", true);
  at::manual_seed(0);
  const at::Tensor samples = at::randn({8, 16});
  auto first = counting->Compute(samples, {});
  auto second = counting->Compute(samples, {});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(counting->unoptimized_reason(), "");
  EXPECT_FALSE(counting->reusable());
  EXPECT_NE((*first)[0].score, (*second)[0].score);
}

TEST(SignatureModelLoadTest, ExplainsFilesThatAreNotModels) {
  const std::string dir = ::testing::TempDir();
  const std::string empty = dir + "/empty.pt";
  std::ofstream(empty).close();
  const std::string garbage = dir + "/garbage.pt";
  std::ofstream(garbage) << "this is not a TorchScript archive";
  const std::string truncated = dir + "/truncated.pt";
  {
    std::ifstream in(testing::SharedGoldenDir() + "/visible_net.pt", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  EXPECT_EQ(SignatureModel::Load(dir + "/missing.pt", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(SignatureModel::Load(empty, {}).status().message(), HasSubstr("is empty"));
  for (const std::string& path : {garbage, truncated}) {
    auto model = SignatureModel::Load(path, {});
    EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(model.status().message(), HasSubstr("not a loadable TorchScript model"));
    EXPECT_EQ(model.status().message().find('\n'), absl::string_view::npos);
  }
  EXPECT_THAT(SignatureModel::Load(empty, {"tpu:3"}).status().message(), HasSubstr("tpu:3"));
}

}  // namespace
}  // namespace affsig::engine
