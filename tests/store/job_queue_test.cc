#include "server/store/job_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/error_reason.h"
#include "server/store/signature_store.h"
#include "tests/scratch_dir.h"

namespace affsig::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

const LeaseHolder kLocal{"local-0", "cuda:0", /*local=*/true};
const LeaseHolder kRemote{"node7-gpu1", "cuda:1", /*local=*/false};

// Lost jobs may be leased again at once, so that tests that are not about the backoff do not wait.
RetryPolicy NoBackoff(int64_t max_attempts = 3) {
  RetryPolicy policy;
  policy.max_attempts = max_attempts;
  policy.backoff = absl::ZeroDuration();
  return policy;
}

class JobQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshScratchDir();
    path_ = (dir_ / "affsig.db").string();
  }

  std::unique_ptr<JobQueue> OpenQueue() {
    auto queue = JobQueue::Open(path_);
    EXPECT_TRUE(queue.ok()) << queue.status();
    return queue.ok() ? *std::move(queue) : nullptr;
  }

  static JobSpec Spec(const std::string& name, int64_t priority = 0) {
    JobSpec spec;
    spec.name = name;
    spec.model_sha256 = "m" + name;
    spec.data.kind = DataKind::kUpload;
    spec.data.location = "i" + name;
    spec.priority = priority;
    return spec;
  }

  // The next job for `holder`; fails the test when there is none.
  static Claimed MustClaim(JobQueue& queue, const LeaseHolder& holder = kRemote) {
    auto claimed = queue.Claim(holder);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    EXPECT_TRUE(claimed.ok() && claimed->has_value()) << "no job to claim";
    return claimed.ok() && claimed->has_value() ? **std::move(claimed) : Claimed();
  }

  // Whether any job can be claimed now (a claimed one is given back at once).
  static bool SomethingClaimable(JobQueue& queue) {
    auto claimed = queue.Claim(kRemote);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    if (!claimed.ok() || !claimed->has_value()) return false;
    EXPECT_TRUE(queue
                    .EndAttempt((*claimed)->attempt.lease_id, AttemptOutcome::kReturned, "probe",
                                NoBackoff())
                    .ok());
    return true;
  }

  static Signature TwoEntries() {
    return {{0, "layer1.relu", 0, "ReLU", 64, 32, 0.75, EntryStatus::kOk, ""},
            {1, "", 0, "softmax", 10, 32, 0.0, EntryStatus::kNonFinite, "the output holds NaN"}};
  }

  Signature Entries(const std::string& id) {
    auto signatures = SignatureStore::Open(path_);
    EXPECT_TRUE(signatures.ok()) << signatures.status();
    auto stored = (*signatures)->Get(id);
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? stored->entries : Signature();
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(JobQueueTest, SubmittedJobIsQueuedWithItsSpecAndLabels) {
  auto queue = OpenQueue();
  JobSpec spec = Spec("a");
  spec.activations = ActivationMode::kAll;
  spec.labels = {{"arch", "resnet18"}, {"acc1", "69.8"}};
  spec.timeout = absl::Minutes(90);
  auto job = queue->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->attempts, 0);
  EXPECT_GT(job->created_at_ms, 0);
  EXPECT_TRUE(job->history.empty());
  EXPECT_FALSE(job->cancel_requested);
  auto fetched = queue->Get(job->id);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->spec.name, "a");
  EXPECT_EQ(fetched->spec.model_sha256, "ma");
  EXPECT_EQ(fetched->spec.data.kind, DataKind::kUpload);
  EXPECT_EQ(fetched->spec.data.location, "ia");
  EXPECT_EQ(fetched->spec.activations, ActivationMode::kAll);
  EXPECT_EQ(fetched->spec.timeout, absl::Minutes(90));
  EXPECT_THAT(fetched->spec.labels, ElementsAre(Pair("acc1", "69.8"), Pair("arch", "resnet18")));
  auto unknown = queue->Get("job-unknown");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorReason(unknown.status()), reason::kJobNotFound);
}

