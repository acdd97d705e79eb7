#include "server/core/job_monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/time/clock.h"

namespace affsig::core {
namespace {

TEST(JobMonitorTest, TracksEachWorkersJobAndItsProgressUntilItEnds) {
  JobMonitor monitor({"cuda:0", "cuda:1"});
  monitor.JobStarted("cuda:1", "job-a");
  monitor.JobProgressed("job-a", 3, 10, "layer1.relu");
  monitor.JobProgressed("job-unknown", 1, 1, "x");  // not running here: ignored
  const auto progress = monitor.Progress("job-a");
  ASSERT_TRUE(progress.has_value());
  EXPECT_EQ(progress->done, 3);
  EXPECT_EQ(progress->total, 10);
  EXPECT_EQ(progress->activation, "layer1.relu");
  EXPECT_EQ(progress->device, "cuda:1");
  EXPECT_FALSE(monitor.Progress("job-unknown").has_value());
  auto workers = monitor.Workers();
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(workers[0].device, "cuda:0");
  EXPECT_EQ(workers[0].job_id, "");
  EXPECT_EQ(workers[1].job_id, "job-a");

  monitor.JobEnded("cuda:1", "job-a");
  EXPECT_FALSE(monitor.Progress("job-a").has_value());
  EXPECT_EQ(monitor.Workers()[1].job_id, "");
}

TEST(JobMonitorTest, WaitersWakeOnAChangeOrAtClose) {
  JobMonitor monitor({"cpu"});
  const uint64_t seen = monitor.version();
  std::thread changer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    monitor.Changed();
  });
  const absl::Time start = absl::Now();
  monitor.AwaitChange(seen, absl::Seconds(30));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_NE(monitor.version(), seen);
  changer.join();

  // Without a change the wait ends at its timeout; after Close at once, for good.
  const uint64_t now = monitor.version();
  monitor.AwaitChange(now, absl::Milliseconds(20));
  EXPECT_EQ(monitor.version(), now);
  monitor.Close();
  EXPECT_TRUE(monitor.closed());
  const absl::Time closed = absl::Now();
  monitor.AwaitChange(monitor.version(), absl::Seconds(30));
  EXPECT_LT(absl::Now() - closed, absl::Seconds(10));
}

}  // namespace
}  // namespace affsig::core
