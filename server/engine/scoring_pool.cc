#include "server/engine/scoring_pool.h"

#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace affsig::engine {

int DefaultScoringThreads(int forward_threads) { return std::max(1, forward_threads - 1); }

ScoringPool::ScoringPool(ScoringPoolOptions options) : options_(options) {
  // at::set_num_threads sets the calling thread's OpenMP team size and a process-wide default
  // that threads started later adopt: each scoring thread sets one for itself, then the default
  // goes back to the creating thread's own.
  const int creator_threads = at::get_num_threads();
  int started = 0;
  std::condition_variable all_started;
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, &started, &all_started] {
      // LibTorch gives a thread the process-wide default at its first parallel call, which
      // would undo a setting made before: asking first makes that happen now.
      at::get_num_threads();
      at::set_num_threads(1);
      // Linux applies a nice value to the one thread named by its id.
      setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
      {
        // Notified under the lock: the constructor, and with it `all_started`, may be gone
        // as soon as the lock is released.
        std::lock_guard<std::mutex> lock(mutex_);
        ++started;
        all_started.notify_one();
      }
      Work();
    });
  }
  std::unique_lock<std::mutex> lock(mutex_);
  all_started.wait(lock, [&] { return started == options_.threads; });
  if (options_.threads > 0) at::set_num_threads(creator_threads);
}

ScoringPool::~ScoringPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
    queue_.clear();
  }
  work_ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void ScoringPool::Submit(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mutex_);
  queue_.push_back(std::move(task));
  if (static_cast<int>(queue_.size()) > options_.queue_capacity) RunOne(lock);
  lock.unlock();
  work_ready_.notify_one();
}

void ScoringPool::RunOne(std::unique_lock<std::mutex>& lock) {
  std::function<void()> task = std::move(queue_.front());
  queue_.pop_front();
  ++running_;
  lock.unlock();
  task();
  lock.lock();
  --running_;
  ++finished_;
  task_done_.notify_all();
}

void ScoringPool::Work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
    if (closing_) return;
    RunOne(lock);
  }
}

bool ScoringPool::Finish(const std::function<void()>& on_done,
                         const std::function<bool()>& should_stop) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    while (finished_ > 0) {
      --finished_;
      lock.unlock();
      if (on_done) on_done();
      lock.lock();
    }
    if (queue_.empty() && running_ == 0) return true;
    lock.unlock();
    const bool stop = should_stop && should_stop();
    lock.lock();
    if (stop) {
      DropQueued(lock);
      return false;
    }
    if (!queue_.empty()) {
      RunOne(lock);
    } else {
      task_done_.wait(lock, [this] { return finished_ > 0 || running_ == 0; });
    }
  }
}

int64_t ScoringPool::TakeFinished() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(finished_, 0);
}

void ScoringPool::Abandon() {
  std::unique_lock<std::mutex> lock(mutex_);
  DropQueued(lock);
}

void ScoringPool::DropQueued(std::unique_lock<std::mutex>& lock) {
  queue_.clear();
  task_done_.wait(lock, [this] { return running_ == 0; });
  finished_ = 0;
}

}  // namespace affsig::engine
