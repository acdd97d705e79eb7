// Scores activations beside the forward pass: the capture hands each finished call's reduced
// pair to a bounded queue, and the pool's threads score them while the forward goes on.
//
// How the cores are shared (docs/architecture.md, "Scoring off the critical path"):
//   - the forward pass keeps its LibTorch intra-op threads (--threads);
//   - the pool's threads (--scoring-threads) run each score on one intra-op thread, at the
//     lowest CPU priority (nice 19, per thread on Linux): on a CPU worker they take only the
//     cycles the forward leaves idle (its serial stretches, single-threaded operators, its
//     waits for a GPU) instead of slowing it down;
//   - once the forward has ended, the thread that ran it scores too (Finish), at its normal
//     priority and on one intra-op thread, so that the remaining activations' exact transports
//     run in parallel on as many cores as there are scorers.
// The queue holds reduced pairs only (N x d each), at most `queue_capacity` of them: when it is
// full the forward's thread scores the oldest itself, so memory stays bounded however slow the
// pool is.
#ifndef AFFSIG_SERVER_ENGINE_SCORING_POOL_H_
#define AFFSIG_SERVER_ENGINE_SCORING_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace affsig::engine {

struct ScoringPoolOptions {
  int threads = 1;         // scoring threads beside the forward's; 0 scores on the caller only.
  int queue_capacity = 8;  // tasks waiting for a thread.
};

// The scoring threads beside a forward of `forward_threads` intra-op threads: one fewer, at
// least one, so that once the forward has ended its thread and the pool's are one per core.
int DefaultScoringThreads(int forward_threads);

class ScoringPool {
 public:
  explicit ScoringPool(ScoringPoolOptions options);
  ~ScoringPool();  // Finishes nothing: call Finish or Abandon first.
  ScoringPool(const ScoringPool&) = delete;
  ScoringPool& operator=(const ScoringPool&) = delete;

  // Queues a task. When `queue_capacity` tasks wait already, the oldest runs here first.
  void Submit(std::function<void()> task);

  // Runs queued tasks on this thread too until every submitted one has finished, calling
  // `on_done` here after each one that finishes (on any thread); stops early, dropping the
  // tasks not yet started, when `should_stop` says so, and returns false then.
  bool Finish(const std::function<void()>& on_done, const std::function<bool()>& should_stop);

  // How many tasks have finished since the last call, Finish or Abandon; does not wait.
  int64_t TakeFinished();

  // Drops the tasks not yet started and waits for those running.
  void Abandon();

 private:
  void Work();
  // Runs one queued task on the calling thread; `lock` is held on entry and on return.
  void RunOne(std::unique_lock<std::mutex>& lock);
  // Drops the queued tasks and waits for the running ones; `lock` held throughout.
  void DropQueued(std::unique_lock<std::mutex>& lock);

  const ScoringPoolOptions options_;
  std::mutex mutex_;
  std::condition_variable work_ready_;  // a task was queued, or the pool is closing.
  std::condition_variable task_done_;   // a task finished.
  std::deque<std::function<void()>> queue_;
  int64_t running_ = 0;
  int64_t finished_ = 0;  // since the last TakeFinished, Finish or Abandon.
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_SCORING_POOL_H_
