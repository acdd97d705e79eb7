#include "server/core/job_monitor.h"

#include <utility>

#include "common/error_reason.h"

namespace affsig::core {
namespace {

// Enough for every change between two rounds of the watchers, however busy the server.
constexpr size_t kChangeLogLength = 4096;

}  // namespace

absl::Status ServerStoppingError() {
  return WithReason(absl::UnavailableError("the server is stopping: try again once it is back"),
                    reason::kServerStopping);
}

void JobMonitor::BumpLocked(absl::string_view job_id) {
  ++version_;
  change_log_.emplace_back(version_, std::string(job_id));
  if (change_log_.size() > kChangeLogLength) change_log_.pop_front();
}

void JobMonitor::WorkerSeen(const WorkerStatus& worker) {
  absl::MutexLock lock(&mutex_);
  WorkerStatus& known = workers_[worker.name];
  std::string job_id = std::move(known.job_id);
  known = worker;
  known.job_id = std::move(job_id);
}

void JobMonitor::WorkerRenewed(absl::string_view name, absl::Time when) {
  absl::MutexLock lock(&mutex_);
  if (auto it = workers_.find(name); it != workers_.end()) it->second.last_seen = when;
}

void JobMonitor::ForgetWorkersUnseenSince(absl::Time cutoff) {
  absl::MutexLock lock(&mutex_);
  for (auto it = workers_.begin(); it != workers_.end();) {
    const WorkerStatus& worker = it->second;
    if (!worker.local && worker.job_id.empty() && worker.last_seen < cutoff) {
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<WorkerStatus> JobMonitor::Workers() const {
  absl::MutexLock lock(&mutex_);
  std::vector<WorkerStatus> workers;
  for (const auto& [name, worker] : workers_) workers.push_back(worker);
  return workers;
}

void JobMonitor::JobStarted(absl::string_view job_id, absl::string_view worker,
                            absl::string_view device) {
  absl::MutexLock lock(&mutex_);
  RunningJob& running = running_[std::string(job_id)];
  running = RunningJob();
  running.worker = std::string(worker);
  running.device = std::string(device);
  if (auto it = workers_.find(worker); it != workers_.end()) it->second.job_id = std::string(job_id);
  BumpLocked(job_id);
}

void JobMonitor::JobProgressed(absl::string_view job_id, const JobProgress& progress) {
  absl::MutexLock lock(&mutex_);
  auto it = running_.find(job_id);
  if (it == running_.end()) return;
  it->second.progress = progress;
  BumpLocked(job_id);
}

absl::Time JobMonitor::JobCancelRequested(absl::string_view job_id, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  auto it = running_.find(job_id);
  if (it == running_.end()) return now;
  if (!it->second.cancel_requested_at) it->second.cancel_requested_at = now;
  BumpLocked(job_id);
  return *it->second.cancel_requested_at;
}

void JobMonitor::JobEnded(absl::string_view job_id) {
  absl::MutexLock lock(&mutex_);
  auto it = running_.find(job_id);
  if (it == running_.end()) return;
  if (auto worker = workers_.find(it->second.worker);
      worker != workers_.end() && worker->second.job_id == job_id) {
    worker->second.job_id.clear();
  }
  running_.erase(it);
  BumpLocked(job_id);
}

std::optional<RunningJob> JobMonitor::Running(absl::string_view job_id) const {
  absl::MutexLock lock(&mutex_);
  auto it = running_.find(job_id);
  if (it == running_.end()) return std::nullopt;
  return it->second;
}

void JobMonitor::JobChanged(absl::string_view job_id) {
  absl::MutexLock lock(&mutex_);
  BumpLocked(job_id);
}

void JobMonitor::Close() {
  absl::MutexLock lock(&mutex_);
  closed_ = true;
  ++version_;
}

uint64_t JobMonitor::version() const {
  absl::MutexLock lock(&mutex_);
  return version_;
}

std::optional<std::set<std::string>> JobMonitor::ChangedSince(uint64_t seen) const {
  absl::MutexLock lock(&mutex_);
  if (seen == version_) return std::set<std::string>();
  if (change_log_.empty() || change_log_.front().first > seen + 1) return std::nullopt;
  std::set<std::string> changed;
  for (auto it = change_log_.rbegin(); it != change_log_.rend() && it->first > seen; ++it) {
    changed.insert(it->second);
  }
  return changed;
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
