#include "server/workers/worker_pool.h"

#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace affsig::workers {
namespace {

// Idle workers also look for work this often, in case a wake-up was missed.
constexpr absl::Duration kPollInterval = absl::Seconds(1);

void LogLine(const std::string& line) {
  std::cerr << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ", absl::Now(), absl::UTCTimeZone()) << line
            << std::endl;
}

}  // namespace

WorkerPool::WorkerPool(store::JobQueue& queue, const store::BlobStore& blobs,
                       std::vector<WorkerOptions> devices)
    : queue_(queue), blobs_(blobs), devices_(std::move(devices)) {}

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
  SignatureWorker worker(queue_, blobs_, options, [&](const JobProgress& progress) {
    if (progress.done == 0) {
      LogLine(absl::StrCat("job ", progress.job_id, " forward pass done on ", options.device, ": ",
                           progress.total, " activation calls"));
    }
  });
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
      const store::Job& job = **ran;
      LogLine(absl::StrCat("job ", job.id, " ", store::JobStateName(job.state), " on ",
                           options.device, " (attempt ", job.attempts, ")",
                           job.error.empty() ? "" : absl::StrCat(": ", job.error)));
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