TEST_F(JobQueueTest, ADataSourceAndItsOptionsRoundTrip) {
  auto queue = OpenQueue();
  JobSpec spec = Spec("random");
  auto data = ParseDataSource("random:3x8x8,count=16,seed=7,mean=0.5,std=2");
  ASSERT_TRUE(data.ok()) << data.status();
  spec.data = *data;
  ASSERT_TRUE(ParseDataOptions("batch_size=4,batches=2,shuffle_seed=3,resize=0,crop=8,"
                               "mean=0.1/0.2/0.3,std=0.4/0.5/0.6",
                               spec.data)
                  .ok());
  auto job = queue->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto fetched = queue->Get(job->id);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  const DataSpec& read = fetched->spec.data;
  EXPECT_EQ(read.kind, DataKind::kRandom);
  EXPECT_THAT(read.random.shape, ElementsAre(3, 8, 8));
  EXPECT_EQ(read.random.count, 16);
  EXPECT_EQ(read.random.seed, 7u);
  EXPECT_DOUBLE_EQ(read.random.mean, 0.5);
  EXPECT_DOUBLE_EQ(read.random.std, 2.0);
  EXPECT_EQ(read.batching.batch_size, 4);
  EXPECT_EQ(read.batching.batches, 2);
  EXPECT_EQ(read.batching.shuffle_seed, 3u);
  // resize=0 (turned off) must stay distinct from an unset resize, which takes the defaults.
  EXPECT_EQ(read.preprocessing.resize, 0);
  EXPECT_EQ(read.preprocessing.crop, 8);
  EXPECT_THAT(read.preprocessing.mean, ElementsAre(0.1, 0.2, 0.3));
  EXPECT_THAT(read.preprocessing.std, ElementsAre(0.4, 0.5, 0.6));
  EXPECT_EQ(FormatDataSource(read), FormatDataSource(spec.data));

  JobSpec server_file = Spec("file");
  server_file.data = *ParseDataSource("server:/data/batch.npy");
  auto file_job = queue->Submit(server_file);
  ASSERT_TRUE(file_job.ok()) << file_job.status();
  EXPECT_EQ(queue->Get(file_job->id)->spec.data.kind, DataKind::kServerFile);
  EXPECT_EQ(queue->Get(file_job->id)->spec.data.location, "/data/batch.npy");
}

TEST_F(JobQueueTest, WorkersTakeJobsByPriorityThenSubmissionOrder) {
  auto queue = OpenQueue();
  const std::string low1 = queue->Submit(Spec("low1"))->id;
  const std::string high = queue->Submit(Spec("high", 5))->id;
  const std::string low2 = queue->Submit(Spec("low2"))->id;
  std::vector<std::string> order;
  std::set<std::string> leases;
  while (true) {
    auto next = queue->Claim(kRemote);
    ASSERT_TRUE(next.ok()) << next.status();
    if (!next->has_value()) break;
    const Claimed& claimed = **next;
    EXPECT_EQ(claimed.job.state, JobState::kRunning);
    EXPECT_EQ(claimed.job.attempts, 1);
    EXPECT_EQ(claimed.attempt.number, 1);
    EXPECT_EQ(claimed.attempt.job_id, claimed.job.id);
    EXPECT_EQ(claimed.attempt.holder.worker, kRemote.worker);
    EXPECT_FALSE(claimed.attempt.lease_id.empty());
    leases.insert(claimed.attempt.lease_id);
    order.push_back(claimed.job.id);
  }
  EXPECT_THAT(order, ElementsAre(high, low1, low2));
  EXPECT_EQ(leases.size(), 3u);  // each attempt its own lease
}

// Fair share: among equal priorities, the user whose last job started longest ago goes next.
TEST_F(JobQueueTest, UsersTakeTurnsAmongEqualPriorities) {
  auto queue = OpenQueue();
  auto submit = [&](const std::string& name, const std::string& owner, int64_t priority = 0) {
    SubmitOptions options;
    options.owner = owner;
    auto job = queue->Submit(Spec(name, priority), options);
    EXPECT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(job->owner, owner);
    return job->id;
  };
  std::map<std::string, std::string> names;
  for (int i = 1; i <= 4; ++i) names[submit(absl::StrCat("a", i), "alice")] = absl::StrCat("a", i);
  names[submit("b1", "bob")] = "b1";
  names[submit("b2", "bob")] = "b2";
  names[submit("c1", "carol")] = "c1";
  names[submit("urgent", "bob", 3)] = "urgent";
  std::vector<std::string> order;
  while (true) {
    auto next = queue->Claim(kRemote);
    ASSERT_TRUE(next.ok()) << next.status();
    if (!next->has_value()) break;
    order.push_back(names[(*next)->job.id]);
  }
  // The urgent job first (bob's turn counts: he was served), then alice, carol (never served),
  // bob, alice, bob, then alice's rest.
  EXPECT_THAT(order, ElementsAre("urgent", "a1", "c1", "b1", "a2", "b2", "a3", "a4"));
}

