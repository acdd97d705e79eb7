#include "server/core/job_leases.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "common/error_reason.h"
#include "server/store/signature_store.h"
#include "tests/scratch_dir.h"

namespace affsig::core {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

constexpr absl::Duration kLease = absl::Seconds(15);
constexpr absl::Duration kGrace = absl::Seconds(5);
// How long Acquire waits when the test expects no job: short, since nothing will come.
constexpr absl::Duration kShortWait = absl::Milliseconds(50);
// How long Acquire may wait when the test expects it to be answered early: never reached.
constexpr absl::Duration kLongWait = absl::Seconds(30);

Signature OneEntry() { return {{0, "layer1.relu", 0, "ReLU", 64, 32, 0.75, EntryStatus::kOk, ""}}; }

// JobLeases against a real queue on a scratch database and a real monitor; leases and deadlines
// are measured on a clock that only the test moves.
class JobLeasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (testing::FreshScratchDir() / "affsig.db").string();
    StartServer();
  }

  // Opens the database as a (re)starting server does: queue, monitor and leases afresh.
  void StartServer() {
    leases_.reset();
    monitor_.reset();
    queue_.reset();
    auto queue = store::JobQueue::Open(path_);
    ASSERT_TRUE(queue.ok()) << queue.status();
    queue_ = *std::move(queue);
    monitor_ = std::make_unique<JobMonitor>();
    LeaseOptions options;
    options.lease = kLease;
    options.cancel_grace = kGrace;
    options.retry.max_attempts = 3;
    // The store measures the backoff in real time: none, so that a lost job is leased at once.
    options.retry.backoff = absl::ZeroDuration();
    options.clock = [this] { return now_; };
    leases_ = std::make_unique<JobLeases>(*queue_, *monitor_, options);
  }

  std::string Submit(const std::string& name, absl::Duration timeout = absl::ZeroDuration()) {
    JobSpec spec;
    spec.name = name;
    spec.model_sha256 = "m" + name;
    spec.data.location = "i" + name;
    spec.timeout = timeout;
    auto job = queue_->Submit(spec);
    EXPECT_TRUE(job.ok()) << job.status();
    leases_->NotifyQueued();
    return job.ok() ? job->id : "";
  }

  static WorkerRequest Request(const std::string& worker) {
    WorkerRequest request;
    request.worker = worker;
    request.device = "cuda:0";
    request.host = "node7";
    request.pid = 4242;
    request.version = "1.0";
    return request;
  }

  std::optional<Lease> Acquire(const std::string& worker, absl::Duration wait = kShortWait) {
    auto lease = leases_->Acquire(Request(worker), wait);
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? *std::move(lease) : std::nullopt;
  }

  // A lease for `worker`; fails the test when no job comes.
  Lease MustAcquire(const std::string& worker) {
    std::optional<Lease> lease = Acquire(worker);
    EXPECT_TRUE(lease.has_value()) << "no job for " << worker;
    return lease.value_or(Lease());
  }

  Job Get(const std::string& id) {
    auto job = queue_->Get(id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *std::move(job) : Job();
  }

  std::string path_;
  absl::Time now_ = absl::Now();
  std::unique_ptr<store::JobQueue> queue_;
  std::unique_ptr<JobMonitor> monitor_;
  std::unique_ptr<JobLeases> leases_;
};

TEST_F(JobLeasesTest, AcquireLeasesTheNextJobAndNothingWhenNoneComes) {
  const std::string id = Submit("a", absl::Minutes(10));
  const Lease lease = MustAcquire("w1");
  EXPECT_EQ(lease.job.id, id);
  EXPECT_EQ(lease.job.state, JobState::kRunning);
  EXPECT_EQ(lease.attempt, 1);
  EXPECT_FALSE(lease.lease_id.empty());
  EXPECT_EQ(lease.expires_in, kLease);
  EXPECT_EQ(lease.deadline_in, absl::Minutes(10));

  auto running = monitor_->Running(id);
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->worker, "w1");
  EXPECT_EQ(running->device, "cuda:0");
  auto workers = monitor_->Workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].name, "w1");
  EXPECT_EQ(workers[0].host, "node7");
  EXPECT_EQ(workers[0].pid, 4242);
  EXPECT_FALSE(workers[0].local);
  EXPECT_EQ(workers[0].job_id, id);
  EXPECT_EQ(workers[0].last_seen, now_);
  const Job job = Get(id);
  ASSERT_EQ(job.history.size(), 1u);
  EXPECT_EQ(job.history[0].worker, "w1");
  EXPECT_EQ(job.history[0].device, "cuda:0");

  EXPECT_FALSE(Acquire("w2").has_value());
}

