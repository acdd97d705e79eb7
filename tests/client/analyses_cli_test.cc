// The paper's analyses end to end through the `affsig` command line, on a real server with real
// workers: six torchvision architectures (random weights, small random images) → their stored
// statistics → compare → cluster → correlate with a label, and the same answers after a restart.
// The numbers themselves are checked against SciPy and independent references in
// tests/analysis/; here, that every layer carries them faithfully.
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/api/server_process.h"
#include "tests/scratch_dir.h"
#include "tests/subprocess.h"

namespace affsig::client {
namespace {

using ::google::protobuf::ListValue;
using ::google::protobuf::Struct;
using ::testing::HasSubstr;

const std::vector<std::string> kArchitectures = {"resnet18",           "mobilenet_v2",
                                                 "mobilenet_v3_small", "shufflenet_v2_x0_5",
                                                 "mnasnet0_5",         "squeezenet1_1"};

Struct ParseObject(const std::string& json) {
  Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &object).ok()) << json;
  return object;
}

std::vector<std::vector<double>> Matrix(const Struct& object) {
  std::vector<std::vector<double>> matrix;
  for (const auto& row : object.fields().at("matrix").list_value().values()) {
    std::vector<double>& out = matrix.emplace_back();
    for (const auto& value : row.list_value().values()) out.push_back(value.number_value());
  }
  return matrix;
}

std::vector<std::string> Strings(const ListValue& list) {
  std::vector<std::string> strings;
  for (const auto& value : list.values()) strings.push_back(value.string_value());
  return strings;
}

// tslearn's dtw, written out plainly: the square root of the cheapest warping path's sum of
// squared differences.
double ReferenceDtw(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<double>> cost(n + 1, std::vector<double>(m + 1, INFINITY));
  cost[0][0] = 0.0;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const double d = (a[i - 1] - b[j - 1]) * (a[i - 1] - b[j - 1]);
      cost[i][j] = d + std::min({cost[i - 1][j], cost[i][j - 1], cost[i - 1][j - 1]});
    }
  }
  return std::sqrt(cost[n][m]);
}

class AnalysesCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshScratchDir();
    StartServer();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartServer() {
    auto server = testing::ServerProcess::Start({"--db=" + (dir_ / "affsig.db").string(),
                                                 "--data-dir=" + (dir_ / "data").string(),
                                                 "--devices=cpu,cpu"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<testing::ServerProcess>(*std::move(server));
  }

  testing::ProcessResult Affsig(std::vector<std::string> args) {
    args.insert(args.begin(), AFFSIG_CLIENT_BINARY);
    args.push_back("--server=" + server_->address());
    return testing::RunProcess(args);
  }

  std::string Submit(const std::string& arch, double acc1, const std::string& family) {
    const auto run = Affsig({"submit", "--model=" + std::string(AFFSIG_ARCHITECTURE_DIR) + "/" +
                                           arch + ".pt",
                             "--data=random:3x64x64,count=16,seed=1", "--name=" + arch,
                             "--label=suite=six", "--label=acc1=" + std::to_string(acc1),
                             "--label=family=" + family});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::vector<std::string> lines = absl::StrSplit(absl::StripSuffix(run.out, "\n"), '\n');
    return lines.back();
  }

  std::filesystem::path dir_;
  std::unique_ptr<testing::ServerProcess> server_;
};

TEST_F(AnalysesCliTest, SixArchitecturesCompareClusterAndCorrelateAlikeBeforeAndAfterARestart) {
  std::vector<std::string> jobs;
  for (size_t i = 0; i < kArchitectures.size(); ++i) {
    // A made-up accuracy; "family" puts the mobile networks in a group of their own.
    const std::string family = i >= 1 && i <= 4 ? "mobile" : "other";
    jobs.push_back(Submit(kArchitectures[i], 50.0 + 3.0 * static_cast<double>(i * i % 5), family));
  }
  // Each job's scores (the JSON result) and its stored statistics.
  std::vector<std::vector<double>> scores;
  for (const std::string& job : jobs) {
    const auto result = Affsig({"result", job, "--wait", "--format=json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const Struct object = ParseObject(result.out);
    std::vector<double>& job_scores = scores.emplace_back();
    for (const auto& entry : object.fields().at("signature").list_value().values()) {
      if (entry.struct_value().fields().at("status").string_value() == "ok") {
        job_scores.push_back(entry.struct_value().fields().at("score").number_value());
      }
    }
    ASSERT_GE(job_scores.size(), 10u);
    const auto& summary = object.fields().at("summary").struct_value().fields();
    EXPECT_EQ(summary.at("scored").number_value(), static_cast<double>(job_scores.size()));
    const double mean =
        std::accumulate(job_scores.begin(), job_scores.end(), 0.0) / job_scores.size();
    EXPECT_NEAR(summary.at("mean").number_value(), mean, 1e-12);
    EXPECT_EQ(summary.at("min").number_value(),
              *std::min_element(job_scores.begin(), job_scores.end()));
    EXPECT_EQ(summary.at("max").number_value(),
              *std::max_element(job_scores.begin(), job_scores.end()));
  }
  const auto listed = Affsig({"list", "--label=suite=six", "--stats", "--format=csv"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("scored,mean,median,std,min,max,range,lowest_depth"));

  // The matrix over the label, newest first, and over the jobs named, in their order.
  const auto by_label = Affsig({"compare", "--label=suite=six", "--format=json"});
  ASSERT_EQ(by_label.exit_code, 0) << by_label.err;
  const Struct labelled = ParseObject(by_label.out);
  std::vector<std::string> newest_first(jobs.rbegin(), jobs.rend());
  EXPECT_EQ(Strings(labelled.fields().at("job_ids").list_value()), newest_first);
  EXPECT_EQ(labelled.fields().at("distance").string_value(), "dtw");
  std::vector<std::string> compare_args = {"compare"};
  compare_args.insert(compare_args.end(), jobs.begin(), jobs.end());
  compare_args.push_back("--format=json");
  const auto named = Affsig(compare_args);
  ASSERT_EQ(named.exit_code, 0) << named.err;
  const auto matrix = Matrix(ParseObject(named.out));
  ASSERT_EQ(matrix.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    ASSERT_EQ(matrix[i].size(), jobs.size());
    EXPECT_EQ(matrix[i][i], 0.0);
    for (size_t j = 0; j < jobs.size(); ++j) {
      EXPECT_EQ(matrix[i][j], matrix[j][i]);
      EXPECT_NEAR(matrix[i][j], ReferenceDtw(scores[i], scores[j]), 1e-9) << i << " " << j;
      if (i != j) EXPECT_GT(matrix[i][j], 0.0);
    }
  }

  // Euclidean needs one length: refused with both lengths named, unless resampled.
  const auto unequal = Affsig({"compare", "--label=suite=six", "--distance=euclidean"});
  EXPECT_EQ(unequal.exit_code, 2);
  EXPECT_THAT(unequal.err, HasSubstr("--resample"));
  EXPECT_EQ(std::count(unequal.err.begin(), unequal.err.end(), '\n'), 1) << unequal.err;
  const auto resampled =
      Affsig({"compare", "--label=suite=six", "--distance=correlation", "--resample=50"});
  ASSERT_EQ(resampled.exit_code, 0) << resampled.err;

  const std::vector<std::string> cluster_args = {"cluster", "--label=suite=six", "--k=2",
                                                 "--format=json"};
  const auto clustered = Affsig(cluster_args);
  ASSERT_EQ(clustered.exit_code, 0) << clustered.err;
  const Struct clustering = ParseObject(clustered.out);
  EXPECT_EQ(clustering.fields().at("linkage").list_value().values_size(), 5);
  const auto& labels = clustering.fields().at("labels").list_value().values();
  ASSERT_EQ(labels.size(), 6);
  for (const auto& label : labels) {
    EXPECT_GE(label.number_value(), 1);
    EXPECT_LE(label.number_value(), 2);
  }
  const auto dendrogram = Affsig({"cluster", "--label=suite=six", "--k=2"});
  ASSERT_EQ(dendrogram.exit_code, 0) << dendrogram.err;
  for (const std::string& arch : kArchitectures) EXPECT_THAT(dendrogram.out, HasSubstr(arch));

  const std::vector<std::string> correlate_args = {"correlate", "--label=acc1",
                                                   "--group-by=family", "--format=json"};
  const auto correlated = Affsig(correlate_args);
  ASSERT_EQ(correlated.exit_code, 0) << correlated.err;
  const Struct correlation = ParseObject(correlated.out);
  const auto& groups = correlation.fields().at("groups").list_value().values();
  ASSERT_EQ(groups.size(), 2);
  const auto& mobile = groups[0].struct_value().fields();
  EXPECT_EQ(mobile.at("group").string_value(), "mobile");
  EXPECT_EQ(mobile.at("n").number_value(), 4);
  EXPECT_LE(std::abs(mobile.at("pearson_r").number_value()), 1.0);
  // Two jobs are too few for a p-value: the group says so instead of failing the request.
  const auto& other = groups[1].struct_value().fields();
  EXPECT_EQ(other.at("n").number_value(), 2);
  EXPECT_TRUE(other.at("pearson_r").has_null_value());
  EXPECT_THAT(other.at("reason").string_value(), HasSubstr("3"));

  ASSERT_EQ(server_->Stop(SIGTERM), 0);
  StartServer();
  EXPECT_EQ(Affsig({"compare", "--label=suite=six", "--format=json"}).out, by_label.out);
  EXPECT_EQ(Affsig(cluster_args).out, clustered.out);
  EXPECT_EQ(Affsig(correlate_args).out, correlated.out);
}

TEST_F(AnalysesCliTest, AnalysesOfJobsWithoutSignaturesOrOfTooFewSayWhatIsWrong) {
  const auto none = Affsig({"compare", "--label=suite=none"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("at least 2 signatures; 0 selected"));
  const auto unknown = Affsig({"compare", "job-000000000000000000000000", "job-1"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("job-000000000000000000000000"));
  const auto both = Affsig({"cluster", "--label=a=b", "--k=2", "--threshold=1"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("not both"));
  const auto bad = Affsig({"compare", "--label=a=b", "--distance=manhattan"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("dtw, euclidean or correlation"));
  const auto correlate = Affsig({"correlate", "--label=acc1"});
  EXPECT_EQ(correlate.exit_code, 2);
  EXPECT_THAT(correlate.err, HasSubstr("acc1"));
}

}  // namespace
}  // namespace affsig::client
