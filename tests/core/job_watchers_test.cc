#include "server/core/job_watchers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "common/error_reason.h"
#include "server/core/job_leases.h"
#include "server/store/job_queue.h"
#include "tests/scratch_dir.h"

namespace affsig::core {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);

// A watcher that keeps what it is told.
class RecordingWatcher final : public JobWatcher {
 public:
  void OnUpdate(const JobView& view) override {
    absl::MutexLock lock(&mutex_);
    EXPECT_FALSE(ended_) << "an update after the end";
    views_.push_back(view);
    if (IsFinal(view.job.state)) ended_ = true;
  }
  void OnEnd(const absl::Status& status) override {
    absl::MutexLock lock(&mutex_);
    EXPECT_FALSE(ended_) << "a second end";
    end_ = status;
    ended_ = true;
  }
  // Waits until the watcher saw `predicate` hold; false after kWait.
  bool WaitUntil(const std::function<bool(const std::vector<JobView>&, bool ended)>& predicate) {
    absl::MutexLock lock(&mutex_);
    auto met = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return predicate(views_, ended_); };
    return mutex_.AwaitWithTimeout(absl::Condition(&met), kWait);
  }
  std::vector<JobView> views() {
    absl::MutexLock lock(&mutex_);
    return views_;
  }
  absl::Status end() {
    absl::MutexLock lock(&mutex_);
    return end_;
  }

 private:
  absl::Mutex mutex_;
  std::vector<JobView> views_ ABSL_GUARDED_BY(mutex_);
  absl::Status end_ ABSL_GUARDED_BY(mutex_);
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;
};

// Watchers over a real queue (a scratch database) and monitor; jobs move through leases as a
// worker would move them. The reader counts how often a job is read.
class JobWatchersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto queue = store::JobQueue::Open((testing::FreshScratchDir() / "affsig.db").string());
    ASSERT_TRUE(queue.ok()) << queue.status();
    queue_ = *std::move(queue);
    leases_ = std::make_unique<JobLeases>(*queue_, monitor_, LeaseOptions());
    watchers_ = std::make_unique<JobWatchers>(monitor_, [this](absl::string_view id) {
      ++reads_;
      return Read(id);
    });
  }
  void TearDown() override { watchers_.reset(); }

  absl::StatusOr<JobView> Read(absl::string_view id) {
    auto job = queue_->Get(id);
    if (!job.ok()) return job.status();
    JobView view{*std::move(job), std::nullopt};
    if (view.job.state == JobState::kRunning) view.running = monitor_.Running(id);
    return view;
  }

  std::string Submit() {
    JobSpec spec;
    spec.model_sha256 = std::string(64, 'a');
    spec.data.location = std::string(64, 'b');
    auto job = queue_->Submit(spec);
    EXPECT_TRUE(job.ok()) << job.status();
    monitor_.JobChanged(job->id);
    leases_->NotifyQueued();
    return job->id;
  }

  Lease Acquire() {
    WorkerRequest worker;
    worker.worker = "w1";
    worker.device = "cpu";
    auto lease = leases_->Acquire(worker, absl::Seconds(5));
    EXPECT_TRUE(lease.ok() && lease->has_value());
    return **lease;
  }

  std::unique_ptr<store::JobQueue> queue_;
  JobMonitor monitor_;
  std::unique_ptr<JobLeases> leases_;
  std::unique_ptr<JobWatchers> watchers_;
  std::atomic<int> reads_{0};
};

TEST_F(JobWatchersTest, AWatcherSeesTheJobAtOnceThenEveryChangeAndTheFinalStateLast) {
  const std::string id = Submit();
  RecordingWatcher watcher;
  ASSERT_TRUE(watchers_->Add(id, &watcher).ok());
  ASSERT_TRUE(watcher.WaitUntil([](const auto& views, bool) { return views.size() == 1; }));
  EXPECT_EQ(watcher.views()[0].job.state, JobState::kQueued);

  const Lease lease = Acquire();
  ASSERT_TRUE(watcher.WaitUntil([](const auto& views, bool) {
    return !views.empty() && views.back().job.state == JobState::kRunning;
  }));
  for (int64_t done = 1; done <= 3; ++done) {
    ASSERT_TRUE(leases_->Renew(lease.lease_id, JobProgress{done, 3, "relu", 1, 1}).ok());
    ASSERT_TRUE(watcher.WaitUntil([done](const auto& views, bool) {
      if (views.empty()) return false;
      const JobView& last = views.back();
      return last.running && last.running->progress && last.running->progress->done == done;
    }));
  }
  ASSERT_TRUE(leases_->Complete(lease.lease_id, {}).ok());
  ASSERT_TRUE(watcher.WaitUntil([](const auto&, bool ended) { return ended; }));
  const std::vector<JobView> views = watcher.views();
  EXPECT_EQ(views.back().job.state, JobState::kSucceeded);
  // No view repeats the one before it.
  for (size_t i = 1; i < views.size(); ++i) EXPECT_FALSE(SameUpdate(views[i - 1], views[i])) << i;
  // Dropped after the final state: a change now reaches it no more (OnUpdate would fail above).
  monitor_.JobChanged(id);
  ASSERT_TRUE(queue_->Delete(id).ok());
  monitor_.JobChanged(id);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(watcher.views().size(), views.size());
}

