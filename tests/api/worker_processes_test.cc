// Workers in their own processes, supervised and fenced: the real affsig-server with local worker
// children and remote affsig-worker processes on 127.0.0.1. Jobs that never reach an activation
// are stopped by their timeout or a cancel; a worker killed or frozen mid-job loses its lease and
// the job completes elsewhere, once; a server killed again and again loses no job and records
// none twice; remote workers need nothing of the server's disk.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/api/service_test.h"
#include "tests/api/worker_process.h"

namespace affsig::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class WorkerProcessesTest : public testing::ServiceTest {
 protected:
  // A worker of its own on this machine, with a cache folder of its own and no access to the
  // server's data folder.
  testing::WorkerProcess StartRemoteWorker(const std::string& name,
                                           std::vector<std::string> flags = {}) {
    flags.push_back("--name=" + name);
    flags.push_back("--cache-dir=" + (dir_ / ("cache-" + name)).string());
    auto worker = testing::WorkerProcess::Start(server_->address(), flags,
                                                (dir_ / (name + ".log")).string());
    EXPECT_TRUE(worker.ok()) << worker.status();
    return *std::move(worker);
  }
};

TEST_F(WorkerProcessesTest, AJobPastItsTimeoutFailsAndTheNextJobRuns) {
  StartServer({"--devices=cpu"});
  const absl::Time submitted = absl::Now();
  const std::string forever = SubmitOrDie(ForeverModel(), DeepInput(8), {}, /*timeout=*/5);
  const std::string next = SubmitMlp();
  const v1::Job ended = WaitForEnd(forever);
  EXPECT_EQ(ended.state(), v1::FAILED);
  EXPECT_THAT(ended.error(), HasSubstr("timeout"));
  EXPECT_LT(absl::Now() - submitted, absl::Seconds(15));
  EXPECT_EQ(ended.attempts(), 1);  // a timeout is not retried
  ASSERT_EQ(ended.attempt_history_size(), 1);
  EXPECT_EQ(ended.attempt_history(0).outcome(), "TIMED_OUT");
  // The worker dropped the job it could not interrupt and took the next one.
  EXPECT_EQ(WaitForEnd(next).state(), v1::SUCCEEDED);
  ExpectMlpSignature(*client_->GetSignature(next));
}

TEST_F(WorkerProcessesTest, ACancelledJobEndsWithinTenSecondsAndIsNeverRunAgain) {
  StartServer({"--devices=cpu"});
  const std::string forever = SubmitOrDie(ForeverModel(), DeepInput(8));
  WaitUntilRunning(forever);
  const absl::Time cancelled_at = absl::Now();
  ASSERT_TRUE(client_->CancelJob(forever).ok());
  const v1::Job ended = WaitForEnd(forever);
  EXPECT_EQ(ended.state(), v1::CANCELLED);
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(10));

  // Cancelled, then the server dies before the job's worker could stop: after the restart the
  // job is still cancelled, and neither it nor the first is run again.
  const std::string second = SubmitOrDie(ForeverModel(), DeepInput(9));
  WaitUntilRunning(second);
  ASSERT_TRUE(client_->CancelJob(second).ok());
  EXPECT_EQ(server_->Stop(SIGKILL), 128 + SIGKILL);
  StartServer({"--devices=cpu"});
  const std::string after = SubmitMlp();
  EXPECT_EQ(WaitForEnd(after).state(), v1::SUCCEEDED);
  for (const std::string& id : {forever, second}) {
    auto job = client_->GetJob(id);
    ASSERT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(job->state(), v1::CANCELLED) << id;
    EXPECT_EQ(job->attempts(), 1) << id;
  }
}

TEST_F(WorkerProcessesTest, AStoppingServerReturnsAJobThatDoesNotFinishWithinTheGrace) {
  const std::vector<std::string> flags = {"--devices=cpu", "--shutdown-grace=2"};
  StartServer(flags);
  const std::string forever = SubmitOrDie(ForeverModel(), DeepInput(8));
  WaitUntilRunning(forever);
  const absl::Time stopping = absl::Now();
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
  EXPECT_LT(absl::Now() - stopping, absl::Seconds(15));
  StartServer(flags);
  WaitUntilRunning(forever, 2);
  auto job = client_->GetJob(forever);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->attempt_history(0).outcome(), "RETURNED");
  ASSERT_TRUE(client_->CancelJob(forever).ok());
  EXPECT_EQ(WaitForEnd(forever).state(), v1::CANCELLED);
}

