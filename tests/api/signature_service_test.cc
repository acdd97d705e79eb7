// The real affsig-server on 127.0.0.1 with a kernel-picked port, driven through the client
// library (client/signature_client): jobs, progress, listings, cancellation, bad input, many
// clients at once, crashes and restarts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/signature_client.h"
#include "common/error_reason.h"
#include "common/npy.h"
#include "common/sha256.h"
#include "server/store/database.h"
#include "tests/api/service_test.h"
#include "tests/golden_cases.h"
#include "tests/scratch_dir.h"
#include "tests/subprocess.h"

namespace affsig::api {
namespace {

using client::BlobKind;
using ::testing::HasSubstr;
using ::testing::Not;

class SignatureServiceTest : public testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    StartServer();
  }
  void StartServer() { ServiceTest::StartServer({"--devices=cpu", "--max-upload-mb=1"}); }
};

TEST_F(SignatureServiceTest, UploadsOnceWatchesProgressAndServesTheGoldenSignature) {
  auto model = client_->EnsureUploaded(mlp_->model_path, BlobKind::kModel);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(model->uploaded);
  EXPECT_EQ(model->sha256, *FileSha256(mlp_->model_path));
  auto again = client_->EnsureUploaded(mlp_->model_path, BlobKind::kModel);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->uploaded);  // the server has the bytes: nothing is sent
  auto direct = client_->Upload(mlp_->model_path, BlobKind::kModel);
  ASSERT_TRUE(direct.ok());
  EXPECT_TRUE(direct->already_stored());

  // A job long enough (400 activations) for its progress to be seen on the way.
  const std::string deep = SubmitOrDie(DeepModel(), DeepInput(128));
  std::vector<v1::Job> updates;
  auto ended = client_->Watch(deep, [&](const v1::Job& job) { updates.push_back(job); });
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->state(), v1::SUCCEEDED) << ended->error();
  ASSERT_GT(updates.size(), 2u);
  EXPECT_EQ(updates.back().state(), v1::SUCCEEDED);
  int64_t last_done = -1;
  for (const v1::Job& update : updates) {
    if (update.state() != v1::RUNNING) continue;
    if (update.progress().done() == 0 && update.progress().total() == 0) continue;  // none yet
    // The total is unknown (0) while the model's first forward pass runs, which scores beside it.
    if (update.progress().total() != 0) EXPECT_EQ(update.progress().total(), 400);
    EXPECT_EQ(update.progress().batches(), 1);
    EXPECT_GT(update.progress().done(), last_done);  // every update says something new
    EXPECT_EQ(update.device(), "cpu");
    last_done = update.progress().done();
  }
  EXPECT_GT(last_done, 0);

  const std::string id = SubmitMlp({{"arch", "mlp"}});
  EXPECT_EQ(WaitForEnd(id).state(), v1::SUCCEEDED);
  auto signature = client_->GetSignature(id);
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(signature->job().labels().at("arch"), "mlp");
  ExpectMlpSignature(*signature);
  EXPECT_EQ(signature->summary().entries(), static_cast<int64_t>(mlp_->signature.size()));

  auto models = client_->ListModels({});
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->models_size(), 2);
  EXPECT_EQ(models->models(0).name(), "deep_loop.pt");  // newest first
  EXPECT_EQ(models->models(1).name(), "mlp_mixed.pt");
  EXPECT_EQ(models->models(1).job_count(), 1);
  EXPECT_EQ(models->models(1).size(),
            static_cast<int64_t>(std::filesystem::file_size(mlp_->model_path)));

  auto info = client_->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->version().empty());
  ASSERT_EQ(info->workers_size(), 1);
  EXPECT_EQ(info->workers(0).device(), "cpu");
  EXPECT_EQ(info->queued_jobs(), 0);
  EXPECT_EQ(info->max_upload_bytes(), 1 << 20);
  EXPECT_EQ(*client_->CheckHealth(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
}

TEST_F(SignatureServiceTest, ListsJobsAndSignaturesByFilterInPages) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.insert(ids.begin(), SubmitMlp({{"arch", i < 3 ? "mlp" : "other"},
                                       {"seed", absl::StrCat(i)}}));  // newest first
  }
  for (const std::string& id : ids) EXPECT_EQ(WaitForEnd(id).state(), v1::SUCCEEDED);

  v1::ListJobsRequest request;
  request.set_page_size(2);
  std::vector<std::string> listed;
  int pages = 0;
  do {
    auto page = client_->ListJobs(request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const v1::Job& job : page->jobs()) listed.push_back(job.job_id());
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_EQ(listed, ids);
  EXPECT_EQ(pages, 3);

  v1::ListJobsRequest filtered;
  filtered.add_labels("arch=mlp");
  filtered.set_state(v1::SUCCEEDED);
  EXPECT_EQ(client_->ListJobs(filtered)->jobs_size(), 3);
  filtered.set_state(v1::FAILED);
  EXPECT_EQ(client_->ListJobs(filtered)->jobs_size(), 0);
  v1::ListJobsRequest bad_token;
  bad_token.set_page_token("not-a-token");
  EXPECT_EQ(client_->ListJobs(bad_token).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorReason(client_->ListJobs(bad_token).status()), reason::kInvalidPageToken);
  v1::ListJobsRequest bad_label;
  bad_label.add_labels("=x");
  EXPECT_EQ(client_->ListJobs(bad_label).status().code(), absl::StatusCode::kInvalidArgument);

  v1::ListSignaturesRequest signatures;
  signatures.add_labels("arch=other");
  auto summaries = client_->ListSignatures(signatures);
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_EQ(summaries->signatures_size(), 2);
  EXPECT_EQ(summaries->signatures(0).job().job_id(), ids[0]);
  EXPECT_EQ(summaries->signatures(0).entries_size(), 0);
  EXPECT_EQ(summaries->signatures(0).summary().entries(),
            static_cast<int64_t>(mlp_->signature.size()));
  signatures.set_view(v1::FULL);
  signatures.set_page_size(1);
  auto full = client_->ListSignatures(signatures);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->signatures_size(), 1);
  ExpectMlpSignature(full->signatures(0));
  EXPECT_FALSE(full->next_page_token().empty());
  v1::ListSignaturesRequest future;
  future.set_created_after_ms(absl::ToUnixMillis(absl::Now()) + 60000);
  EXPECT_EQ(client_->ListSignatures(future)->signatures_size(), 0);
}