TEST_F(JobLeasesTest, AWaitingWorkerGetsAJobQueuedDuringItsWait) {
  std::optional<Lease> lease;
  std::thread worker([&] { lease = Acquire("w1", kLongWait); });
  // Queued before or during the wait, the job goes to the waiting worker.
  const std::string id = Submit("a");
  worker.join();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->job.id, id);
}

TEST_F(JobLeasesTest, RenewExtendsTheLeaseAndCarriesProgressAndTheCancel) {
  const std::string id = Submit("a");
  const Lease lease = MustAcquire("w1");
  now_ += absl::Seconds(10);
  auto renewal = leases_->Renew(lease.lease_id, JobProgress{3, 10, "layer1.relu", 1, 2});
  ASSERT_TRUE(renewal.ok()) << renewal.status();
  EXPECT_FALSE(renewal->cancel);
  EXPECT_EQ(renewal->expires_in, kLease);
  auto running = monitor_->Running(id);
  ASSERT_TRUE(running.has_value() && running->progress.has_value());
  EXPECT_EQ(running->progress->done, 3);
  EXPECT_EQ(running->progress->total, 10);
  EXPECT_EQ(running->progress->activation, "layer1.relu");
  EXPECT_EQ(running->progress->batches, 2);

  // 20 s after the lease was given, but 10 s after its renewal: still held.
  now_ += absl::Seconds(10);
  leases_->Enforce();
  EXPECT_EQ(Get(id).state, JobState::kRunning);
  // A renewal without progress keeps what was reported.
  ASSERT_TRUE(leases_->Renew(lease.lease_id, std::nullopt).ok());
  EXPECT_EQ(monitor_->Running(id)->progress->done, 3);

  // The core records the cancel in the store, then tells the leases.
  auto cancel = queue_->Cancel(id);
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  ASSERT_EQ(cancel->state, JobState::kRunning);
  leases_->CancelRequested(id);
  renewal = leases_->Renew(lease.lease_id, std::nullopt);
  ASSERT_TRUE(renewal.ok()) << renewal.status();
  EXPECT_TRUE(renewal->cancel);

  ASSERT_TRUE(leases_->End(lease.lease_id, AttemptOutcome::kCancelled, "cancelled").ok());
  EXPECT_EQ(Get(id).state, JobState::kCancelled);
  EXPECT_FALSE(monitor_->Running(id).has_value());
  EXPECT_EQ(ErrorReason(leases_->Renew(lease.lease_id, std::nullopt).status()),
            reason::kLeaseExpired);
}

TEST_F(JobLeasesTest, AnUnrenewedLeaseIsLostAndOnlyTheJobsNewLeaseCompletesIt) {
  const std::string id = Submit("a");
  const Lease first = MustAcquire("w1");
  now_ += kLease - absl::Seconds(1);
  leases_->Enforce();
  EXPECT_EQ(Get(id).state, JobState::kRunning);

  now_ += absl::Seconds(2);
  leases_->Enforce();
  Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.attempts, 1);
  ASSERT_EQ(job.history.size(), 1u);
  EXPECT_EQ(job.history[0].outcome, AttemptOutcome::kLost);
  EXPECT_THAT(job.history[0].reason, HasSubstr("lease expired"));
  EXPECT_FALSE(monitor_->Running(id).has_value());
  // The worker was only slow: at its next renewal it learns to drop the job.
  auto renewal = leases_->Renew(first.lease_id, std::nullopt);
  EXPECT_EQ(renewal.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(renewal.status()), reason::kLeaseExpired);

  const Lease second = MustAcquire("w2");
  EXPECT_EQ(second.job.id, id);
  EXPECT_EQ(second.attempt, 2);
  const absl::Status stale = leases_->Complete(first.lease_id, OneEntry());
  EXPECT_EQ(stale.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(stale), reason::kLeaseExpired);
  EXPECT_EQ(Get(id).state, JobState::kRunning);
  EXPECT_EQ(monitor_->Running(id)->worker, "w2");

  ASSERT_TRUE(leases_->Complete(second.lease_id, OneEntry()).ok());
  job = Get(id);
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.history.size(), 2u);
  EXPECT_FALSE(monitor_->Running(id).has_value());
  auto signatures = store::SignatureStore::Open(path_);
  ASSERT_TRUE(signatures.ok()) << signatures.status();
  EXPECT_EQ((*signatures)->Get(id)->entries.size(), 1u);
}