TEST_F(JobWatchersTest, ManyWatchersOfOneJobShareOneReadPerChange) {
  const std::string id = Submit();
  constexpr int kWatchers = 200;
  std::vector<std::unique_ptr<RecordingWatcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    watchers.push_back(std::make_unique<RecordingWatcher>());
    ASSERT_TRUE(watchers_->Add(id, watchers.back().get()).ok());
  }
  for (auto& watcher : watchers) {
    ASSERT_TRUE(watcher->WaitUntil([](const auto& views, bool) { return !views.empty(); }));
  }
  const Lease lease = Acquire();
  const int reads_before = reads_;
  ASSERT_TRUE(leases_->Complete(lease.lease_id, {}).ok());
  for (auto& watcher : watchers) {
    ASSERT_TRUE(watcher->WaitUntil([](const auto&, bool ended) { return ended; }));
    EXPECT_EQ(watcher->views().back().job.state, JobState::kSucceeded);
  }
  // Two changes (leased, succeeded) and perhaps a periodic read: a handful, not one per watcher.
  EXPECT_LT(reads_ - reads_before, 10);
}

TEST_F(JobWatchersTest, AnUnknownJobIsRefusedAndADeletedOneEndsItsWatches) {
  RecordingWatcher never;
  EXPECT_EQ(watchers_->Add("job-none", &never).status().code(), absl::StatusCode::kNotFound);

  const std::string id = Submit();
  RecordingWatcher watcher;
  ASSERT_TRUE(watchers_->Add(id, &watcher).ok());
  ASSERT_TRUE(watcher.WaitUntil([](const auto& views, bool) { return !views.empty(); }));
  ASSERT_TRUE(queue_->Cancel(id).ok());
  ASSERT_TRUE(watcher.WaitUntil([](const auto& views, bool) {
    return !views.empty() && views.back().job.state == JobState::kCancelled;
  }));

  const std::string deleted = Submit();
  RecordingWatcher orphan;
  ASSERT_TRUE(watchers_->Add(deleted, &orphan).ok());
  ASSERT_TRUE(orphan.WaitUntil([](const auto& views, bool) { return !views.empty(); }));
  ASSERT_TRUE(queue_->Delete(deleted).ok());
  monitor_.JobChanged(deleted);
  ASSERT_TRUE(orphan.WaitUntil([](const auto&, bool ended) { return ended; }));
  EXPECT_EQ(orphan.end().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobWatchersTest, ARemovedWatcherIsCalledNoMoreAndAClosedMonitorEndsTheRest) {
  const std::string id = Submit();
  RecordingWatcher removed, kept;
  auto removed_id = watchers_->Add(id, &removed);
  ASSERT_TRUE(removed_id.ok());
  ASSERT_TRUE(watchers_->Add(id, &kept).ok());
  ASSERT_TRUE(removed.WaitUntil([](const auto& views, bool) { return !views.empty(); }));
  watchers_->Remove(*removed_id);
  const size_t seen = removed.views().size();
  Acquire();
  ASSERT_TRUE(kept.WaitUntil([](const auto& views, bool) {
    return !views.empty() && views.back().job.state == JobState::kRunning;
  }));
  EXPECT_EQ(removed.views().size(), seen);

  monitor_.Close();
  ASSERT_TRUE(kept.WaitUntil([](const auto&, bool ended) { return ended; }));
  EXPECT_EQ(kept.end().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(kept.end()), reason::kServerStopping);
  EXPECT_EQ(watchers_->Add(id, &removed).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace affsig::core