TEST_F(JobQueueTest, AnOwnersQueuedJobsAreLimited) {
  auto queue = OpenQueue();
  SubmitOptions alice;
  alice.owner = "alice";
  alice.max_queued_for_owner = 2;
  ASSERT_TRUE(queue->Submit(Spec("a1"), alice).ok());
  ASSERT_TRUE(queue->Submit(Spec("a2"), alice).ok());
  auto third = queue->Submit(Spec("a3"), alice);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(third.status()), reason::kQuotaExceeded);
  SubmitOptions bob = alice;
  bob.owner = "bob";
  EXPECT_TRUE(queue->Submit(Spec("b1"), bob).ok());  // another user's count
  MustClaim(*queue);                                 // one of alice's starts: room again
  EXPECT_TRUE(queue->Submit(Spec("a3"), alice).ok());
}

TEST_F(JobQueueTest, EntriesAndSuccessAreWrittenTogetherAndOnlyOnce) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  auto unleased = queue->Complete("lease-none", TwoEntries());
  EXPECT_EQ(unleased.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(unleased.status()), reason::kLeaseExpired);
  const Claimed claimed = MustClaim(*queue);
  auto done = queue->Complete(claimed.attempt.lease_id, TwoEntries());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state, JobState::kSucceeded);
  EXPECT_GT(done->finished_at_ms, 0);
  EXPECT_EQ(queue->Get(id)->state, JobState::kSucceeded);
  // A second completion (a worker that did not learn that its first one arrived) changes nothing.
  auto again = queue->Complete(claimed.attempt.lease_id, TwoEntries());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(again.status()), reason::kLeaseExpired);
  auto stored = Entries(id);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].module, "layer1.relu");
  EXPECT_DOUBLE_EQ(stored[0].score, 0.75);
  EXPECT_EQ(stored[1].status, EntryStatus::kNonFinite);
  EXPECT_EQ(stored[1].reason, "the output holds NaN");
  EXPECT_EQ(queue->Get(id)->history.back().outcome, AttemptOutcome::kSucceeded);
}

TEST_F(JobQueueTest, AStaleLeaseCannotCompleteAJobThatWasLeasedAgain) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  const Claimed first = MustClaim(*queue);
  ASSERT_TRUE(
      queue->EndAttempt(first.attempt.lease_id, AttemptOutcome::kLost, "lease expired", NoBackoff())
          .ok());
  const Claimed second = MustClaim(*queue);
  ASSERT_EQ(second.job.id, id);
  EXPECT_EQ(second.attempt.number, 2);
  EXPECT_NE(second.attempt.lease_id, first.attempt.lease_id);

  // The first worker was only slow: its late result must not overwrite the running attempt.
  auto stale = queue->Complete(first.attempt.lease_id, TwoEntries());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(stale.status()), reason::kLeaseExpired);
  auto stale_end =
      queue->EndAttempt(first.attempt.lease_id, AttemptOutcome::kFailed, "late", NoBackoff());
  EXPECT_EQ(ErrorReason(stale_end.status()), reason::kLeaseExpired);
  EXPECT_EQ(queue->Get(id)->state, JobState::kRunning);
  EXPECT_TRUE(Entries(id).empty());

  ASSERT_TRUE(queue->Complete(second.attempt.lease_id, TwoEntries()).ok());
  EXPECT_EQ(queue->Get(id)->state, JobState::kSucceeded);
  EXPECT_EQ(Entries(id).size(), 2u);
}