TEST_F(JobLeasesTest, AJobPastItsTimeoutFailsAndIsNotRetried) {
  const std::string id = Submit("a", absl::Minutes(1));
  const Lease lease = MustAcquire("w1");
  EXPECT_EQ(lease.deadline_in, absl::Minutes(1));
  // A worker that renews faithfully is still held to the job's timeout.
  for (int i = 0; i < 5; ++i) {
    now_ += absl::Seconds(10);
    ASSERT_TRUE(leases_->Renew(lease.lease_id, std::nullopt).ok());
    leases_->Enforce();
    ASSERT_EQ(Get(id).state, JobState::kRunning) << "after " << (i + 1) * 10 << " s";
  }
  now_ += absl::Seconds(11);
  ASSERT_TRUE(leases_->Renew(lease.lease_id, std::nullopt).ok());
  leases_->Enforce();

  const Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_THAT(job.error, HasSubstr("timeout"));
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.history.back().outcome, AttemptOutcome::kTimedOut);
  EXPECT_FALSE(monitor_->Running(id).has_value());
  EXPECT_FALSE(Acquire("w2").has_value());
  EXPECT_EQ(ErrorReason(leases_->Renew(lease.lease_id, std::nullopt).status()),
            reason::kLeaseExpired);
}

TEST_F(JobLeasesTest, ACancelledJobWhoseWorkerDoesNotStopEndsCancelledAfterTheGrace) {
  const std::string id = Submit("a");
  const Lease lease = MustAcquire("w1");
  ASSERT_TRUE(queue_->Cancel(id).ok());
  leases_->CancelRequested(id);
  // The worker keeps renewing (it is told to stop) but does not end its attempt.
  now_ += kGrace - absl::Seconds(1);
  auto renewal = leases_->Renew(lease.lease_id, std::nullopt);
  ASSERT_TRUE(renewal.ok()) << renewal.status();
  EXPECT_TRUE(renewal->cancel);
  leases_->Enforce();
  EXPECT_EQ(Get(id).state, JobState::kRunning);

  now_ += absl::Seconds(2);
  ASSERT_TRUE(leases_->Renew(lease.lease_id, std::nullopt).ok());
  leases_->Enforce();
  const Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kCancelled);
  EXPECT_THAT(job.error, HasSubstr("did not stop"));
  EXPECT_EQ(job.history.back().outcome, AttemptOutcome::kCancelled);
  EXPECT_FALSE(monitor_->Running(id).has_value());
  EXPECT_FALSE(Acquire("w2").has_value());
}

TEST_F(JobLeasesTest, ALostWorkerLosesItsLeaseAtOnceWithTheReason) {
  const std::string a = Submit("a");
  const std::string b = Submit("b");
  const Lease on_w1 = MustAcquire("w1");
  const Lease on_w2 = MustAcquire("w2");
  ASSERT_EQ(on_w1.job.id, a);

  // No time passes: the supervisor saw the process die, there is no lease to wait out.
  leases_->WorkerLost("w1", "worker lost: signal 9");
  Job job = Get(a);
  EXPECT_EQ(job.state, JobState::kQueued);
  ASSERT_EQ(job.history.size(), 1u);
  EXPECT_EQ(job.history[0].outcome, AttemptOutcome::kLost);
  EXPECT_EQ(job.history[0].reason, "worker lost: signal 9");
  EXPECT_FALSE(monitor_->Running(a).has_value());
  EXPECT_EQ(ErrorReason(leases_->Renew(on_w1.lease_id, std::nullopt).status()),
            reason::kLeaseExpired);
  // The other worker's lease is untouched.
  EXPECT_EQ(Get(b).state, JobState::kRunning);
  EXPECT_TRUE(leases_->Renew(on_w2.lease_id, std::nullopt).ok());

  const Lease again = MustAcquire("w3");
  EXPECT_EQ(again.job.id, a);
  EXPECT_EQ(again.attempt, 2);
}

