#include "server/core/job_monitor.h"

namespace affsig::core {

JobMonitor::JobMonitor(const std::vector<std::string>& devices) {
  for (const std::string& device : devices) worker_jobs_[device] = "";
}

void JobMonitor::JobStarted(absl::string_view device, absl::string_view job_id) {
  absl::MutexLock lock(&mutex_);
  worker_jobs_[std::string(device)] = std::string(job_id);
  JobProgress& progress = progress_[std::string(job_id)];
  progress = JobProgress();
  progress.device = std::string(device);
  BumpLocked();
}

void JobMonitor::JobProgressed(absl::string_view job_id, int64_t done, int64_t total,
                               absl::string_view activation, int64_t batch, int64_t batches) {
  absl::MutexLock lock(&mutex_);
  auto it = progress_.find(job_id);
  if (it == progress_.end()) return;
  it->second.done = done;
  it->second.total = total;
  it->second.activation = std::string(activation);
  it->second.batch = batch;
  it->second.batches = batches;
  BumpLocked();
}

void JobMonitor::JobEnded(absl::string_view device, absl::string_view job_id) {
  absl::MutexLock lock(&mutex_);
  worker_jobs_[std::string(device)] = "";
  if (auto it = progress_.find(job_id); it != progress_.end()) progress_.erase(it);
  BumpLocked();
}

void JobMonitor::Changed() {
  absl::MutexLock lock(&mutex_);
  BumpLocked();
}

void JobMonitor::Close() {
  absl::MutexLock lock(&mutex_);
  closed_ = true;
  BumpLocked();
}

std::optional<JobProgress> JobMonitor::Progress(absl::string_view job_id) const {
  absl::MutexLock lock(&mutex_);
  auto it = progress_.find(job_id);
  if (it == progress_.end()) return std::nullopt;
  return it->second;
}

std::vector<WorkerActivity> JobMonitor::Workers() const {
  absl::MutexLock lock(&mutex_);
  std::vector<WorkerActivity> workers;
  for (const auto& [device, job_id] : worker_jobs_) workers.push_back({device, job_id});
  return workers;
}

uint64_t JobMonitor::version() const {
  absl::MutexLock lock(&mutex_);
  return version_;
}

bool JobMonitor::closed() const {
  absl::MutexLock lock(&mutex_);
  return closed_;
}

void JobMonitor::AwaitChange(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mutex_);
  auto changed = [&]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return closed_ || version_ != seen; };
  mutex_.AwaitWithTimeout(absl::Condition(&changed), timeout);
}

}  // namespace affsig::core
