#include "tests/api/service_test.h"

#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/npy.h"
#include "server/store/database.h"
#include "tests/scratch_dir.h"

namespace affsig::testing {

GoldenModel* ServiceTest::mlp_ = nullptr;

void ServiceTest::SetUpTestSuite() {
  auto golden = ReadGoldenSet(CommittedFixtureDir());
  ASSERT_TRUE(golden.ok()) << golden.status();
  for (const GoldenModel& model : golden->models) {
    if (model.name == "mlp_mixed/modules") mlp_ = new GoldenModel(model);
  }
  ASSERT_NE(mlp_, nullptr);
}

void ServiceTest::TearDownTestSuite() {
  delete mlp_;
  mlp_ = nullptr;
}

void ServiceTest::SetUp() {
  dir_ = FreshScratchDir();
  db_path_ = (dir_ / "affsig.db").string();
}

void ServiceTest::StartServer(const std::vector<std::string>& flags) {
  client_.reset();
  server_.reset();
  std::vector<std::string> all = {"--db=" + db_path_, "--data-dir=" + DataDir()};
  all.insert(all.end(), flags.begin(), flags.end());
  auto server = ServerProcess::Start(all);
  ASSERT_TRUE(server.ok()) << server.status();
  server_.emplace(*std::move(server));
  client_ = std::make_unique<client::SignatureClient>(server_->address());
}

std::string ServiceTest::DeepInput(int64_t rows, float fill) {
  NpyArray array;
  array.dtype = NpyDtype::kFloat32;
  array.shape = {rows, 128};
  std::vector<float> values(static_cast<size_t>(rows) * 128);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = fill != 0.0f ? fill : static_cast<float>((i * 7919 % 1000) / 500.0 - 1.0);
  }
  array.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  const std::string path = (dir_ / absl::StrCat("deep_", rows, "_", fill, ".npy")).string();
  EXPECT_TRUE(WriteNpyFile(path, array).ok());
  return path;
}

std::string ServiceTest::WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = (dir_ / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

absl::StatusOr<v1::Job> ServiceTest::Submit(client::SignatureClient& client,
                                            const std::string& model, const std::string& input,
                                            std::map<std::string, std::string> labels,
                                            int64_t timeout_seconds) {
  auto model_blob = client.EnsureUploaded(model, client::BlobKind::kModel);
  if (!model_blob.ok()) return model_blob.status();
  auto input_blob = client.EnsureUploaded(input, client::BlobKind::kInput);
  if (!input_blob.ok()) return input_blob.status();
  v1::SubmitJobRequest request;
  request.set_model_sha256(model_blob->sha256);
  request.set_input_sha256(input_blob->sha256);
  request.mutable_labels()->insert(labels.begin(), labels.end());
  request.set_timeout_seconds(timeout_seconds);
  return client.Submit(request);
}

std::string ServiceTest::SubmitOrDie(const std::string& model, const std::string& input,
                                     std::map<std::string, std::string> labels,
                                     int64_t timeout_seconds) {
  auto job = Submit(*client_, model, input, std::move(labels), timeout_seconds);
  EXPECT_TRUE(job.ok()) << job.status();
  return job.ok() ? job->job_id() : "";
}

std::string ServiceTest::SubmitMlp(std::map<std::string, std::string> labels) {
  return SubmitOrDie(mlp_->model_path, mlp_->input_path, std::move(labels));
}

v1::Job ServiceTest::WaitForEnd(const std::string& job_id) {
  auto job = client_->Watch(job_id, nullptr);
  EXPECT_TRUE(job.ok()) << job.status();
  return job.ok() ? *job : v1::Job();
}

void ServiceTest::WaitUntilScored(const std::string& job_id, int64_t done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    auto job = client_->GetJob(job_id);
    ASSERT_TRUE(job.ok()) << job.status();
    ASSERT_FALSE(client::IsFinal(job->state())) << "ended before it was seen running";
    if (job->state() == v1::RUNNING && job->progress().done() >= done) return;
    absl::SleepFor(absl::Milliseconds(10));
  }
  FAIL() << "job " << job_id << " never scored " << done << " activations";
}

std::string ServiceTest::WaitUntilRunning(const std::string& job_id, int64_t attempt) {
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    auto job = client_->GetJob(job_id);
    EXPECT_TRUE(job.ok()) << job.status();
    if (!job.ok()) return "";
    EXPECT_FALSE(client::IsFinal(job->state())) << "ended before attempt " << attempt << " ran";
    if (client::IsFinal(job->state())) return "";
    if (job->state() == v1::RUNNING && job->attempts() == attempt) return job->worker();
    absl::SleepFor(absl::Milliseconds(10));
  }
  ADD_FAILURE() << "job " << job_id << " never ran attempt " << attempt;
  return "";
}

int64_t ServiceTest::WorkerPid(const std::string& worker) {
  auto info = client_->GetServerInfo();
  EXPECT_TRUE(info.ok()) << info.status();
  if (!info.ok()) return -1;
  for (const v1::Worker& listed : info->workers()) {
    if (listed.name() == worker) return listed.pid();
  }
  ADD_FAILURE() << "no worker " << worker;
  return -1;
}

void ServiceTest::ExpectMlpSignature(const v1::Signature& signature) {
  const auto& expected = mlp_->signature;
  ASSERT_EQ(signature.entries_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    const v1::SignatureEntry& entry = signature.entries(static_cast<int>(i));
    EXPECT_EQ(entry.index(), static_cast<int64_t>(i));
    EXPECT_EQ(entry.module(), expected[i].module);
    EXPECT_EQ(entry.op(), expected[i].op);
    EXPECT_EQ(entry.status(), expected[i].status);
    if (expected[i].status == "ok") EXPECT_NEAR(entry.score(), expected[i].score, 1e-3);
  }
}

void ServiceTest::ExpectSameEntries(const v1::Signature& a, const v1::Signature& b) {
  ASSERT_EQ(a.entries_size(), b.entries_size());
  for (int i = 0; i < a.entries_size(); ++i) {
    EXPECT_EQ(a.entries(i).index(), i);
    EXPECT_EQ(a.entries(i).module(), b.entries(i).module());
    EXPECT_EQ(a.entries(i).call(), b.entries(i).call());
    EXPECT_EQ(a.entries(i).status(), b.entries(i).status());
    EXPECT_DOUBLE_EQ(a.entries(i).score(), b.entries(i).score());
  }
}

int64_t ServiceTest::QueryInt(const std::string& sql) const {
  auto db = store::Database::Open(db_path_);
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return -1;
  auto row = (*db)->Prepare(sql);
  EXPECT_TRUE(row.ok()) << row.status();
  if (!row.ok() || !(*row)->Step()) return -1;
  return (*row)->Int(0);
}

}  // namespace affsig::testing
