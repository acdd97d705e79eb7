#include "server/core/job_watchers.h"

#include <utility>
#include <vector>

#include "common/status_macros.h"

namespace affsig::core {

bool SameUpdate(const JobView& a, const JobView& b) {
  if (a.job.state != b.job.state || a.running.has_value() != b.running.has_value()) return false;
  if (!a.running) return true;
  const std::optional<JobProgress>& pa = a.running->progress;
  const std::optional<JobProgress>& pb = b.running->progress;
  if (pa.has_value() != pb.has_value()) return false;
  return !pa || (pa->done == pb->done && pa->total == pb->total);
}

JobWatchers::JobWatchers(JobMonitor& monitor, ReadJob read, absl::Duration poll)
    : monitor_(monitor), read_(std::move(read)), poll_(poll) {
  thread_ = std::thread([this] { Loop(); });
}

JobWatchers::~JobWatchers() { Stop(); }

absl::StatusOr<uint64_t> JobWatchers::Add(absl::string_view job_id, JobWatcher* watcher) {
  RETURN_IF_ERROR(read_(job_id).status());  // NOT_FOUND now rather than in the stream
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return ServerStoppingError();
    id = next_id_++;
    watches_[id] = Watch{std::string(job_id), watcher, std::nullopt};
    fresh_.insert(std::string(job_id));
  }
  monitor_.JobChanged(job_id);  // the loop serves the new watch at once
  return id;
}

void JobWatchers::Remove(uint64_t id) {
  absl::MutexLock lock(&mutex_);
  watches_.erase(id);
}

void JobWatchers::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void JobWatchers::Loop() {
  uint64_t seen = monitor_.version();
  absl::Time last_full_read = absl::Now();
  while (true) {
    const uint64_t version = monitor_.version();
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_ || monitor_.closed()) {
        stopping_ = true;
        for (auto& [id, watch] : watches_) watch.watcher->OnEnd(ServerStoppingError());
        watches_.clear();
        return;
      }
      std::optional<std::set<std::string>> changed = monitor_.ChangedSince(seen);
      // Now and then every watched job is read again, whatever the monitor saw.
      if (absl::Now() - last_full_read >= poll_) {
        changed.reset();
        last_full_read = absl::Now();
      }
      Deliver(changed);
    }
    seen = version;
    monitor_.AwaitChange(version, poll_);
  }
}

void JobWatchers::Deliver(const std::optional<std::set<std::string>>& changed) {
  std::map<std::string, std::vector<uint64_t>> by_job;
  for (const auto& [id, watch] : watches_) {
    if (!changed || changed->count(watch.job_id) > 0 || fresh_.count(watch.job_id) > 0) {
      by_job[watch.job_id].push_back(id);
    }
  }
  fresh_.clear();
  for (const auto& [job_id, ids] : by_job) {
    absl::StatusOr<JobView> view = read_(job_id);  // once, however many watch it
    for (uint64_t id : ids) {
      Watch& watch = watches_.at(id);
      if (!view.ok()) {
        watch.watcher->OnEnd(view.status());
        watches_.erase(id);
        continue;
      }
      if (watch.last && SameUpdate(*watch.last, *view)) continue;
      watch.watcher->OnUpdate(*view);
      watch.last = *view;
      if (IsFinal(view->job.state)) watches_.erase(id);
    }
  }
}

}  // namespace affsig::core
