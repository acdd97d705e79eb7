#include "server/engine/scoring_pool.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace affsig::engine {
namespace {

int ThisThreadsNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

// A gate tasks wait at until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void AwaitWaiting(int count) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= count; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(ScoringPoolTest, RunsEveryTaskOnceAndReportsEachOnTheFinishingThread) {
  ScoringPool pool({/*threads=*/2, /*queue_capacity=*/4});
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) pool.Submit([&ran] { ++ran; });
  const std::thread::id caller = std::this_thread::get_id();
  int reported = 0;
  EXPECT_TRUE(pool.Finish(
      [&] {
        EXPECT_EQ(std::this_thread::get_id(), caller);
        ++reported;
      },
      nullptr));
  EXPECT_EQ(ran.load(), 50);
  EXPECT_EQ(reported, 50);
  // The pool serves the next forward pass the same way.
  pool.Submit([&ran] { ++ran; });
  EXPECT_TRUE(pool.Finish(nullptr, nullptr));
  EXPECT_EQ(ran.load(), 51);
}

TEST(ScoringPoolTest, WithoutThreadsTheCallerRunsTheOldestTaskWhenTheQueueIsFull) {
  ScoringPool pool({/*threads=*/0, /*queue_capacity=*/3});
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) pool.Submit([&order, i] { order.push_back(i); });
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_TRUE(pool.Finish(nullptr, nullptr));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(ScoringPoolTest, TheQueueNeverHoldsMoreThanItsCapacityWhileThreadsAreBusy) {
  constexpr int kCapacity = 2;
  ScoringPool pool({/*threads=*/1, kCapacity});
  Gate gate;
  std::atomic<int> waiting{0};  // submitted, not started
  std::atomic<int> most_waiting{0};
  std::atomic<int> ran_on_caller{0};
  const std::thread::id caller = std::this_thread::get_id();
  pool.Submit([&gate] { gate.Wait(); });
  gate.AwaitWaiting(1);  // the pool's one thread is busy from now on.
  for (int i = 0; i < 10; ++i) {
    most_waiting = std::max(most_waiting.load(), ++waiting);
    pool.Submit([&] {
      --waiting;
      if (std::this_thread::get_id() == caller) ++ran_on_caller;
    });
  }
  // The queue is counted before each Submit, so it may read one above the capacity.
  EXPECT_LE(most_waiting.load(), kCapacity + 1);
  EXPECT_EQ(ran_on_caller.load(), 10 - kCapacity);
  gate.Open();
  EXPECT_TRUE(pool.Finish(nullptr, nullptr));
  EXPECT_EQ(waiting.load(), 0);
}

TEST(ScoringPoolTest, FinishDropsTheTasksNotStartedWhenToldToStop) {
  ScoringPool pool({/*threads=*/0, /*queue_capacity=*/100});
  int ran = 0;
  for (int i = 0; i < 10; ++i) pool.Submit([&ran] { ++ran; });
  int reported = 0;
  EXPECT_FALSE(pool.Finish([&] { ++reported; }, [&] { return ran >= 3; }));
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(reported, 3);
  EXPECT_TRUE(pool.Finish(nullptr, nullptr));
  EXPECT_EQ(ran, 3);
}

TEST(ScoringPoolTest, AbandonWaitsForTheRunningTasksAndDropsTheRest) {
  ScoringPool pool({/*threads=*/1, /*queue_capacity=*/100});
  Gate gate;
  std::atomic<bool> first_done{false};
  std::atomic<int> others{0};
  pool.Submit([&] {
    gate.Wait();
    first_done = true;
  });
  for (int i = 0; i < 5; ++i) pool.Submit([&others] { ++others; });
  gate.AwaitWaiting(1);
  std::thread opener([&gate] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate.Open();
  });
  pool.Abandon();
  EXPECT_TRUE(first_done.load());
  EXPECT_EQ(others.load(), 0);
  opener.join();
}

TEST(ScoringPoolTest, ScoringThreadsRunAtTheLowestPriorityOnOneIntraOpThread) {
  at::set_num_threads(2);
  const int caller_nice = ThisThreadsNice();
  ScoringPool pool({/*threads=*/2, /*queue_capacity=*/4});
  // The process-wide default, which later threads adopt, is the creator's again.
  EXPECT_EQ(at::get_num_threads(), 2);
  std::mutex mutex;
  std::set<int> nice_values, thread_counts;
  Gate gate;
  for (int i = 0; i < 2; ++i) {
    pool.Submit([&] {
      {
        std::lock_guard<std::mutex> lock(mutex);
        nice_values.insert(ThisThreadsNice());
        thread_counts.insert(at::get_num_threads());
      }
      gate.Wait();  // holds both threads, so that each takes one task.
    });
  }
  gate.AwaitWaiting(2);
  gate.Open();
  EXPECT_TRUE(pool.Finish(nullptr, nullptr));
  EXPECT_EQ(nice_values, std::set<int>{19});
  EXPECT_EQ(thread_counts, std::set<int>{1});
  EXPECT_EQ(ThisThreadsNice(), caller_nice);
  EXPECT_EQ(at::get_num_threads(), 2);
}

TEST(ScoringPoolTest, DefaultThreadsAreOneFewerThanTheForwardsAtLeastOne) {
  EXPECT_EQ(DefaultScoringThreads(1), 1);
  EXPECT_EQ(DefaultScoringThreads(2), 1);
  EXPECT_EQ(DefaultScoringThreads(16), 15);
}

}  // namespace
}  // namespace affsig::engine
