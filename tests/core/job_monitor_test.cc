#include "server/core/job_monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/time/clock.h"

namespace affsig::core {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

WorkerStatus Worker(const std::string& name, bool local = false,
                    absl::Time last_seen = absl::FromUnixSeconds(1000)) {
  WorkerStatus worker;
  worker.name = name;
  worker.device = "cuda:0";
  worker.host = "node7";
  worker.pid = 4242;
  worker.local = local;
  worker.version = "1.0";
  worker.last_seen = last_seen;
  return worker;
}

TEST(JobMonitorTest, AWorkerSeenAgainIsUpdatedButKeepsItsJob) {
  JobMonitor monitor;
  monitor.WorkerSeen(Worker("w1"));
  monitor.JobStarted("job-a", "w1", "cuda:0");
  // A worker's own report does not know which job the server gave it: it must not clear it.
  WorkerStatus again = Worker("w1", false, absl::FromUnixSeconds(2000));
  again.version = "1.1";
  again.data_roots = {"/data"};
  monitor.WorkerSeen(again);
  auto workers = monitor.Workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].version, "1.1");
  EXPECT_THAT(workers[0].data_roots, ElementsAre("/data"));
  EXPECT_EQ(workers[0].last_seen, absl::FromUnixSeconds(2000));
  EXPECT_EQ(workers[0].job_id, "job-a");
}

TEST(JobMonitorTest, TracksEachRunningJobsWorkerAndProgressUntilItEnds) {
  JobMonitor monitor;
  monitor.WorkerSeen(Worker("w0"));
  monitor.WorkerSeen(Worker("w1"));
  monitor.JobStarted("job-a", "w1", "cuda:1");
  auto running = monitor.Running("job-a");
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->worker, "w1");
  EXPECT_EQ(running->device, "cuda:1");
  EXPECT_FALSE(running->progress.has_value());
  EXPECT_FALSE(running->cancel_requested_at.has_value());

  const uint64_t before = monitor.version();
  monitor.JobProgressed("job-a", {3, 10, "layer1.relu", 1, 2});
  EXPECT_NE(monitor.version(), before);                     // watchers see progress
  monitor.JobProgressed("job-unknown", {1, 1, "x", 1, 1});  // not running here: ignored
  EXPECT_FALSE(monitor.Running("job-unknown").has_value());
  running = monitor.Running("job-a");
  ASSERT_TRUE(running.has_value() && running->progress.has_value());
  EXPECT_EQ(running->progress->done, 3);
  EXPECT_EQ(running->progress->total, 10);
  EXPECT_EQ(running->progress->activation, "layer1.relu");
  EXPECT_EQ(running->progress->batch, 1);
  EXPECT_EQ(running->progress->batches, 2);
  EXPECT_THAT(monitor.Workers(),
              ElementsAre(Field(&WorkerStatus::job_id, ""), Field(&WorkerStatus::job_id, "job-a")));

  monitor.JobEnded("job-a");
  EXPECT_FALSE(monitor.Running("job-a").has_value());
  EXPECT_EQ(monitor.Workers()[1].job_id, "");
}

TEST(JobMonitorTest, AJobStartedAgainForgetsItsEarlierAttemptsProgress) {
  JobMonitor monitor;
  monitor.JobStarted("job-a", "w1", "cuda:0");
  monitor.JobProgressed("job-a", {5, 10, "relu", 1, 1});
  monitor.JobCancelRequested("job-a", absl::FromUnixSeconds(1));
  // Lost and leased again, elsewhere: a new attempt starts from nothing.
  monitor.JobStarted("job-a", "w2", "cuda:1");
  auto running = monitor.Running("job-a");
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->worker, "w2");
  EXPECT_FALSE(running->progress.has_value());
  EXPECT_FALSE(running->cancel_requested_at.has_value());
}

TEST(JobMonitorTest, ALateEndOfAWorkersEarlierJobLeavesItsCurrentJob) {
  JobMonitor monitor;
  monitor.WorkerSeen(Worker("w1"));
  monitor.JobStarted("job-a", "w1", "cuda:0");
  monitor.JobStarted("job-b", "w1", "cuda:0");
  monitor.JobEnded("job-a");
  ASSERT_EQ(monitor.Workers().size(), 1u);
  EXPECT_EQ(monitor.Workers()[0].job_id, "job-b");
  EXPECT_TRUE(monitor.Running("job-b").has_value());
}

