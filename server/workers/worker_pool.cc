#include "server/workers/worker_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log_line.h"

namespace affsig::workers {
namespace {

// Idle workers also look for work this often, in case a wake-up was missed.
constexpr absl::Duration kPollInterval = absl::Seconds(1);

}  // namespace

WorkerPool::WorkerPool(store::JobQueue& queue, const store::BlobStore& blobs,
                       std::vector<WorkerOptions> devices, WorkerEvents events)
    : queue_(queue), blobs_(blobs), devices_(std::move(devices)), events_(std::move(events)) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  for (const WorkerOptions& options : devices_) {
    threads_.emplace_back([this, options] { Loop(options); });
  }
}

void WorkerPool::WakeUp() {
  absl::MutexLock lock(&mutex_);
  ++wake_ups_;
}

void WorkerPool::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

void WorkerPool::Loop(const WorkerOptions& options) {
  WorkerEvents events;
  events.on_start = [&](const std::string& device, const store::Job& job) {
    LogLine(absl::StrCat("job ", job.id, " RUNNING on ", device, " (attempt ", job.attempts, ")"));
    if (events_.on_start) events_.on_start(device, job);
  };
  events.on_progress = [&](const JobProgress& progress) {
    if (progress.done == 0) {
      LogLine(absl::StrCat(
          "job ", progress.job_id, " on ", options.device, ": ", progress.total,
          " activation calls to score",
          progress.batches > 1 ? absl::StrCat(" over ", progress.batches, " batches") : ""));
    }
    if (events_.on_progress) events_.on_progress(progress);
  };
  events.on_end = [&](const std::string& device, const store::Job& job) {
    LogLine(absl::StrCat("job ", job.id, " ", store::JobStateName(job.state), " on ", device,
                         job.error.empty() ? "" : absl::StrCat(": ", job.error)));
    if (events_.on_end) events_.on_end(device, job);
  };
  SignatureWorker worker(queue_, blobs_, options, events);
  int64_t seen_wake_ups = 0;
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      seen_wake_ups = wake_ups_;
    }
    auto ran = worker.RunNext();
    if (!ran.ok()) {
      LogLine(
          absl::StrCat("worker on ", options.device, ": store error: ", ran.status().message()));
    } else if (ran->has_value()) {
      continue;  // look for the next job at once
    }
    absl::MutexLock lock(&mutex_);
    auto woken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return stopping_ || wake_ups_ != seen_wake_ups;
    };
    mutex_.AwaitWithTimeout(absl::Condition(&woken), kPollInterval);
  }
}

}  // namespace affsig::workers
