// Watches of jobs that hold no thread while they wait (WatchJob on gRPC's callback API). A watch
// registers a JobWatcher for one job; one thread follows the monitor and, at every change, reads
// each watched job that changed once — however many watch it — and hands the new view to each of
// its watchers whose last view differs. Every `poll` it also reads every watched job, whatever the
// monitor saw. A watcher is told of the final state (and then dropped), or of the job's deletion,
// or of the server stopping.
#ifndef AFFSIG_SERVER_CORE_JOB_WATCHERS_H_
#define AFFSIG_SERVER_CORE_JOB_WATCHERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/job_monitor.h"
#include "server/core/job_view.h"

namespace affsig::core {

// What a watch does with its job's views. Called on the watchers' thread, one call at a time per
// watcher; must not block (a gRPC reactor starts a write, or keeps the view for after the write
// in flight).
class JobWatcher {
 public:
  virtual ~JobWatcher() = default;
  // The job as it is now: first at once, then after every change; the last one has a final state.
  virtual void OnUpdate(const JobView& view) = 0;
  // The watch ends without a final state: NOT_FOUND (the job was deleted) or UNAVAILABLE (the
  // server stops).
  virtual void OnEnd(const absl::Status& status) = 0;
};

class JobWatchers {
 public:
  using ReadJob = std::function<absl::StatusOr<JobView>(absl::string_view job_id)>;

  // `read` gives a job's view (the database and the monitor's live part).
  JobWatchers(JobMonitor& monitor, ReadJob read, absl::Duration poll = absl::Seconds(1));
  ~JobWatchers();

  // Registers `watcher` for job `job_id` (NOT_FOUND for an unknown job); it gets the job's view
  // soon. The returned id removes it.
  absl::StatusOr<uint64_t> Add(absl::string_view job_id, JobWatcher* watcher);
  // After Remove returns, `watcher` is called no more (it may be deleted).
  void Remove(uint64_t id);
  // Tells every watcher the server stops (UNAVAILABLE), and ends the thread.
  void Stop();

 private:
  struct Watch {
    std::string job_id;
    JobWatcher* watcher;
    std::optional<JobView> last;  // the last view handed over
  };

  void Loop();
  // One round: the jobs that changed since `seen` (all when nullopt) are read again.
  void Deliver(const std::optional<std::set<std::string>>& changed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  JobMonitor& monitor_;
  const ReadJob read_;
  const absl::Duration poll_;
  absl::Mutex mutex_;
  std::map<uint64_t, Watch> watches_ ABSL_GUARDED_BY(mutex_);
  std::set<std::string> fresh_ ABSL_GUARDED_BY(mutex_);  // jobs with a watch not yet served
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_JOB_WATCHERS_H_