TEST_F(JobQueueTest, EachAttemptIsRecordedWithItsWorkerDeviceOutcomeAndReason) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  const Claimed first = MustClaim(*queue, {"w1", "cuda:0", false});
  ASSERT_TRUE(queue
                  ->EndAttempt(first.attempt.lease_id, AttemptOutcome::kReturned, "worker stopping",
                               NoBackoff())
                  .ok());
  const Claimed second = MustClaim(*queue, {"w2", "cuda:1", false});
  ASSERT_TRUE(queue
                  ->EndAttempt(second.attempt.lease_id, AttemptOutcome::kLost,
                               "worker lost: signal 9", NoBackoff())
                  .ok());
  const Claimed third = MustClaim(*queue, {"w3", "cpu", true});

  // The open attempt is listed with no outcome yet.
  auto running = queue->Get(id);
  ASSERT_TRUE(running.ok()) << running.status();
  ASSERT_EQ(running->history.size(), 3u);
  EXPECT_FALSE(running->history[2].outcome.has_value());
  EXPECT_EQ(running->history[2].ended_at_ms, 0);

  ASSERT_TRUE(queue->Complete(third.attempt.lease_id, TwoEntries()).ok());
  auto job = queue->Get(id);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->attempts, 3);
  ASSERT_EQ(job->history.size(), 3u);
  const struct {
    const char* worker;
    const char* device;
    AttemptOutcome outcome;
    const char* reason;
  } expected[] = {{"w1", "cuda:0", AttemptOutcome::kReturned, "worker stopping"},
                  {"w2", "cuda:1", AttemptOutcome::kLost, "worker lost: signal 9"},
                  {"w3", "cpu", AttemptOutcome::kSucceeded, ""}};
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const JobAttempt& attempt = job->history[i];
    EXPECT_EQ(attempt.number, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(attempt.worker, expected[i].worker);
    EXPECT_EQ(attempt.device, expected[i].device);
    EXPECT_EQ(attempt.outcome, expected[i].outcome);
    EXPECT_EQ(attempt.reason, expected[i].reason);
    EXPECT_GT(attempt.started_at_ms, 0);
    EXPECT_GE(attempt.ended_at_ms, attempt.started_at_ms);
  }
}

TEST_F(JobQueueTest, ALostJobWaitsOutItsBackoffBeforeItsNextAttempt) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  RetryPolicy policy;
  policy.backoff = absl::Milliseconds(200);
  const Claimed first = MustClaim(*queue);
  auto lost =
      queue->EndAttempt(first.attempt.lease_id, AttemptOutcome::kLost, "lease expired", policy);
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_EQ(lost->state, JobState::kQueued);
  // Queued, but a worker that asks at once (perhaps the one that lost it) does not get it yet.
  auto now = queue->Claim(kRemote);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_FALSE(now->has_value());

  absl::SleepFor(absl::Milliseconds(300));  // past the backoff: the behaviour under test
  const Claimed second = MustClaim(*queue);
  EXPECT_EQ(second.job.id, id);
  EXPECT_EQ(second.attempt.number, 2);
}

TEST_F(JobQueueTest, TheBackoffIsCappedAtItsMaximum) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  RetryPolicy policy;
  policy.backoff = absl::Hours(1);
  policy.max_backoff = absl::Milliseconds(200);
  const Claimed first = MustClaim(*queue);
  ASSERT_TRUE(
      queue->EndAttempt(first.attempt.lease_id, AttemptOutcome::kLost, "lease expired", policy)
          .ok());
  absl::SleepFor(absl::Milliseconds(300));  // past max_backoff, far short of backoff
  EXPECT_EQ(MustClaim(*queue).job.id, id);
}

TEST_F(JobQueueTest, AJobLostMaxAttemptsTimesFailsNamingEachAttempt) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  const RetryPolicy policy = NoBackoff(/*max_attempts=*/2);
  auto first = queue->EndAttempt(MustClaim(*queue).attempt.lease_id, AttemptOutcome::kLost,
                                 "worker lost: signal 9", policy);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state, JobState::kQueued);
  auto second = queue->EndAttempt(MustClaim(*queue).attempt.lease_id, AttemptOutcome::kLost,
                                  "lease expired", policy);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->state, JobState::kFailed);
  EXPECT_EQ(second->attempts, 2);
  EXPECT_THAT(second->error,
              HasSubstr("attempt 1: worker lost: signal 9; attempt 2: lease expired"));
  EXPECT_GT(second->finished_at_ms, 0);
  EXPECT_FALSE(SomethingClaimable(*queue));
  EXPECT_EQ(queue->Get(id)->state, JobState::kFailed);
}