TEST_F(SignatureServiceTest, CancelEndsAQueuedJobAtOnceAndARunningOneAtItsNextActivation) {
  const std::string running = SubmitOrDie(DeepModel(), DeepInput(512));
  const std::string queued = SubmitMlp();
  WaitUntilScored(running, 1);
  EXPECT_EQ(ErrorReason(client_->DeleteJob(running)), reason::kJobRunning);

  auto cancelled = client_->CancelJob(queued);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), v1::CANCELLED);
  auto asked = client_->CancelJob(running);
  ASSERT_TRUE(asked.ok()) << asked.status();
  const v1::Job stopped = WaitForEnd(running);
  EXPECT_EQ(stopped.state(), v1::CANCELLED);
  EXPECT_EQ(client_->GetSignature(running)->entries_size(), 0);
  EXPECT_EQ(ErrorReason(client_->CancelJob(running).status()), reason::kJobAlreadyEnded);

  ASSERT_TRUE(client_->DeleteJob(running).ok());
  EXPECT_EQ(client_->GetJob(running).status().code(), absl::StatusCode::kNotFound);
  auto info = client_->GetServerInfo();
  EXPECT_EQ(info->workers(0).job_id(), "");
  EXPECT_EQ(info->queued_jobs(), 0);
}

TEST_F(SignatureServiceTest, BadInputGetsAOneLineErrorAndTheServerGoesOn) {
  const std::string good_input = DeepInput(16);
  std::ifstream in(good_input, std::ios::binary);
  const std::string good_bytes((std::istreambuf_iterator<char>(in)), {});
  struct Case {
    std::string name, model, input, error;
  };
  const std::vector<Case> failing = {
      {"not TorchScript", WriteFile("text.pt", "definitely not a model"), good_input,
       "not a loadable TorchScript model"},
      {"empty model", WriteFile("empty.pt", ""), good_input, "is empty: not a TorchScript model"},
      {"input not .npy", DeepModel(), WriteFile("text.npy", "hello"), "npy"},
      {"truncated .npy", DeepModel(), WriteFile("cut.npy", good_bytes.substr(0, 300)), "npy"},
      {"rejected shape", DeepModel(), mlp_->input_path, "forward failed"},
  };
  for (const Case& c : failing) {
    auto job = Submit(*client_, c.model, c.input);
    ASSERT_TRUE(job.ok()) << c.name << ": " << job.status();
    const v1::Job ended = WaitForEnd(job->job_id());
    EXPECT_EQ(ended.state(), v1::FAILED) << c.name;
    EXPECT_THAT(ended.error(), HasSubstr(c.error)) << c.name;
    EXPECT_THAT(ended.error(), Not(HasSubstr("\n"))) << c.name;
    EXPECT_THAT(ended.error(), Not(HasSubstr((dir_ / "data").string()))) << c.name;
  }

  // Entries that cannot be scored keep their place with a status.
  const std::string one_sample = SubmitOrDie(DeepModel(), DeepInput(1));
  const std::string not_finite = SubmitOrDie(DeepModel(), DeepInput(8, std::nanf("")));
  for (const auto& [id, status] :
       {std::pair{one_sample, "too_few_samples"}, std::pair{not_finite, "non_finite"}}) {
    EXPECT_EQ(WaitForEnd(id).state(), v1::SUCCEEDED);
    auto signature = client_->GetSignature(id);
    ASSERT_TRUE(signature.ok());
    ASSERT_EQ(signature->entries_size(), 400);
    EXPECT_EQ(signature->entries(0).status(), status);
    EXPECT_FALSE(signature->entries(0).has_score());
    EXPECT_EQ(signature->summary().scored(), 0);
  }

  // Unknown ids, malformed digests, missing blobs, oversize uploads.
  for (const absl::Status& status :
       {client_->GetJob("job-none").status(), client_->CancelJob("job-none").status(),
        client_->DeleteJob("job-none"), client_->GetSignature("job-none").status(),
        client_->Watch("job-none", nullptr).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(ErrorReason(status), reason::kJobNotFound);  // AIP-193 ErrorInfo
  }
  EXPECT_EQ(ErrorReason(client_->FindMissingBlobs({"../../etc/passwd"}).status()),
            reason::kInvalidDigest);
  v1::SubmitJobRequest missing;
  missing.set_model_sha256(std::string(64, 'c'));
  missing.set_input_sha256(std::string(64, 'd'));
  auto refused = client_->Submit(missing);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("upload it first"));
  EXPECT_EQ(ErrorReason(refused.status()), reason::kBlobNotUploaded);
  auto oversize = client_->Upload(WriteFile("big.pt", std::string(2 << 20, 'x')), BlobKind::kModel);
  EXPECT_EQ(oversize.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(oversize.status().message(), HasSubstr("limit"));
  EXPECT_EQ(ErrorReason(oversize.status()), reason::kUploadTooLarge);

  // Through all of it the server kept serving.
  EXPECT_EQ(*client_->CheckHealth(), grpc::health::v1::HealthCheckResponse::SERVING);
  const std::string good = SubmitMlp();
  EXPECT_EQ(WaitForEnd(good).state(), v1::SUCCEEDED);
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
}

TEST_F(SignatureServiceTest, EightClientsSubmittingTenJobsEachGetTheirOwnCorrectResults) {
  constexpr int kClients = 8, kJobsEach = 10;
  std::vector<std::vector<std::string>> ids(kClients);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      client::SignatureClient client(server_->address());
      for (int j = 0; j < kJobsEach; ++j) {
        auto job = Submit(client, mlp_->model_path, mlp_->input_path,
                          {{"client", absl::StrCat(c)}, {"job", absl::StrCat(j)}});
        if (!job.ok()) {
          ++failures;
          continue;
        }
        ids[c].push_back(job->job_id());
      }
      for (const std::string& id : ids[c]) {
        auto ended = client.Watch(id, nullptr);
        if (!ended.ok() || ended->state() != v1::SUCCEEDED) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(ids[c].size(), static_cast<size_t>(kJobsEach));
    for (int j = 0; j < kJobsEach; ++j) {
      auto signature = client_->GetSignature(ids[c][j]);
      ASSERT_TRUE(signature.ok()) << signature.status();
      EXPECT_EQ(signature->job().labels().at("client"), absl::StrCat(c));
      EXPECT_EQ(signature->job().labels().at("job"), absl::StrCat(j));
      ExpectMlpSignature(*signature);
    }
  }
  v1::ListJobsRequest all;
  all.set_page_size(1000);
  EXPECT_EQ(client_->ListJobs(all)->jobs_size(), kClients * kJobsEach);
  EXPECT_EQ(client_->ListModels({})->models(0).job_count(), kClients * kJobsEach);
}

TEST_F(SignatureServiceTest, AServerKilledWhileAJobRunsLosesNothingAndRecordsNothingTwice) {
  const std::string deep_input = DeepInput(256);
  const std::string interrupted = SubmitOrDie(DeepModel(), deep_input);
  const std::string queued = SubmitMlp();
  WaitUntilScored(interrupted, 20);
  EXPECT_EQ(server_->Stop(SIGKILL), 128 + SIGKILL);

  StartServer();
  const std::string reference = SubmitOrDie(DeepModel(), deep_input);
  for (const std::string& id : {interrupted, queued, reference}) {
    EXPECT_EQ(WaitForEnd(id).state(), v1::SUCCEEDED) << id;
  }
  EXPECT_EQ(client_->GetJob(interrupted)->attempts(), 2);
  EXPECT_EQ(client_->GetJob(queued)->attempts(), 1);
  ExpectMlpSignature(*client_->GetSignature(queued));
  // The rerun's entries, once each, equal an uninterrupted run's.
  auto rerun = client_->GetSignature(interrupted);
  auto clean = client_->GetSignature(reference);
  ASSERT_TRUE(rerun.ok() && clean.ok());
  ASSERT_EQ(rerun->entries_size(), 400);
  ASSERT_EQ(clean->entries_size(), 400);
  for (int i = 0; i < 400; ++i) {
    EXPECT_EQ(rerun->entries(i).index(), i);
    EXPECT_EQ(rerun->entries(i).call(), i);
    EXPECT_DOUBLE_EQ(rerun->entries(i).score(), clean->entries(i).score());
  }
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM signature_entries"),
            800 + static_cast<int64_t>(mlp_->signature.size()));
}

