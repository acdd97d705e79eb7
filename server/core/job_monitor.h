// What the database does not hold: the workers as the server last saw them, each running job's
// worker, progress and cancel request, and the counts since the start (ServiceCounters). Every
// change of a job bumps a version and is logged with the job's id, so that watchers (JobWatchers)
// wait for the next change and then read again only the jobs that changed.
#ifndef AFFSIG_SERVER_CORE_JOB_MONITOR_H_
#define AFFSIG_SERVER_CORE_JOB_MONITOR_H_

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/service_counters.h"

namespace affsig::core {

// UNAVAILABLE with the reason SERVER_STOPPING: try again once the server is back.
absl::Status ServerStoppingError();

struct JobProgress {
  int64_t done = 0;   // activations scored, over every batch
  int64_t total = 0;  // activations of every batch; 0 until the first forward pass is done
  std::string activation;
  int64_t batch = 0;  // from 1
  int64_t batches = 0;
};

struct WorkerStatus {
  std::string name;  // unique among the server's workers
  std::string device;
  std::string host;
  int64_t pid = 0;
  bool local = false;  // a child process of this server
  std::string version;
  std::vector<std::string> data_roots;
  std::string job_id;  // empty when idle
  absl::Time last_seen = absl::InfinitePast();  // InfinitePast: a local worker still starting
};

struct RunningJob {
  std::string worker;
  std::string device;
  std::optional<JobProgress> progress;  // nullopt until the worker reports some
  std::optional<absl::Time> cancel_requested_at;
};

class JobMonitor {
 public:
  // A worker asked for a job or renewed its lease; what it says of itself replaces what was
  // known, but not its job.
  void WorkerSeen(const WorkerStatus& worker);
  // A worker renewed its lease at `when`.
  void WorkerRenewed(absl::string_view name, absl::Time when);
  // Forgets the remote workers not seen since `cutoff`; local ones stay listed.
  void ForgetWorkersUnseenSince(absl::Time cutoff);
  std::vector<WorkerStatus> Workers() const;

  void JobStarted(absl::string_view job_id, absl::string_view worker, absl::string_view device);
  void JobProgressed(absl::string_view job_id, const JobProgress& progress);
  // Returns when the cancel was first requested (now, unless it was before).
  absl::Time JobCancelRequested(absl::string_view job_id, absl::Time now);
  void JobEnded(absl::string_view job_id);
  std::optional<RunningJob> Running(absl::string_view job_id) const;

  // Something else changed in a job (submitted, cancelled, deleted, ended).
  void JobChanged(absl::string_view job_id);
  // Wakes every waiter for good: the server is stopping.
  void Close();
  uint64_t version() const;
  // The ids of the jobs that changed after version `seen`; nullopt when the log no longer reaches
  // back that far (then any job may have changed).
  std::optional<std::set<std::string>> ChangedSince(uint64_t seen) const;
  bool closed() const;
  // Waits until the version differs from `seen`, the monitor is closed, or `timeout` passes.
  void AwaitChange(uint64_t seen, absl::Duration timeout) const;

  ServiceCounters& counters() { return counters_; }
  const ServiceCounters& counters() const { return counters_; }

 private:
  void BumpLocked(absl::string_view job_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  std::map<std::string, WorkerStatus, std::less<>> workers_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, RunningJob, std::less<>> running_ ABSL_GUARDED_BY(mutex_);
  uint64_t version_ ABSL_GUARDED_BY(mutex_) = 0;
  // (version, job id) of the latest changes, oldest first, a few thousand at most.
  std::deque<std::pair<uint64_t, std::string>> change_log_ ABSL_GUARDED_BY(mutex_);
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
  ServiceCounters counters_;
};

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_JOB_MONITOR_H_