TEST_F(JobQueueTest, ReturnedAttemptsAreRequeuedAtOnceAndDoNotCountAsLost) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  // A backoff that the test could not wait out: a returned job must not be subject to it.
  RetryPolicy slow;
  slow.max_attempts = 2;
  slow.backoff = absl::Hours(1);
  for (int i = 0; i < 2; ++i) {
    auto returned = queue->EndAttempt(MustClaim(*queue).attempt.lease_id, AttemptOutcome::kReturned,
                                      "server stopping", slow);
    ASSERT_TRUE(returned.ok()) << returned.status();
    EXPECT_EQ(returned->state, JobState::kQueued);
  }
  // Attempts 1 and 2 were returned: the first lost one, attempt 3, is not yet the second.
  const RetryPolicy policy = NoBackoff(/*max_attempts=*/2);
  auto lost = queue->EndAttempt(MustClaim(*queue).attempt.lease_id, AttemptOutcome::kLost,
                                "lease expired", policy);
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_EQ(lost->state, JobState::kQueued);
  auto failed = queue->EndAttempt(MustClaim(*queue).attempt.lease_id, AttemptOutcome::kLost,
                                  "worker lost: signal 9", policy);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->attempts, 4);
  EXPECT_THAT(failed->error,
              HasSubstr("attempt 3: lease expired; attempt 4: worker lost: signal 9"));
  EXPECT_THAT(failed->error, Not(HasSubstr("attempt 1")));
  EXPECT_EQ(queue->Get(id)->state, JobState::kFailed);
}

TEST_F(JobQueueTest, JobsLeftRunningByACrashAreRequeuedOrKeptOrCancelled) {
  std::string local, remote, cancelled, queued, remote_lease;
  {
    auto queue = OpenQueue();
    local = queue->Submit(Spec("local"))->id;
    remote = queue->Submit(Spec("remote"))->id;
    cancelled = queue->Submit(Spec("cancelled"))->id;
    queued = queue->Submit(Spec("queued"))->id;
    ASSERT_EQ(MustClaim(*queue, kLocal).job.id, local);
    const Claimed on_remote = MustClaim(*queue, kRemote);
    ASSERT_EQ(on_remote.job.id, remote);
    remote_lease = on_remote.attempt.lease_id;
    ASSERT_EQ(MustClaim(*queue, kRemote).job.id, cancelled);
    ASSERT_TRUE(queue->Cancel(cancelled).ok());
    // The process dies here: the queue is dropped without the jobs ending.
  }
  auto queue = OpenQueue();
  EXPECT_EQ(queue->recovery().requeued, 1);
  EXPECT_EQ(queue->recovery().kept, 1);
  EXPECT_EQ(queue->recovery().cancelled, 1);

  // The local worker died with the server: its attempt was returned, not lost.
  auto requeued = queue->Get(local);
  ASSERT_TRUE(requeued.ok()) << requeued.status();
  EXPECT_EQ(requeued->state, JobState::kQueued);
  ASSERT_EQ(requeued->history.size(), 1u);
  EXPECT_EQ(requeued->history[0].outcome, AttemptOutcome::kReturned);
  // A cancel asked for before the crash is not forgotten: the job does not run again.
  auto ended = queue->Get(cancelled);
  EXPECT_EQ(ended->state, JobState::kCancelled);
  EXPECT_EQ(ended->history[0].outcome, AttemptOutcome::kCancelled);
  // A remote worker outlives the server: its lease stays open for it to finish.
  EXPECT_EQ(queue->Get(remote)->state, JobState::kRunning);
  auto open = queue->OpenAttempts();
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].lease_id, remote_lease);
  EXPECT_EQ((*open)[0].job_id, remote);
  EXPECT_EQ((*open)[0].holder.worker, kRemote.worker);
  EXPECT_EQ((*open)[0].holder.device, kRemote.device);
  EXPECT_FALSE((*open)[0].holder.local);

  const Claimed again = MustClaim(*queue, kLocal);
  EXPECT_EQ(again.job.id, local);
  EXPECT_EQ(again.job.attempts, 2);
  EXPECT_EQ(again.attempt.number, 2);
  ASSERT_TRUE(queue->Complete(again.attempt.lease_id, TwoEntries()).ok());
  EXPECT_EQ(Entries(local).size(), 2u);
  ASSERT_TRUE(queue->Complete(remote_lease, TwoEntries()).ok());
  EXPECT_EQ(queue->Get(remote)->state, JobState::kSucceeded);
  EXPECT_EQ(queue->Get(queued)->state, JobState::kQueued);
}