TEST_F(SignatureServiceTest, SigtermLetsTheRunningJobFinishAndAWatcherFollowsItAcrossARestart) {
  const std::string id = SubmitOrDie(DeepModel(), DeepInput(256));
  WaitUntilScored(id, 1);
  absl::StatusOr<v1::Job> watched = absl::UnknownError("not yet");
  std::thread watcher([&] {
    client::SignatureClient client(server_->address());
    watched = client.Watch(id, nullptr);
  });
  absl::SleepFor(absl::Milliseconds(200));
  const std::string address = server_->address();
  EXPECT_EQ(server_->Stop(SIGTERM), 0);  // returns once the running job has finished
  auto restarted =
      testing::ServerProcess::Start({"--listen=" + address, "--db=" + db_path_,
                                     "--data-dir=" + (dir_ / "data").string(), "--devices=cpu"});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  watcher.join();
  ASSERT_TRUE(watched.ok()) << watched.status();
  EXPECT_EQ(watched->state(), v1::SUCCEEDED);
  EXPECT_EQ(watched->attempts(), 1);  // finished before the stop, not requeued
  client::SignatureClient client(restarted->address());
  auto signature = client.GetSignature(id);
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(signature->entries_size(), 400);
}

TEST_F(SignatureServiceTest, AModelThatCannotRunOptimizedGetsItsSignatureAndANoteSayingWhy) {
  NpyArray array;
  array.dtype = NpyDtype::kFloat32;
  array.shape = {8, 16};
  std::vector<float> values(8 * 16);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 13) / 6.0f - 1.0f;
  array.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  const std::string input = (dir_ / "unfreezable_input.npy").string();
  ASSERT_TRUE(WriteNpyFile(input, array).ok());
  auto model = client_->EnsureUploaded(testing::ServiceFixtureDir() + "/unfreezable.pt",
                                       client::BlobKind::kModel);
  ASSERT_TRUE(model.ok()) << model.status();
  auto data = client_->EnsureUploaded(input, client::BlobKind::kInput);
  ASSERT_TRUE(data.ok()) << data.status();

  std::map<v1::ForwardOptimization, v1::Job> ended;
  for (v1::ForwardOptimization optimize : {v1::OPTIMIZE_AUTO, v1::OPTIMIZE_OFF}) {
    v1::SubmitJobRequest request;
    request.set_model_sha256(model->sha256);
    request.set_input_sha256(data->sha256);
    request.set_optimize(optimize);
    auto job = client_->Submit(request);
    ASSERT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(job->optimize(), optimize);
    ended[optimize] = WaitForEnd(job->job_id());
    ASSERT_EQ(ended[optimize].state(), v1::SUCCEEDED) << ended[optimize].error();
    ASSERT_EQ(ended[optimize].attempt_history_size(), 1);
  }
  const std::string& note = ended[v1::OPTIMIZE_AUTO].attempt_history(0).reason();
  EXPECT_THAT(note, HasSubstr("the forward ran unoptimized: LibTorch cannot freeze the model"));
  EXPECT_EQ(note.find('\n'), std::string::npos) << note;
  EXPECT_EQ(ended[v1::OPTIMIZE_OFF].attempt_history(0).reason(), "");
  auto optimized = client_->GetSignature(ended[v1::OPTIMIZE_AUTO].job_id());
  auto unoptimized = client_->GetSignature(ended[v1::OPTIMIZE_OFF].job_id());
  ASSERT_TRUE(optimized.ok() && unoptimized.ok());
  EXPECT_EQ(optimized->entries_size(), 2);
  ExpectSameEntries(*optimized, *unoptimized);
  // A job submitted without a choice is optimized.
  v1::SubmitJobRequest plain;
  plain.set_model_sha256(model->sha256);
  plain.set_input_sha256(data->sha256);
  EXPECT_EQ(client_->Submit(plain)->optimize(), v1::OPTIMIZE_AUTO);
}