TEST_F(JobLeasesTest, AWorkerEndsItsAttemptFailedOrReturnedButCannotCallItLost) {
  const std::string id = Submit("a");
  const Lease first = MustAcquire("w1");
  for (AttemptOutcome outcome :
       {AttemptOutcome::kLost, AttemptOutcome::kTimedOut, AttemptOutcome::kSucceeded}) {
    EXPECT_EQ(leases_->End(first.lease_id, outcome, "").code(), absl::StatusCode::kInvalidArgument)
        << AttemptOutcomeName(outcome);
  }
  EXPECT_EQ(Get(id).state, JobState::kRunning);
  ASSERT_TRUE(leases_->Renew(first.lease_id, std::nullopt).ok());

  // Returned: back in the queue at once, for another worker.
  ASSERT_TRUE(leases_->End(first.lease_id, AttemptOutcome::kReturned, "worker stopping").ok());
  EXPECT_EQ(Get(id).state, JobState::kQueued);
  EXPECT_FALSE(monitor_->Running(id).has_value());
  const Lease second = MustAcquire("w2");
  EXPECT_EQ(second.job.id, id);

  ASSERT_TRUE(
      leases_->End(second.lease_id, AttemptOutcome::kFailed, "the model does not load").ok());
  const Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.error, "the model does not load");
  EXPECT_FALSE(Acquire("w3").has_value());
}

TEST_F(JobLeasesTest, LocalWorkersLeasesAreReturnedWhenTheServerStops) {
  leases_->AddLocalWorker("local-0", "cuda:0");
  const std::string a = Submit("a");
  const std::string b = Submit("b");
  const Lease local = MustAcquire("local-0");
  const Lease remote = MustAcquire("remote-1");
  ASSERT_EQ(local.job.id, a);
  auto open = queue_->OpenAttempts();
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_EQ(open->size(), 2u);
  for (const store::OpenAttempt& attempt : *open) {
    EXPECT_EQ(attempt.holder.local, attempt.holder.worker == "local-0") << attempt.holder.worker;
  }
  EXPECT_THAT(monitor_->Workers(),
              ElementsAre(Field(&WorkerStatus::local, true), Field(&WorkerStatus::local, false)));

  leases_->StopLeasing();
  leases_->ReturnLocalLeases("server stopping");
  const Job returned = Get(a);
  EXPECT_EQ(returned.state, JobState::kQueued);
  EXPECT_EQ(returned.attempts, 1);
  ASSERT_EQ(returned.history.size(), 1u);
  EXPECT_EQ(returned.history[0].outcome, AttemptOutcome::kReturned);
  EXPECT_EQ(returned.history[0].reason, "server stopping");
  // A remote worker outlives the server: its lease is left for it to finish.
  EXPECT_EQ(Get(b).state, JobState::kRunning);
  EXPECT_TRUE(leases_->Renew(remote.lease_id, std::nullopt).ok());
}

TEST_F(JobLeasesTest, StopLeasingAnswersWaitingAndNewWorkersAtOnce) {
  absl::StatusOr<std::optional<Lease>> waiting = std::nullopt;
  absl::Duration waited;
  std::thread worker([&] {
    const absl::Time start = absl::Now();
    waiting = leases_->Acquire(Request("w1"), kLongWait);
    waited = absl::Now() - start;
  });
  // Before or during its wait, the worker must not sit out the 30 s; it is told the server stops
  // (an error, so that it backs off instead of asking again at once).
  leases_->StopLeasing();
  worker.join();
  EXPECT_EQ(waiting.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(waiting.status()), reason::kServerStopping);
  EXPECT_LT(waited, absl::Seconds(10));

  // Not even a queued job is leased any more.
  const std::string id = Submit("a");
  const absl::Time start = absl::Now();
  auto lease = leases_->Acquire(Request("w2"), kLongWait);
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(Get(id).state, JobState::kQueued);
}

TEST_F(JobLeasesTest, AJobClaimedForAWorkerThatLeftGoesBackToTheQueue) {
  const std::string id = Submit("a");
  // The worker's call was cancelled while the server claimed its job.
  bool asked_once = false;
  auto lease = leases_->Acquire(Request("w1"), kLongWait, [&asked_once] {
    const bool gone = asked_once;
    asked_once = true;
    return gone;
  });
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_FALSE(lease->has_value());
  const Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  ASSERT_EQ(job.history.size(), 1u);
  EXPECT_EQ(job.history[0].outcome, AttemptOutcome::kReturned);
  // Not counted as lost: the next worker gets it.
  EXPECT_EQ(MustAcquire("w2").job.id, id);
  // A worker gone before the claim gets nothing, and takes nothing.
  const std::string other = Submit("b");
  auto none = leases_->Acquire(Request("w3"), kLongWait, [] { return true; });
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(Get(other).state, JobState::kQueued);
}