TEST_F(JobQueueTest, JobsRunningInADatabaseOlderThanLeasesAreRequeued) {
  {
    // A database as the third schema left it (no attempts table), with a job left RUNNING.
    std::vector<Migration> before_leases(BuiltInMigrations().begin(),
                                         BuiltInMigrations().begin() + 3);
    auto db = Database::Open(path_, before_leases);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_EQ((*db)->SchemaVersion(), 3);
    ASSERT_TRUE((*db)
                    ->Execute("INSERT INTO jobs (id, seq, model_sha256, input_sha256, "
                              "activations, state, attempts, created_at, started_at) VALUES "
                              "('job-old', 1, 'm', 'i', 'modules', 'RUNNING', 1, 1000, 2000)")
                    .ok());
  }
  auto queue = OpenQueue();
  EXPECT_EQ(queue->recovery().requeued, 1);
  auto job = queue->Get("job-old");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->spec.timeout, absl::Hours(1));  // the migration's default
  const Claimed claimed = MustClaim(*queue);
  EXPECT_EQ(claimed.job.id, "job-old");
  EXPECT_EQ(claimed.attempt.number, 2);  // the attempt before leases still counts
}

TEST_F(JobQueueTest, CancellingQueuedEndsAtOnceAndRunningAsksTheWorker) {
  auto queue = OpenQueue();
  const std::string first = queue->Submit(Spec("a"))->id;
  const std::string second = queue->Submit(Spec("b"))->id;
  const Claimed claimed = MustClaim(*queue);
  ASSERT_EQ(claimed.job.id, first);
  auto cancelled = queue->Cancel(second);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_GT(cancelled->finished_at_ms, 0);
  EXPECT_FALSE(SomethingClaimable(*queue));

  EXPECT_FALSE(queue->Get(first)->cancel_requested);
  auto requested = queue->Cancel(first);
  ASSERT_TRUE(requested.ok()) << requested.status();
  EXPECT_EQ(requested->state, JobState::kRunning);
  EXPECT_TRUE(requested->cancel_requested);
  auto open = queue->OpenAttempts();
  ASSERT_TRUE(open.ok() && open->size() == 1u);
  EXPECT_TRUE((*open)[0].cancel_requested);

  auto stopped = queue->EndAttempt(claimed.attempt.lease_id, AttemptOutcome::kCancelled,
                                   "cancelled while running", NoBackoff());
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->state, JobState::kCancelled);
  EXPECT_EQ(stopped->history.back().outcome, AttemptOutcome::kCancelled);
  auto twice = queue->Cancel(first);
  EXPECT_THAT(twice.status().message(), HasSubstr("already ended: CANCELLED"));
  EXPECT_EQ(ErrorReason(twice.status()), reason::kJobAlreadyEnded);
  EXPECT_EQ(queue->Cancel("job-none").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobQueueTest, ACancelledJobIsNotQueuedAgainWhenItsWorkerIsLostOrReturnsIt) {
  auto queue = OpenQueue();
  for (AttemptOutcome outcome : {AttemptOutcome::kLost, AttemptOutcome::kReturned}) {
    SCOPED_TRACE(AttemptOutcomeName(outcome));
    const std::string id = queue->Submit(Spec("a"))->id;
    const Claimed claimed = MustClaim(*queue);
    ASSERT_TRUE(queue->Cancel(id).ok());
    auto ended =
        queue->EndAttempt(claimed.attempt.lease_id, outcome, "worker went away", NoBackoff());
    ASSERT_TRUE(ended.ok()) << ended.status();
    EXPECT_EQ(ended->state, JobState::kCancelled);
    EXPECT_EQ(ended->history.back().outcome, outcome);
    EXPECT_FALSE(SomethingClaimable(*queue));
  }
}

TEST_F(JobQueueTest, FailedJobKeepsItsError) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  const Claimed claimed = MustClaim(*queue);
  ASSERT_TRUE(queue
                  ->EndAttempt(claimed.attempt.lease_id, AttemptOutcome::kFailed,
                               "the model's forward failed: bad shape", NoBackoff())
                  .ok());
  auto job = queue->Get(id);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->error, "the model's forward failed: bad shape");
  EXPECT_GT(job->finished_at_ms, 0);
  // The job's own failure is not retried, whatever attempts remain.
  EXPECT_FALSE(SomethingClaimable(*queue));
}

TEST_F(JobQueueTest, ATimedOutJobFailsAndIsNotRetried) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  const Claimed claimed = MustClaim(*queue);
  auto job = queue->EndAttempt(claimed.attempt.lease_id, AttemptOutcome::kTimedOut,
                               "timeout: the job ran longer than its 1h", NoBackoff());
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_THAT(job->error, HasSubstr("timeout"));
  EXPECT_EQ(job->history.back().outcome, AttemptOutcome::kTimedOut);
  EXPECT_FALSE(SomethingClaimable(*queue));
}

