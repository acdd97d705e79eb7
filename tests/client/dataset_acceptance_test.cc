// The datasets issue's acceptance run, through the command-line client against the real server:
// resnet18 (random weights) on a generated folder of 1 000 JPEG images in 4 batches of 250 gives
// every entry its mean and spread over the batches. Slow (label "slow").
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/api/server_process.h"
#include "tests/golden_cases.h"
#include "tests/progress_lines.h"
#include "tests/scratch_dir.h"
#include "tests/subprocess.h"

namespace affsig::client {
namespace {

TEST(DatasetAcceptanceTest, Resnet18OnAThousandImagesInFourBatchesOf250) {
  const std::filesystem::path dir = testing::FreshScratchDir();
  const std::string images = (dir / "images").string();
  const testing::ProcessResult made =
      testing::RunProcess({AFFSIG_PYTHON, AFFSIG_SOURCE_DIR "/bench/make_image_folder.py",
                           "--count", "1000", "--out", images});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto server = testing::ServerProcess::Start(
      {"--db=" + (dir / "affsig.db").string(), "--data-dir=" + (dir / "data").string(),
       "--devices=cpu", "--threads=0", "--data-root=" + images});
  ASSERT_TRUE(server.ok()) << server.status();

  const testing::ProcessResult run = testing::RunProcess(
      {AFFSIG_CLIENT_BINARY, "submit", "--server=" + server->address(),
       "--model=" + testing::GeneratedFixtureDir() + "/resnet18.pt", "--data=imagefolder:" + images,
       "--batch-size=250", "--batches=4", "--label=arch=resnet18", "--wait", "--format=json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  google::protobuf::Struct result;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &result).ok()) << run.out;
  EXPECT_EQ(result.fields().at("state").string_value(), "SUCCEEDED");
  const auto& options = result.fields().at("data_options").struct_value().fields();
  EXPECT_EQ(options.at("resize").number_value(), 256);  // ImageClassification's defaults
  EXPECT_EQ(options.at("crop").number_value(), 224);
  const auto& entries = result.fields().at("signature").list_value().values();
  ASSERT_GE(entries.size(), 9);  // resnet18's ReLU module calls
  for (const auto& value : entries) {
    const auto& entry = value.struct_value().fields();
    EXPECT_EQ(entry.at("status").string_value(), "ok");
    EXPECT_EQ(entry.at("batches").number_value(), 4);
    EXPECT_EQ(entry.at("n").number_value(), 250);
    EXPECT_EQ(entry.at("batch_scores").list_value().values_size(), 4);
    const double score = entry.at("score").number_value();
    EXPECT_GT(score, 0.0);
    EXPECT_LE(score, 1.0);
    EXPECT_GE(entry.at("std").number_value(), 0.0);
    EXPECT_LE(entry.at("min").number_value(), score);
    EXPECT_GE(entry.at("max").number_value(), score);
  }
  testing::ExpectProgressLinesEndIn(run.err, "SUCCEEDED");
}

}  // namespace
}  // namespace affsig::client