TEST(JobMonitorTest, ACancelIsRememberedFromItsFirstRequest) {
  JobMonitor monitor;
  monitor.JobStarted("job-a", "w1", "cuda:0");
  const absl::Time first = absl::FromUnixSeconds(100);
  const uint64_t before = monitor.version();
  EXPECT_EQ(monitor.JobCancelRequested("job-a", first), first);
  EXPECT_NE(monitor.version(), before);
  // Asked again later: the grace still runs from the first request.
  EXPECT_EQ(monitor.JobCancelRequested("job-a", first + absl::Seconds(30)), first);
  EXPECT_EQ(monitor.Running("job-a")->cancel_requested_at, first);
  // A job not running here is answered with `now` and not tracked.
  const absl::Time now = absl::FromUnixSeconds(200);
  EXPECT_EQ(monitor.JobCancelRequested("job-none", now), now);
  EXPECT_FALSE(monitor.Running("job-none").has_value());
}

TEST(JobMonitorTest, ForgetsIdleRemoteWorkersUnseenSinceACutoff) {
  JobMonitor monitor;
  const absl::Time cutoff = absl::FromUnixSeconds(1000);
  monitor.WorkerSeen(Worker("remote-old", false, cutoff - absl::Seconds(1)));
  monitor.WorkerSeen(Worker("remote-busy", false, cutoff - absl::Seconds(1)));
  monitor.WorkerSeen(Worker("remote-recent", false, cutoff));
  // A local worker still starting has never been seen (InfinitePast), yet it is the server's own.
  monitor.WorkerSeen(Worker("local-0", true, absl::InfinitePast()));
  monitor.JobStarted("job-a", "remote-busy", "cuda:0");

  monitor.ForgetWorkersUnseenSince(cutoff);
  EXPECT_THAT(monitor.Workers(), ElementsAre(Field(&WorkerStatus::name, "local-0"),
                                             Field(&WorkerStatus::name, "remote-busy"),
                                             Field(&WorkerStatus::name, "remote-recent")));
}

TEST(JobMonitorTest, WaitersWakeOnAChangeOrAtClose) {
  JobMonitor monitor;
  const uint64_t seen = monitor.version();
  absl::Duration waited;
  // Whether the change comes before or during the wait, the waiter must not sit out its timeout.
  std::thread waiter([&] {
    const absl::Time start = absl::Now();
    monitor.AwaitChange(seen, absl::Seconds(30));
    waited = absl::Now() - start;
  });
  monitor.JobChanged("job-a");
  waiter.join();
  EXPECT_LT(waited, absl::Seconds(10));
  EXPECT_NE(monitor.version(), seen);

  // Without a change the wait ends at its timeout; after Close at once, for good.
  const uint64_t now = monitor.version();
  monitor.AwaitChange(now, absl::Milliseconds(20));
  EXPECT_EQ(monitor.version(), now);
  monitor.Close();
  EXPECT_TRUE(monitor.closed());
  const absl::Time closed = absl::Now();
  monitor.AwaitChange(monitor.version(), absl::Seconds(30));
  monitor.AwaitChange(monitor.version(), absl::Seconds(30));
  EXPECT_LT(absl::Now() - closed, absl::Seconds(10));
}

TEST(JobMonitorTest, TellsWhichJobsChangedSinceAVersion) {
  JobMonitor monitor;
  const uint64_t start = monitor.version();
  monitor.JobChanged("job-a");
  const uint64_t middle = monitor.version();
  monitor.JobStarted("job-b", "w1", "cpu");
  monitor.JobProgressed("job-b", JobProgress{1, 2, "relu", 1, 1});
  EXPECT_THAT(*monitor.ChangedSince(start), ::testing::ElementsAre("job-a", "job-b"));
  EXPECT_THAT(*monitor.ChangedSince(middle), ::testing::ElementsAre("job-b"));
  EXPECT_TRUE(monitor.ChangedSince(monitor.version())->empty());
  // The log keeps the latest few thousand changes: older than that, anything may have changed.
  for (int i = 0; i < 5000; ++i) monitor.JobChanged("job-c");
  EXPECT_FALSE(monitor.ChangedSince(start).has_value());
  EXPECT_THAT(*monitor.ChangedSince(monitor.version() - 1), ::testing::ElementsAre("job-c"));
}

}  // namespace
}  // namespace affsig::core