TEST_F(JobQueueTest, SuccessIsNotAnOutcomeToEndAnAttemptWithAndChangesNothing) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  const Claimed claimed = MustClaim(*queue);
  auto refused =
      queue->EndAttempt(claimed.attempt.lease_id, AttemptOutcome::kSucceeded, "", NoBackoff());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  // The attempt closed inside the refused transaction is open again: the lease still holds.
  EXPECT_EQ(queue->Get(id)->state, JobState::kRunning);
  EXPECT_FALSE(queue->Get(id)->history.back().outcome.has_value());
  EXPECT_TRUE(queue->Complete(claimed.attempt.lease_id, TwoEntries()).ok());
}

TEST_F(JobQueueTest, ListsNewestFirstByFilterInPagesThatTokensContinue) {
  auto queue = OpenQueue();
  std::vector<std::string> resnets;
  for (int i = 0; i < 7; ++i) {
    JobSpec spec = Spec(i % 2 == 0 ? "even" : "odd");
    spec.labels = {{"arch", i < 5 ? "resnet18" : "vgg11"}, {"seed", std::to_string(i)}};
    const std::string id = queue->Submit(spec)->id;
    if (i < 5) resnets.insert(resnets.begin(), id);  // newest first
  }
  JobFilter filter;
  filter.labels = {*ParseLabelFilter("arch=resnet18"), *ParseLabelFilter("seed")};
  std::vector<std::string> listed;
  PageRequest page{2, ""};
  int pages = 0;
  do {
    auto result = queue->List(filter, page);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_LE(result->items.size(), 2u);
    for (const Job& job : result->items) listed.push_back(job.id);
    page.page_token = result->next_page_token;
    ++pages;
  } while (!page.page_token.empty());
  EXPECT_EQ(listed, resnets);
  EXPECT_EQ(pages, 3);

  filter.name = "even";  // seeds 0, 2, 4 among the resnets
  EXPECT_EQ(queue->List(filter, {})->items.size(), 3u);
  auto first = queue->List(filter, {1, ""});
  ASSERT_FALSE(first->next_page_token.empty());
  filter.name = "odd";  // a token is valid only with the filter it was made for
  auto replayed = queue->List(filter, {1, first->next_page_token});
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(replayed.status().message(), HasSubstr("other filters"));
  EXPECT_EQ(queue->List({}, {1, "garbage"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queue->List({}, {-1, ""}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseLabelFilter("=v").ok());

  const Claimed claimed = MustClaim(*queue);
  JobFilter running;
  running.state = JobState::kRunning;
  auto listed_running = queue->List(running, {});
  ASSERT_TRUE(listed_running.ok()) << listed_running.status();
  ASSERT_EQ(listed_running->items.size(), 1u);
  // Listed jobs carry their attempts, as Get's do.
  ASSERT_EQ(listed_running->items[0].history.size(), 1u);
  EXPECT_EQ(listed_running->items[0].history[0].worker, kRemote.worker);
  auto counts = queue->CountByState();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[JobState::kQueued], 6);
  EXPECT_EQ((*counts)[JobState::kRunning], 1);
}

TEST_F(JobQueueTest, DeletesAnyJobButARunningOneWithItsEntries) {
  auto queue = OpenQueue();
  const std::string done = queue->Submit(Spec("done"))->id;
  const std::string queued = queue->Submit(Spec("queued"))->id;
  const Claimed claimed = MustClaim(*queue);
  ASSERT_EQ(claimed.job.id, done);
  auto running = queue->Delete(done);
  EXPECT_THAT(running.message(), HasSubstr("cancel it first"));
  EXPECT_EQ(ErrorReason(running), reason::kJobRunning);
  ASSERT_TRUE(queue->Complete(claimed.attempt.lease_id, TwoEntries()).ok());
  ASSERT_TRUE(queue->Delete(done).ok());
  EXPECT_EQ(queue->Get(done).status().code(), absl::StatusCode::kNotFound);
  auto signatures = SignatureStore::Open(path_);
  EXPECT_EQ((*signatures)->Get(done).status().code(), absl::StatusCode::kNotFound);
  auto db = Database::Open(path_);
  for (const char* table : {"signature_entries", "job_attempts"}) {
    SCOPED_TRACE(table);
    auto rows = (*db)->Prepare(std::string("SELECT COUNT(*) FROM ") + table);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_TRUE((*rows)->Step());
    EXPECT_EQ((*rows)->Int(0), 0);
  }
  // A deleted queued job is never taken.
  ASSERT_TRUE(queue->Delete(queued).ok());
  EXPECT_FALSE(SomethingClaimable(*queue));
  EXPECT_EQ(queue->Delete(queued).code(), absl::StatusCode::kNotFound);
}

TEST_F(JobQueueTest, MigratesEmptyAndExistingDatabasesAndRefusesNewerOnes) {
  {
    auto db = Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.status();
    EXPECT_EQ((*db)->SchemaVersion(), BuiltInMigrations().back().version);
  }
  {
    auto db = Database::Open(path_);  // already migrated: nothing to do
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Execute("PRAGMA user_version = 999").ok());
  }
  auto newer = Database::Open(path_);
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.status().message(), HasSubstr("schema version 999"));
  EXPECT_THAT(newer.status().message(), HasSubstr("newer affsig-server"));
}