TEST_F(WorkerProcessesTest, AWorkerKilledMidJobLosesItsLeaseAndTheJobCompletesOnce) {
  StartServer({"--devices=cpu,cpu"});
  const std::string input = DeepInput(256);
  const std::string killed = SubmitOrDie(DeepModel(), input);
  const std::string worker = WaitUntilRunning(killed);
  ASSERT_EQ(kill(static_cast<pid_t>(WorkerPid(worker)), SIGKILL), 0);
  const v1::Job ended = WaitForEnd(killed);
  ASSERT_EQ(ended.state(), v1::SUCCEEDED) << ended.error();
  EXPECT_EQ(ended.attempts(), 2);
  ASSERT_EQ(ended.attempt_history_size(), 2);
  EXPECT_EQ(ended.attempt_history(0).worker(), worker);
  EXPECT_EQ(ended.attempt_history(0).outcome(), "LOST");
  EXPECT_EQ(ended.attempt_history(0).reason(), "worker lost: signal 9");
  EXPECT_EQ(ended.attempt_history(1).outcome(), "SUCCEEDED");

  const std::string clean = SubmitOrDie(DeepModel(), input);
  ASSERT_EQ(WaitForEnd(clean).state(), v1::SUCCEEDED);
  ExpectSameEntries(*client_->GetSignature(killed), *client_->GetSignature(clean));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM signature_entries"), 800);
}

TEST_F(WorkerProcessesTest, AJobWhoseWorkerDiesOnEveryAttemptFailsNamingEachAttempt) {
  StartServer({"--devices=cpu", "--max-attempts=3"});
  const std::string doomed = SubmitOrDie(ForeverModel(), DeepInput(8));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const std::string worker = WaitUntilRunning(doomed, attempt);
    ASSERT_FALSE(worker.empty());
    ASSERT_EQ(kill(static_cast<pid_t>(WorkerPid(worker)), SIGKILL), 0);
  }
  const v1::Job ended = WaitForEnd(doomed);
  EXPECT_EQ(ended.state(), v1::FAILED);
  EXPECT_THAT(ended.error(), HasSubstr("lost 3 attempts"));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    EXPECT_THAT(ended.error(), HasSubstr(absl::StrCat("attempt ", attempt,
                                                      ": worker lost: signal 9")));
  }
  // The worker was started again each time and serves the queue still.
  const std::string next = SubmitMlp();
  EXPECT_EQ(WaitForEnd(next).state(), v1::SUCCEEDED);
}

TEST_F(WorkerProcessesTest, AFrozenWorkerPastItsLeaseIsFencedOffAndAnotherOneFinishes) {
  StartServer({"--devices=none", "--lease-seconds=2"});
  testing::WorkerProcess frozen = StartRemoteWorker("frozen");
  const std::string input = DeepInput(256);
  const std::string job = SubmitOrDie(DeepModel(), input);
  ASSERT_EQ(WaitUntilRunning(job), "frozen");
  // Frozen once it holds the lease: the server may have granted it while the answer was still
  // on its way, and a worker that never heard of its lease has nothing to be fenced from.
  ASSERT_TRUE(frozen.WaitForLog(absl::StrCat("job ", job, " leased"), absl::Seconds(60)))
      << frozen.Log();
  frozen.Signal(SIGSTOP);
  testing::WorkerProcess other = StartRemoteWorker("other");
  ASSERT_EQ(WaitUntilRunning(job, 2), "other");
  const v1::Job ended = WaitForEnd(job);
  ASSERT_EQ(ended.state(), v1::SUCCEEDED) << ended.error();
  EXPECT_EQ(ended.attempt_history(0).outcome(), "LOST");
  EXPECT_THAT(ended.attempt_history(0).reason(), StartsWith("lease expired"));
  EXPECT_EQ(ended.attempt_history(1).worker(), "other");

  // Thawed, the first worker learns that its lease is gone and drops what it computed.
  frozen.Signal(SIGCONT);
  EXPECT_TRUE(frozen.WaitForLog("no longer current", absl::Seconds(60))) << frozen.Log();
  const std::string clean = SubmitOrDie(DeepModel(), input);
  ASSERT_EQ(WaitForEnd(clean).state(), v1::SUCCEEDED);
  ExpectSameEntries(*client_->GetSignature(job), *client_->GetSignature(clean));
  EXPECT_EQ(client_->GetJob(job)->attempts(), 2);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM signature_entries"), 800);
}

