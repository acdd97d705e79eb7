// What the workers are doing now, which the database does not hold: each worker's current job and
// each running job's progress. Every change bumps a version, so that watchers (WatchJob) wait for
// the next change instead of polling the database.
#ifndef AFFSIG_SERVER_CORE_JOB_MONITOR_H_
#define AFFSIG_SERVER_CORE_JOB_MONITOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace affsig::core {

struct JobProgress {
  int64_t done = 0;   // activations scored
  int64_t total = 0;  // activations of the forward pass; 0 until it is done
  std::string activation;
  std::string device;
  int64_t batch = 0;  // from 1
  int64_t batches = 0;
};

struct WorkerActivity {
  std::string device;
  std::string job_id;  // empty when idle
};

class JobMonitor {
 public:
  explicit JobMonitor(const std::vector<std::string>& devices);

  void JobStarted(absl::string_view device, absl::string_view job_id);
  void JobProgressed(absl::string_view job_id, int64_t done, int64_t total,
                     absl::string_view activation, int64_t batch = 1, int64_t batches = 1);
  void JobEnded(absl::string_view device, absl::string_view job_id);
  // Something else changed (a job was submitted, cancelled or deleted).
  void Changed();
  // Wakes every watcher for good: the server is stopping.
  void Close();

  std::optional<JobProgress> Progress(absl::string_view job_id) const;
  std::vector<WorkerActivity> Workers() const;

  uint64_t version() const;
  bool closed() const;
  // Waits until the version differs from `seen`, the monitor is closed, or `timeout` passes.
  void AwaitChange(uint64_t seen, absl::Duration timeout) const;

 private:
  void BumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { ++version_; }

  mutable absl::Mutex mutex_;
  std::map<std::string, std::string> worker_jobs_ ABSL_GUARDED_BY(mutex_);  // device -> job id
  std::map<std::string, JobProgress, std::less<>> progress_ ABSL_GUARDED_BY(mutex_);
  uint64_t version_ ABSL_GUARDED_BY(mutex_) = 0;
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_JOB_MONITOR_H_
