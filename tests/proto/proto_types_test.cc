#include "proto/proto_types.h"

#include <gtest/gtest.h>

#include "common/error_reason.h"

namespace affsig {
namespace {

TEST(ProtoTypesTest, AnUploadOrASourceWithItsOptionsGoesThereAndBack) {
  v1::DataOptions options;
  options.set_batch_size(32);
  options.set_shuffle_seed(5);
  options.set_resize(0);
  options.add_mean(0.5);
  options.add_std(0.25);
  auto source = DataSpecFromProto("", "random:3x8x8,count=100,seed=1", options);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ(source->kind, DataKind::kRandom);
  EXPECT_EQ(source->random.count, 100);
  EXPECT_EQ(source->batching.batch_size, 32);
  EXPECT_EQ(*source->batching.shuffle_seed, 5u);
  EXPECT_EQ(*source->preprocessing.resize, 0);
  EXPECT_FALSE(source->preprocessing.crop.has_value());  // unset: the server's default applies
  std::string input, data_source;
  v1::DataOptions back;
  DataSpecToProto(*source, &input, &data_source, &back);
  EXPECT_EQ(input, "");
  EXPECT_EQ(data_source, "random:3x8x8,count=100,seed=1,mean=0,std=1");
  EXPECT_EQ(back.SerializeAsString(), options.SerializeAsString());

  const std::string sha(64, 'a');
  auto upload = DataSpecFromProto(sha, "", {});
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(upload->kind, DataKind::kUpload);
  EXPECT_EQ(upload->location, sha);
  input.clear();
  data_source.clear();
  DataSpecToProto(*upload, &input, &data_source, &back);
  EXPECT_EQ(input, sha);
  EXPECT_EQ(data_source, "");

  for (const auto& [given_input, given_source] :
       {std::pair<std::string, std::string>{"", ""}, {sha, "random:4,count=2"}, {"", "tape:x"}}) {
    auto refused = DataSpecFromProto(given_input, given_source, {});
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ErrorReason(refused.status()), reason::kInvalidDataSource);
  }
}

TEST(ProtoTypesTest, EntriesKeepTheirScoresAndTheUnscoredTheirReasons) {
  SignatureEntry scored{3, "layer1.relu", 1, "ReLU", 64, 32, 0.75, EntryStatus::kOk, ""};
  scored.batches = 2;
  scored.score_std = 0.05;
  scored.score_min = 0.7;
  scored.score_max = 0.8;
  scored.batch_scores = {0.7, 0.8};
  v1::SignatureEntry proto;
  EntryToProto(scored, &proto);
  EXPECT_TRUE(proto.has_score());
  const SignatureEntry back = EntryFromProto(proto);
  EXPECT_EQ(back.index, 3);
  EXPECT_EQ(back.module, "layer1.relu");
  EXPECT_EQ(back.call, 1);
  EXPECT_DOUBLE_EQ(back.score, 0.75);
  EXPECT_DOUBLE_EQ(back.score_std, 0.05);
  EXPECT_EQ(back.batch_scores, scored.batch_scores);

  const SignatureEntry unscored{0, "glu", 0, "GLU", 64, 32, 0.0, EntryStatus::kDimMismatch,
                                "input reduces to 64 x 32 but output to 64 x 16"};
  v1::SignatureEntry unscored_proto;
  EntryToProto(unscored, &unscored_proto);
  EXPECT_FALSE(unscored_proto.has_score());
  EXPECT_EQ(unscored_proto.status(), "dim_mismatch");
  EXPECT_EQ(EntryFromProto(unscored_proto).status, EntryStatus::kDimMismatch);
  EXPECT_EQ(EntryFromProto(unscored_proto).reason, unscored.reason);
  EXPECT_EQ(ActivationModeFromProto(ActivationModeToProto(ActivationMode::kAll)),
            ActivationMode::kAll);
}

TEST(ProtoTypesTest, EveryMeasureHasItsFieldsAndASelectionItsNames) {
  SignatureEntry entry{0, "relu", 0, "ReLU", 8, 16, 0.5, EntryStatus::kOk, ""};
  for (Measure measure : SelectedMeasures(MeasureSelection::All())) {
    const double value = 0.125 * (static_cast<int>(measure) + 1);
    entry.measures.push_back({measure, value, value / 4});
  }
  ASSERT_EQ(entry.measures.size(), static_cast<size_t>(kMeasureCount));
  v1::SignatureEntry proto;
  EntryToProto(entry, &proto);
  EXPECT_EQ(proto.cka(), 0.25);
  EXPECT_EQ(proto.r2_std(), 1.0 / 4);
  const SignatureEntry back = EntryFromProto(proto);
  ASSERT_EQ(back.measures.size(), entry.measures.size());
  for (size_t i = 0; i < entry.measures.size(); ++i) {
    EXPECT_EQ(back.measures[i].measure, entry.measures[i].measure);
    EXPECT_EQ(back.measures[i].mean, entry.measures[i].mean);
    EXPECT_EQ(back.measures[i].std, entry.measures[i].std);
  }
  // A job without measures: none set, none read back.
  v1::SignatureEntry plain;
  EntryToProto({0, "relu", 0, "ReLU", 8, 16, 0.5, EntryStatus::kOk, ""}, &plain);
  EXPECT_FALSE(plain.has_cka());
  EXPECT_TRUE(EntryFromProto(plain).measures.empty());

  google::protobuf::RepeatedPtrField<std::string> names;
  names.Add("r2");
  names.Add("sparsity");
  auto selection = MeasureSelectionFromProto(names);
  ASSERT_TRUE(selection.ok());
  EXPECT_TRUE(selection->r2 && selection->sparsity && !selection->cka);
  google::protobuf::RepeatedPtrField<std::string> canonical;
  MeasureSelectionToProto(*selection, &canonical);
  EXPECT_EQ(std::vector<std::string>(canonical.begin(), canonical.end()),
            (std::vector<std::string>{"sparsity", "r2"}));
  names.Add("kurtosis");
  EXPECT_EQ(ErrorReason(MeasureSelectionFromProto(names).status()), reason::kInvalidMeasures);
}

}  // namespace
}  // namespace affsig
