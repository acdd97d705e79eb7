// The `affsig` command line as scripts use it, against the real server: the contract of the
// client's issue (flags, JSON fields, the job id as the last line, stdout for results only, exit
// codes, one-line errors).
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/npy.h"
#include "tests/api/server_process.h"
#include "tests/golden_cases.h"
#include "tests/progress_lines.h"
#include "tests/scratch_dir.h"
#include "tests/subprocess.h"

namespace affsig::client {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Struct ParseObject(const std::string& json) {
  Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &object).ok()) << json;
  return object;
}

std::string LastLine(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(absl::StripSuffix(text, "\n"), '\n');
  return lines.back();
}

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

class AffsigCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(testing::FreshScratchDir());
    std::filesystem::create_directories(*dir_ / "root");
    auto server = testing::ServerProcess::Start(
        {"--db=" + (*dir_ / "affsig.db").string(), "--data-dir=" + (*dir_ / "data").string(),
         "--devices=cpu", "--max-upload-mb=1", "--data-root=" + (*dir_ / "root").string()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = new testing::ServerProcess(*std::move(server));
    auto golden = testing::ReadGoldenSet(testing::CommittedFixtureDir());
    ASSERT_TRUE(golden.ok()) << golden.status();
    for (const testing::GoldenModel& model : golden->models) {
      if (model.name == "cnn_reused_relu_scripted/all") golden_ = new testing::GoldenModel(model);
    }
    ASSERT_NE(golden_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete golden_;
    std::filesystem::remove_all(*dir_);  // a directory per process: leave none behind
    delete dir_;
  }

  static testing::ProcessResult Affsig(std::vector<std::string> args,
                                       std::vector<std::string> environment = {}) {
    args.insert(args.begin(), AFFSIG_CLIENT_BINARY);
    if (environment.empty()) args.push_back("--server=" + server_->address());
    return testing::RunProcess(args, environment);
  }

  static std::filesystem::path* dir_;
  static testing::ServerProcess* server_;
  static testing::GoldenModel* golden_;
};

std::filesystem::path* AffsigCliTest::dir_ = nullptr;
testing::ServerProcess* AffsigCliTest::server_ = nullptr;
testing::GoldenModel* AffsigCliTest::golden_ = nullptr;

TEST_F(AffsigCliTest, SubmitWaitPrintsTheSignatureAsJsonOnStdoutOnly) {
  const auto run =
      Affsig({"submit", "--model=" + golden_->model_path, "--input=" + golden_->input_path,
              "--activations=all", "--label=arch=cnn", "--label", "acc1=12.5", "--name=cli",
              "--wait", "--format=json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Struct result = ParseObject(run.out);
  EXPECT_THAT(result.fields().at("job_id").string_value(), StartsWith("job-"));
  EXPECT_EQ(result.fields().at("state").string_value(), "SUCCEEDED");
  EXPECT_EQ(result.fields().at("labels").struct_value().fields().at("acc1").string_value(), "12.5");
  const auto& entries = result.fields().at("signature").list_value().values();
  ASSERT_EQ(entries.size(), golden_->signature.size());
  for (size_t i = 0; i < golden_->signature.size(); ++i) {
    const auto& entry = entries[static_cast<int>(i)].struct_value().fields();
    EXPECT_EQ(entry.at("index").number_value(), static_cast<double>(i));
    EXPECT_EQ(entry.at("module").string_value(), golden_->signature[i].module);
    EXPECT_EQ(entry.at("call").number_value(), golden_->signature[i].call);
    EXPECT_EQ(entry.at("op").string_value(), golden_->signature[i].op);
    EXPECT_EQ(entry.at("status").string_value(), "ok");
    EXPECT_NEAR(entry.at("score").number_value(), golden_->signature[i].score, 1e-3);
  }
  // Progress went to stderr, as plain lines (stderr is not a terminal here).
  testing::ExpectProgressLinesEndIn(run.err, "SUCCEEDED");
}

TEST_F(AffsigCliTest, SubmitPrintsTheJobIdLastAndStatusAndResultFollowIt) {
  const auto submit =
      Affsig({"submit", "--model=" + golden_->model_path, "--input=" + golden_->input_path});
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  const std::string job_id = LastLine(submit.out);
  EXPECT_THAT(job_id, StartsWith("job-"));

  const auto result = Affsig({"result", job_id, "--wait", "--format=json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Struct object = ParseObject(result.out);
  EXPECT_EQ(object.fields().at("job_id").string_value(), job_id);
  EXPECT_EQ(object.fields().at("state").string_value(), "SUCCEEDED");
  EXPECT_GT(object.fields().at("signature").list_value().values_size(), 0);

  const auto status = Affsig({"status", job_id, "--format=json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(ParseObject(status.out).fields().at("state").string_value(), "SUCCEEDED");

  const auto csv = Affsig({"result", job_id, "--format=csv"});
  ASSERT_EQ(csv.exit_code, 0);
  EXPECT_THAT(csv.out, StartsWith("index,module,call,op,n,d,score,status,reason,std,min,max,"
                                  "batches\n"));
  const auto table = Affsig({"result", job_id});
  EXPECT_THAT(table.out, StartsWith("index  module"));

  const auto watch = Affsig({"watch", job_id});
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_THAT(watch.out, HasSubstr("SUCCEEDED"));

  const auto listed = Affsig({"list", "--format=json", "--state=SUCCEEDED"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(job_id));
  const auto models = Affsig({"models", "list", "--format=csv"});
  ASSERT_EQ(models.exit_code, 0) << models.err;
  EXPECT_THAT(models.out, HasSubstr("cnn_reused_relu_scripted.pt"));

  ASSERT_EQ(Affsig({"delete", job_id}).exit_code, 0);
  EXPECT_EQ(Affsig({"status", job_id}).exit_code, 1);
}

TEST_F(AffsigCliTest, AFailedJobExitsOneWithItsErrorOnOneLine) {
  const std::string not_a_model = (*dir_ / "not_a_model.pt").string();
  std::ofstream(not_a_model) << "text";
  const auto run = Affsig({"submit", "--model=" + not_a_model, "--input=" + golden_->input_path,
                           "--wait", "--format=json"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(ParseObject(run.out).fields().at("state").string_value(), "FAILED");
  EXPECT_THAT(LastLine(run.err), HasSubstr("not a loadable TorchScript model"));
}

TEST_F(AffsigCliTest, ExitCodesTellUsageNotFoundAndUnreachableApart) {
  const auto unknown = Affsig({"status", "job-nope", "--format=json"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(CountLines(unknown.err), 1);
  EXPECT_THAT(unknown.err, HasSubstr("no job 'job-nope'"));

  for (const std::vector<std::string>& usage :
       {std::vector<std::string>{},
        {"frobnicate"},
        {"status"},
        {"submit", "--model=x.pt"},
        {"submit", "--model=/no/such.pt", "--input=/no/such.npy"},
        {"list", "--state=DONE"},
        {"info", "--format=xml"}}) {
    const auto run = Affsig(usage);
    EXPECT_EQ(run.exit_code, 2) << absl::StrJoin(usage, " ");
    EXPECT_EQ(CountLines(run.err), 1) << run.err;
    EXPECT_EQ(run.out, "");
  }

  const std::string big = (*dir_ / "big.pt").string();
  std::ofstream(big) << std::string(2 << 20, 'x');
  const auto oversize = Affsig({"models", "upload", big});
  EXPECT_EQ(oversize.exit_code, 2);
  EXPECT_THAT(oversize.err, HasSubstr("limit"));

  // $AFFSIG_SERVER names the server when --server does not; nothing listens on port 1.
  const auto unreachable = Affsig({"info", "--connect-timeout=1"}, {"AFFSIG_SERVER=127.0.0.1:1"});
  EXPECT_EQ(unreachable.exit_code, 3);
  EXPECT_EQ(CountLines(unreachable.err), 1);
  EXPECT_THAT(unreachable.err, HasSubstr("AFFSIG_SERVER"));
  const auto reachable = Affsig({"health"}, {"AFFSIG_SERVER=" + server_->address()});
  EXPECT_EQ(reachable.exit_code, 0) << reachable.err;
  EXPECT_EQ(reachable.out, "SERVING\n");
  const auto info = Affsig({"info", "--format=json"});
  ASSERT_EQ(info.exit_code, 0);
  EXPECT_EQ(ParseObject(info.out).fields().at("workers").list_value().values_size(), 1);
  EXPECT_EQ(ParseObject(info.out).fields().at("data_roots").list_value().values(0).string_value(),
            (*dir_ / "root").string());
}

TEST_F(AffsigCliTest, DataSourcesInBatchesGiveEachEntrysSpread) {
  const std::string mlp = testing::CommittedFixtureDir() + "/mlp_mixed.pt";
  const auto run = Affsig({"submit", "--model=" + mlp, "--data=random:24,count=100,seed=1",
                           "--batch-size=32", "--shuffle-seed=5", "--wait", "--format=json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Struct result = ParseObject(run.out);
  const auto& options = result.fields().at("data_options").struct_value().fields();
  EXPECT_EQ(options.at("batch_size").number_value(), 32);
  EXPECT_EQ(result.fields().at("data_source").string_value(),
            "random:24,count=100,seed=1,mean=0,std=1");
  const auto& first =
      result.fields().at("signature").list_value().values(0).struct_value().fields();
  EXPECT_EQ(first.at("batches").number_value(), 3);  // 100 samples: 3 batches of 32
  EXPECT_GT(first.at("std").number_value(), 0.0);
  EXPECT_LE(first.at("min").number_value(), first.at("score").number_value());
  EXPECT_EQ(first.at("batch_scores").list_value().values_size(), 3);
  testing::ExpectProgressLinesEndIn(run.err, "SUCCEEDED");

  // A file under the server's --data-root, and one outside it.
  NpyArray array = MakeNpyArray({40, 24}, std::vector<float>(40 * 24, 0.5f));
  for (int i = 0; i < 40 * 24; ++i)
    reinterpret_cast<float*>(array.data.data())[i] = (i * 37 % 101) / 50.0f;
  const std::string inside = (*dir_ / "root" / "batch.npy").string();
  ASSERT_TRUE(WriteNpyFile(inside, array).ok());
  const auto served =
      Affsig({"submit", "--model=" + mlp, "--data=server:" + inside, "--wait", "--format=csv"});
  EXPECT_EQ(served.exit_code, 0) << served.err;
  const std::string outside = (*dir_ / "batch.npy").string();
  ASSERT_TRUE(WriteNpyFile(outside, array).ok());
  const auto refused = Affsig({"submit", "--model=" + mlp, "--data=server:" + outside, "--wait"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(LastLine(refused.err), HasSubstr("outside the server's data roots"));
  EXPECT_THAT(LastLine(refused.err), HasSubstr(outside));

  for (const std::vector<std::string>& usage :
       {std::vector<std::string>{"submit", "--model=" + mlp, "--data=tape:/x"},
        {"submit", "--model=" + mlp, "--data=random:24,count=4", "--input=" + inside},
        {"submit", "--model=" + mlp, "--data=random:24,count=4", "--mean=a,b"}}) {
    const auto run_usage = Affsig(usage);
    EXPECT_EQ(run_usage.exit_code, 2) << absl::StrJoin(usage, " ") << ": " << run_usage.err;
    EXPECT_EQ(CountLines(run_usage.err), 1) << run_usage.err;
  }
}

// --measures goes through the server, the lease and the worker: every scored entry of the job
// has each measure in the JSON, CSV and table of its result, and a job without has none of them.
TEST_F(AffsigCliTest, MeasuresAskedForComeWithEveryScoredEntryAndOnlyThen) {
  const std::vector<std::string> values = {"shrinkage_score", "cka",          "sparsity_before",
                                           "sparsity_after",  "entropy_before", "entropy_after",
                                           "norm",            "r2"};
  const auto run = Affsig({"submit", "--model=" + golden_->model_path,
                           "--input=" + golden_->input_path, "--activations=all",
                           "--measures=all", "--wait", "--format=json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Struct result = ParseObject(run.out);
  const std::string job_id = result.fields().at("job_id").string_value();
  std::vector<std::string> names;
  for (const Value& name : result.fields().at("measures").list_value().values()) {
    names.push_back(name.string_value());
  }
  EXPECT_THAT(names,
              ::testing::ElementsAre("shrinkage", "cka", "sparsity", "entropy", "norm", "r2"));
  const auto& entries = result.fields().at("signature").list_value().values();
  ASSERT_EQ(entries.size(), golden_->signature.size());
  for (const Value& item : entries) {
    const auto& entry = item.struct_value().fields();
    SCOPED_TRACE(entry.at("module").string_value());
    for (const std::string& value : values) {
      ASSERT_TRUE(entry.contains(value) && entry.contains(value + "_std")) << value;
      EXPECT_EQ(entry.at(value).kind_case(), Value::kNumberValue) << value;
      EXPECT_EQ(entry.at(value + "_std").number_value(), 0.0) << value;  // one batch
    }
    EXPECT_GT(entry.at("cka").number_value(), 0.0);
    EXPECT_LE(entry.at("cka").number_value(), 1.0 + 1e-12);
    EXPECT_GE(entry.at("sparsity_after").number_value(), 0.0);
    EXPECT_LE(entry.at("sparsity_after").number_value(), 1.0);
  }
  const auto csv = Affsig({"result", job_id, "--format=csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_THAT(csv.out, HasSubstr(",batches,shrinkage_score,shrinkage_score_std,cka,cka_std,"));
  const auto table = Affsig({"result", job_id});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("sparsity_before"));
  const auto status = Affsig({"status", job_id});
  EXPECT_THAT(status.out, HasSubstr("shrinkage,cka,sparsity,entropy,norm,r2"));

  // A second job with measures compares by one of them; a job without has none to compare.
  const auto other = Affsig({"submit", "--model=" + golden_->model_path,
                             "--input=" + golden_->input_path, "--measures=cka,r2"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  const std::string other_id = LastLine(other.out);
  ASSERT_EQ(Affsig({"result", other_id, "--wait"}).exit_code, 0);
  const auto plain = Affsig({"submit", "--model=" + golden_->model_path,
                             "--input=" + golden_->input_path, "--wait", "--format=json"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const Struct without = ParseObject(plain.out);
  EXPECT_FALSE(without.fields().contains("measures"));
  for (const Value& item : without.fields().at("signature").list_value().values()) {
    for (const std::string& value : values) {
      EXPECT_FALSE(item.struct_value().fields().contains(value)) << value;
    }
  }
  const auto compared = Affsig({"compare", job_id, other_id, "--value=cka", "--format=json"});
  EXPECT_EQ(compared.exit_code, 0) << compared.err;
  EXPECT_EQ(ParseObject(compared.out).fields().at("value").string_value(), "cka");
  const auto refused = Affsig(
      {"compare", job_id, without.fields().at("job_id").string_value(), "--value=cka"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(LastLine(refused.err), HasSubstr("has no cka: submit it with --measures"));

  const auto usage = Affsig({"submit", "--model=" + golden_->model_path,
                             "--input=" + golden_->input_path, "--measures=cka,kurtosis"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("unknown measure 'kurtosis'"));
  EXPECT_EQ(CountLines(usage.err), 1) << usage.err;
}

}  // namespace
}  // namespace affsig::client