TEST_F(SignatureServiceTest, MigratesAnExistingDatabaseAndRefusesANewerOne) {
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
  const std::string old_path = (dir_ / "old.db").string();
  {
    // A database as the first schema left it, holding one finished job.
    auto db = store::Database::Open(old_path, {store::BuiltInMigrations().front()});
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(
        (*db)
            ->Execute(absl::StrCat("INSERT INTO jobs (id, seq, name, model_sha256, input_sha256, "
                                   "activations, state, attempts, created_at) VALUES "
                                   "('job-old', 1, 'old', '",
                                   std::string(64, 'a'), "', '", std::string(64, 'b'),
                                   "', 'modules', 'SUCCEEDED', 1, 1000);"
                                   "INSERT INTO job_labels VALUES ('job-old', 'arch', 'resnet18');"
                                   "INSERT INTO signature_entries (job_id, idx, module, call, op, "
                                   "d, n, score, status) VALUES "
                                   "('job-old', 0, 'relu', 0, 'ReLU', 8, 4, 0.5, 'ok')"))
            .ok());
  }
  auto server = testing::ServerProcess::Start(
      {"--db=" + old_path, "--data-dir=" + (dir_ / "data").string(), "--devices=cpu"});
  ASSERT_TRUE(server.ok()) << server.status();
  client::SignatureClient client(server->address());
  v1::ListJobsRequest by_label;
  by_label.add_labels("arch=resnet18");
  auto jobs = client.ListJobs(by_label);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->jobs_size(), 1);
  EXPECT_EQ(jobs->jobs(0).name(), "old");
  EXPECT_DOUBLE_EQ(client.GetSignature("job-old")->entries(0).score(), 0.5);
  auto models = client.ListModels({});
  ASSERT_EQ(models->models_size(), 1);
  EXPECT_EQ(models->models(0).sha256(), std::string(64, 'a'));
  EXPECT_EQ(server->Stop(SIGTERM), 0);

  {
    auto db = store::Database::Open(old_path);
    ASSERT_TRUE((*db)->Execute("PRAGMA user_version = 99").ok());
  }
  const testing::ProcessResult refused =
      testing::RunProcess({testing::ServerBinary(), "--listen=127.0.0.1:0", "--db=" + old_path,
                           "--data-dir=" + (dir_ / "data").string(), "--devices=cpu"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("schema version 99"));
  EXPECT_THAT(refused.err, HasSubstr("newer affsig-server"));
  EXPECT_EQ(refused.out, "");
}

}  // namespace
}  // namespace affsig::api