TEST_F(WorkerProcessesTest, ServerKilledAtRandomMomentsLosesNoJobAndRecordsNoneTwice) {
  const std::vector<std::string> flags = {"--devices=cpu,cpu"};
  StartServer(flags);
  constexpr int kJobs = 200;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) ids.push_back(SubmitMlp({{"n", absl::StrCat(i)}}));
  std::mt19937 random(20261202);
  std::uniform_int_distribution<int> pause_ms(100, 1500);
  const std::string address = server_->address();
  int kills = 0;
  while (QueryInt("SELECT COUNT(*) FROM jobs WHERE state IN ('QUEUED', 'RUNNING')") > 0 &&
         kills < 8) {
    absl::SleepFor(absl::Milliseconds(pause_ms(random)));
    EXPECT_EQ(server_->Stop(SIGKILL), 128 + SIGKILL);
    ++kills;
    std::vector<std::string> again = flags;
    again.push_back("--listen=" + address);
    StartServer(again);
  }
  for (const std::string& id : ids) {
    const v1::Job ended = WaitForEnd(id);
    ASSERT_EQ(ended.state(), v1::SUCCEEDED) << id << ": " << ended.error();
    ExpectMlpSignature(*client_->GetSignature(id));
  }
  EXPECT_GT(kills, 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM signature_entries"),
            kJobs * static_cast<int64_t>(mlp_->signature.size()));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM job_attempts WHERE outcome = 'SUCCEEDED'"), kJobs);
}

TEST_F(WorkerProcessesTest, RemoteWorkersWithTheirOwnCachesGiveTheLocalResults) {
  StartServer({"--devices=none"});
  std::vector<testing::WorkerProcess> workers;
  workers.push_back(StartRemoteWorker("remote-a"));
  workers.push_back(StartRemoteWorker("remote-b"));
  std::vector<std::string> mlps, deeps;
  const std::string input = DeepInput(64);
  for (int i = 0; i < 4; ++i) {
    mlps.push_back(SubmitMlp());
    deeps.push_back(SubmitOrDie(DeepModel(), input));
  }
  std::set<std::string> ran_on;
  for (const std::string& id : mlps) {
    const v1::Job ended = WaitForEnd(id);
    ASSERT_EQ(ended.state(), v1::SUCCEEDED) << ended.error();
    ran_on.insert(ended.attempt_history(0).worker());
    ExpectMlpSignature(*client_->GetSignature(id));
  }
  for (const std::string& id : deeps) ASSERT_EQ(WaitForEnd(id).state(), v1::SUCCEEDED);
  auto info = client_->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->workers_size(), 2);
  for (const v1::Worker& worker : info->workers()) EXPECT_FALSE(worker.local());
  for (auto& worker : workers) EXPECT_EQ(worker.Stop(SIGTERM), 0) << worker.Log();

  // The same jobs on the server's own worker, which reads the blobs in place.
  StartServer({"--devices=cpu"});
  const std::string local = SubmitOrDie(DeepModel(), input);
  ASSERT_EQ(WaitForEnd(local).state(), v1::SUCCEEDED);
  for (const std::string& id : deeps) {
    ExpectSameEntries(*client_->GetSignature(id), *client_->GetSignature(local));
  }
  // Each remote worker fetched what it ran into its own cache.
  for (const std::string& name : ran_on) {
    EXPECT_TRUE(std::filesystem::exists(dir_ / ("cache-" + name) / "blobs")) << name;
    EXPECT_FALSE(std::filesystem::is_empty(dir_ / ("cache-" + name) / "blobs")) << name;
  }
}

}  // namespace
}  // namespace affsig::api