TEST_F(JobQueueTest, JobsQueuedBeforeTheFairShareIndexAreTakenAfterTheMigration) {
  // A database of migration 0009, whose queued jobs' owners were never given a turn.
  std::vector<Migration> before;
  for (const Migration& migration : BuiltInMigrations()) {
    if (migration.version < 10) before.push_back(migration);
  }
  {
    auto db = Database::Open(path_, before);
    ASSERT_TRUE(db.ok()) << db.status();
    for (const char* owner : {"alice", "bob"}) {
      ASSERT_TRUE(
          (*db)
              ->Execute(absl::StrCat("INSERT INTO jobs (id, seq, model_sha256, input_sha256, "
                                     "activations, state, created_at, owner) VALUES ('job-",
                                     owner,
                                     "', (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), 'm', 'i', "
                                     "'modules', 'QUEUED', 0, '",
                                     owner, "')"))
              .ok());
    }
  }
  auto queue = OpenQueue();  // migrated to the latest
  EXPECT_EQ(MustClaim(*queue).job.id, "job-alice");
  EXPECT_EQ(MustClaim(*queue).job.id, "job-bob");
  EXPECT_FALSE(SomethingClaimable(*queue));
}

TEST_F(JobQueueTest, AFailingMigrationLeavesTheDatabaseAtItsLastVersion) {
  std::vector<Migration> migrations = BuiltInMigrations();
  migrations.push_back({migrations.back().version + 1, "9999_broken.sql",
                        "CREATE TABLE extra (x INTEGER); THIS IS NOT SQL;"});
  auto db = Database::Open(path_, migrations);
  EXPECT_THAT(db.status().message(), HasSubstr("9999_broken.sql"));
  auto reopened = Database::Open(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->SchemaVersion(), BuiltInMigrations().back().version);
  EXPECT_FALSE((*reopened)->Execute("SELECT x FROM extra").ok());
}

TEST_F(JobQueueTest, ARequestIdMakesOneJobHoweverOftenItIsSubmitted) {
  JobSpec spec = Spec("a");
  spec.request_id = "3f2c8e0a-request";
  bool created = false;
  auto first = OpenQueue()->Submit(spec, {}, &created);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(created);
  // Again, after a restart: the same job, nothing new.
  auto queue = OpenQueue();
  auto again = queue->Submit(spec, {}, &created);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(created);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(again->spec.request_id, spec.request_id);
  EXPECT_EQ(queue->List({}, {})->items.size(), 1u);

  // A full queue refuses new jobs with a reason, but a repeated request still gets its job.
  SubmitOptions one;
  one.max_queued = 1;
  auto full = queue->Submit(Spec("b"), one);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(full.status()), reason::kQueueFull);
  auto repeated = queue->Submit(spec, one, &created);
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  EXPECT_EQ(repeated->id, first->id);
  SubmitOptions two;
  two.max_queued = 2;
  EXPECT_TRUE(queue->Submit(Spec("c"), two).ok());
  // Another user's request id is not this one's: their job is theirs.
  SubmitOptions bob = two;
  bob.owner = "bob";
  bob.max_queued = 0;
  auto bobs = queue->Submit(spec, bob, &created);
  ASSERT_TRUE(bobs.ok()) << bobs.status();
  EXPECT_TRUE(created);
  EXPECT_NE(bobs->id, first->id);
}

}  // namespace
}  // namespace affsig::store