TEST_F(JobLeasesTest, ACancelBetweenTheClaimAndTheLeaseIsNotLost) {
  const std::string id = Submit("a");
  // The cancel arrives while the job is RUNNING in the store but not yet leased here (the
  // window between Claim and Acquire's bookkeeping), as CancelJob would send it.
  bool cancelled = false;
  auto lease = leases_->Acquire(Request("w1"), kLongWait, [&] {
    if (Get(id).state == JobState::kRunning && !cancelled) {
      cancelled = true;
      EXPECT_TRUE(queue_->Cancel(id).ok());
      leases_->CancelRequested(id);
    }
    return false;
  });
  ASSERT_TRUE(lease.ok() && lease->has_value());
  EXPECT_TRUE(cancelled);
  auto renewal = leases_->Renew((*lease)->lease_id, std::nullopt);
  ASSERT_TRUE(renewal.ok()) << renewal.status();
  EXPECT_TRUE(renewal->cancel);
}

TEST_F(JobLeasesTest, AdoptedAttemptsOfRemoteWorkersStayRenewableAfterARestart) {
  leases_->AddLocalWorker("local-0", "cuda:0");
  const std::string renewed = Submit("renewed");
  const std::string silent = Submit("silent");
  const std::string local = Submit("local");
  const Lease on_remote = MustAcquire("remote-1");
  const Lease on_silent = MustAcquire("remote-2");
  ASSERT_EQ(MustAcquire("local-0").job.id, local);
  ASSERT_EQ(on_remote.job.id, renewed);
  ASSERT_EQ(on_silent.job.id, silent);

  StartServer();  // the server crashes and starts again on the same database
  EXPECT_EQ(queue_->recovery().kept, 2);
  EXPECT_EQ(queue_->recovery().requeued, 1);
  EXPECT_EQ(Get(local).state, JobState::kQueued);
  // Until the open attempts are adopted the new server knows nothing of their leases.
  EXPECT_EQ(ErrorReason(leases_->Renew(on_remote.lease_id, std::nullopt).status()),
            reason::kLeaseExpired);
  ASSERT_TRUE(leases_->AdoptOpenAttempts().ok());
  auto running = monitor_->Running(renewed);
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->worker, "remote-1");

  now_ += absl::Seconds(10);
  ASSERT_TRUE(leases_->Renew(on_remote.lease_id, std::nullopt).ok());
  now_ += absl::Seconds(10);
  leases_->Enforce();
  // Adopted leases are enforced as any other: the silent one expired, the renewed one holds.
  EXPECT_EQ(Get(silent).state, JobState::kQueued);
  EXPECT_EQ(Get(silent).history.back().outcome, AttemptOutcome::kLost);
  EXPECT_EQ(Get(renewed).state, JobState::kRunning);
  ASSERT_TRUE(leases_->Complete(on_remote.lease_id, OneEntry()).ok());
  EXPECT_EQ(Get(renewed).state, JobState::kSucceeded);
}

TEST_F(JobLeasesTest, IdleRemoteWorkersAreForgottenAfterALongSilenceButLocalOnesStay) {
  leases_->AddLocalWorker("local-0", "cuda:0");
  // Listed from the start, as starting (never seen) until it asks for a job.
  auto workers = monitor_->Workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_TRUE(workers[0].local);
  EXPECT_EQ(workers[0].last_seen, absl::InfinitePast());
  EXPECT_FALSE(Acquire("remote-1").has_value());
  EXPECT_FALSE(Acquire("local-0").has_value());
  ASSERT_EQ(monitor_->Workers().size(), 2u);
  now_ += absl::Minutes(10);
  leases_->Enforce();
  EXPECT_THAT(monitor_->Workers(), ElementsAre(Field(&WorkerStatus::name, "local-0")));
}

// ListWorkers says a worker's last_seen is when it last asked for work *or renewed its lease*
// (signature_service.proto): a worker busy with a long job is seen at each renewal, and is not
// forgotten the moment its job ends.
TEST_F(JobLeasesTest, ARenewalCountsAsSeeingTheWorker) {
  const std::string id = Submit("a");
  const Lease lease = MustAcquire("w1");
  for (int i = 0; i < 12; ++i) {
    now_ += absl::Seconds(10);
    ASSERT_TRUE(leases_->Renew(lease.lease_id, std::nullopt).ok());
    leases_->Enforce();
  }
  auto workers = monitor_->Workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].last_seen, now_);
  ASSERT_TRUE(leases_->Complete(lease.lease_id, OneEntry()).ok());
  leases_->Enforce();
  EXPECT_THAT(monitor_->Workers(), ElementsAre(Field(&WorkerStatus::name, "w1")));
}

}  // namespace
}  // namespace affsig::core
