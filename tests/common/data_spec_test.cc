#include "common/data_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/batch_statistics.h"

namespace affsig {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(DataSpecTest, ParsesAndFormatsEverySourceKind) {
  auto random = ParseDataSource("random:3x224x224,count=512,seed=7,std=2");
  ASSERT_TRUE(random.ok()) << random.status();
  EXPECT_EQ(random->kind, DataKind::kRandom);
  EXPECT_THAT(random->random.shape, ElementsAre(3, 224, 224));
  EXPECT_EQ(random->random.count, 512);
  EXPECT_EQ(random->random.seed, 7u);
  EXPECT_EQ(random->random.std, 2.0);
  EXPECT_EQ(FormatDataSource(*random), "random:3x224x224,count=512,seed=7,mean=0,std=2");
  EXPECT_EQ(FormatDataSource(*ParseDataSource(FormatDataSource(*random))),
            FormatDataSource(*random));
  for (const char* text : {"server:/data/a,b.npy", "imagefolder:/data/val", "cifar10:/d/c",
                           "cifar100:/d/c", "mnist:/d/m"}) {
    auto spec = ParseDataSource(text);
    ASSERT_TRUE(spec.ok()) << text;
    EXPECT_EQ(FormatDataSource(*spec), text);  // paths keep their commas
  }
  EXPECT_TRUE(IsImageSource(ParseDataSource("mnist:/m")->kind));
  EXPECT_FALSE(IsImageSource(ParseDataSource("server:/x.npy")->kind));
}

TEST(DataSpecTest, RefusesWhatItCannotMeanWithTheReason) {
  for (const auto& [text, message] : std::vector<std::pair<const char*, const char*>>{
           {"imagenet", "KIND:LOCATION"},
           {"tape:/x", "unknown data source kind 'tape'"},
           {"server:", "a location is needed"},
           {"random:3x0x4,count=2", "sizes joined by 'x'"},
           {"random:3x4x4", "count=N is needed"},
           {"random:3x4,count=-1", "count must be positive"},
           {"random:3x4,count=2,colour=red", "unknown option 'colour'"},
       }) {
    EXPECT_THAT(ParseDataSource(text).status().message(), HasSubstr(message)) << text;
  }
  for (const auto& [text, message] : std::vector<std::pair<const char*, const char*>>{
           {"batch_size=-2", "0 or more"},
           {"mean=0.5/0.5", "same number"},
           {"std=1/0/1,mean=0/0/0", "positive"},
           {"speed=fast", "unknown data option"},
       }) {
    DataSpec spec;
    EXPECT_THAT(ParseDataOptions(text, spec).message(), HasSubstr(message)) << text;
  }
  // Options given as values (the API's typed fields) are checked the same way.
  DataSpec typed;
  typed.preprocessing.crop = -1;
  EXPECT_THAT(CheckDataOptions(typed).message(), HasSubstr("crop must be 0 or more"));
}

TEST(DataSpecTest, ImageSourcesDefaultToImageClassificationAndOptionsRoundTrip) {
  DataSpec images = *ParseDataSource("imagefolder:/val");
  ASSERT_TRUE(ParseDataOptions("batch_size=250,batches=4,shuffle_seed=3,crop=0", images).ok());
  ApplyDataDefaults(images);
  EXPECT_EQ(images.preprocessing.resize, 256);
  EXPECT_EQ(images.preprocessing.crop, 0);  // turned off on purpose: stays off
  EXPECT_EQ(images.preprocessing.mean, ImageNetMean());
  const std::string options = FormatDataOptions(images);
  EXPECT_EQ(options,
            "batch_size=250,batches=4,shuffle_seed=3,resize=256,crop=0,mean=0.485/0.456/0.406,"
            "std=0.229/0.224/0.225");
  DataSpec again;
  ASSERT_TRUE(ParseDataOptions(options, again).ok());
  EXPECT_EQ(FormatDataOptions(again), options);

  DataSpec tensors = *ParseDataSource("server:/x.npy");
  ApplyDataDefaults(tensors);
  EXPECT_EQ(FormatDataOptions(tensors), "resize=0,crop=0");
}

SignatureEntry Entry(double score, EntryStatus status = EntryStatus::kOk) {
  SignatureEntry entry;
  entry.module = "relu";
  entry.op = "ReLU";
  entry.score = score;
  entry.status = status;
  if (status != EntryStatus::kOk) entry.reason = "the output holds NaN";
  return entry;
}

TEST(BatchStatisticsTest, MeanPopulationStdMinMaxOverTheScoredBatches) {
  auto combined =
      CombineBatches({{Entry(0.5), Entry(0.0, EntryStatus::kNonFinite)},
                      {Entry(0.7), Entry(0.0, EntryStatus::kNonFinite)},
                      {Entry(0.0, EntryStatus::kNonFinite), Entry(0.0, EntryStatus::kNonFinite)}});
  ASSERT_TRUE(combined.ok()) << combined.status();
  const SignatureEntry& first = (*combined)[0];
  EXPECT_EQ(first.status, EntryStatus::kOk);
  EXPECT_EQ(first.batches, 2);
  EXPECT_NEAR(first.score, 0.6, 1e-15);
  EXPECT_NEAR(first.score_std, 0.1, 1e-15);  // NumPy's np.std: divides by the count
  EXPECT_EQ(first.score_min, 0.5);
  EXPECT_EQ(first.score_max, 0.7);
  ASSERT_EQ(first.batch_scores.size(), 3u);
  EXPECT_TRUE(std::isnan(first.batch_scores[2]));
  const SignatureEntry& never = (*combined)[1];
  EXPECT_EQ(never.status, EntryStatus::kNonFinite);
  EXPECT_EQ(never.batches, 0);
  EXPECT_EQ(never.reason, "the output holds NaN");

  auto single = CombineBatches({{Entry(0.25)}});
  EXPECT_EQ((*single)[0].score_std, 0.0);
  EXPECT_EQ((*single)[0].score_min, 0.25);
  EXPECT_THAT(CombineBatches({{Entry(0.5)}, {Entry(0.5), Entry(0.5)}}).status().message(),
              HasSubstr("batch 2's forward pass called other activations"));
  EXPECT_FALSE(CombineBatches({}).ok());
}

TEST(BatchStatisticsTest, MeasuresOverTheBatchesInWhichTheyWereDefined) {
  const double nan = std::nan("");
  auto measured = [](double score, double cka, double norm) {
    SignatureEntry entry = Entry(score);
    entry.measures = {{Measure::kCka, cka, 0.0}, {Measure::kNorm, norm, 0.0}};
    return entry;
  };
  auto combined = CombineBatches({{measured(0.5, 0.2, nan)},
                                  {Entry(0.0, EntryStatus::kNonFinite)},
                                  {measured(0.7, 0.4, nan)},
                                  {measured(0.6, nan, nan)}});
  ASSERT_TRUE(combined.ok()) << combined.status();
  const std::vector<MeasureValue>& measures = (*combined)[0].measures;
  ASSERT_EQ(measures.size(), 2u);
  EXPECT_EQ(measures[0].measure, Measure::kCka);
  EXPECT_NEAR(measures[0].mean, 0.3, 1e-15);  // the batches where it was defined
  EXPECT_NEAR(measures[0].std, 0.1, 1e-15);
  EXPECT_EQ(measures[1].measure, Measure::kNorm);
  EXPECT_TRUE(std::isnan(measures[1].mean));  // defined in no batch
  EXPECT_TRUE(std::isnan(measures[1].std));
  // A job without measures gets none, and an entry never scored neither.
  auto plain = CombineBatches({{Entry(0.0, EntryStatus::kNonFinite)}, {Entry(0.5)}});
  EXPECT_TRUE((*plain)[0].measures.empty());
  auto unscored = CombineBatches({{Entry(0.0, EntryStatus::kNonFinite)}});
  EXPECT_TRUE((*unscored)[0].measures.empty());
}

}  // namespace
}  // namespace affsig
