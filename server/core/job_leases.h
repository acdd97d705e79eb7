// The worker side of the core: workers lease one job at a time, renew the lease while they run it
// (reporting progress, learning of a cancel), and end it with the signature or a reason. The
// store's open attempt is the lease's authority (a late completion is refused there); this class
// keeps what is only worth keeping in memory — when each lease expires, each job's deadline — and
// enforces them: a lease not renewed in time is lost (the job retried with backoff, up to the
// maximum of attempts), a job past its timeout ends FAILED, and a cancelled job whose worker does
// not stop within the grace ends CANCELLED. Its worker finds its lease gone at the next renewal.
#ifndef AFFSIG_SERVER_CORE_JOB_LEASES_H_
#define AFFSIG_SERVER_CORE_JOB_LEASES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/job.h"
#include "common/signature.h"
#include "server/core/job_monitor.h"
#include "server/store/job_queue.h"

namespace affsig::core {

struct LeaseOptions {
  absl::Duration lease = absl::Seconds(15);  // renewed every third of it
  // How long a worker told of a cancel may take to stop before its job ends CANCELLED anyway.
  absl::Duration cancel_grace = absl::Seconds(5);
  store::RetryPolicy retry;
  // The time leases and deadlines are measured in; tests step it by hand.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// What a worker says of itself when it asks for a job.
struct WorkerRequest {
  std::string worker;
  std::string device;
  std::string host;
  int64_t pid = 0;
  std::string version;
  std::vector<std::string> data_roots;
};

struct Lease {
  std::string lease_id;
  Job job;
  int64_t attempt = 0;
  absl::Duration expires_in;
  absl::Duration deadline_in;  // the job's timeout, from now
};

struct Renewal {
  bool cancel = false;  // stop at the next activation; end with outcome CANCELLED
  absl::Duration expires_in;
};

class JobLeases {
 public:
  JobLeases(store::JobQueue& queue, JobMonitor& monitor, LeaseOptions options);

  // Takes over the open attempts of remote workers that a previous run of the server left: each
  // gets a full lease from now, for its worker to renew.
  absl::Status AdoptOpenAttempts();
  // Names a worker that is this server's own child process: it dies with the server, so its
  // leases end when the server restarts, without waiting for them to expire. It is listed from
  // now on, as starting until it asks for a job.
  void AddLocalWorker(absl::string_view name, absl::string_view device);

  // The next job for this worker, waiting up to `wait` for one; nullopt when none came, or when
  // `gone` says the worker stopped waiting (its call was cancelled): a job claimed for it then
  // goes back to the queue. UNAVAILABLE when the server no longer gives leases (it is stopping).
  absl::StatusOr<std::optional<Lease>> Acquire(const WorkerRequest& worker, absl::Duration wait,
                                               const std::function<bool()>& gone = nullptr);
  // FAILED_PRECONDITION (LEASE_EXPIRED) when the lease is no longer current: drop the job.
  absl::StatusOr<Renewal> Renew(absl::string_view lease_id,
                                const std::optional<JobProgress>& progress);
  // `note`: one line the job should know of how it ran, kept as the attempt's reason.
  absl::Status Complete(absl::string_view lease_id, const Signature& signature,
                        absl::string_view note = "");
  // The worker ends its attempt: FAILED (the job's own error), CANCELLED (after a cancel), or
  // RETURNED (the worker stops; the job goes back to the queue).
  absl::Status End(absl::string_view lease_id, AttemptOutcome outcome, absl::string_view reason);
  // A local worker died (its supervisor saw it): its lease is lost now, with `reason`.
  void WorkerLost(absl::string_view worker, absl::string_view reason);

  // A job was queued (or requeued): waiting workers look at once.
  void NotifyQueued();
  // Expires leases not renewed in time, ends jobs past their timeout and cancelled jobs whose
  // worker did not stop within the grace. The server calls it a few times a second.
  void Enforce();
  // A RUNNING job's cancel was requested: its worker learns it at its next renewal.
  void CancelRequested(absl::string_view job_id);
  // No new leases from now on: the server is stopping. Waiting workers are answered at once.
  void StopLeasing();
  // Ends the open leases of local workers as RETURNED: they stopped with the server.
  void ReturnLocalLeases(absl::string_view reason);

 private:
  struct Active {
    std::string job_id;
    std::string worker;
    absl::Time expires;
    absl::Time deadline;
    absl::Duration timeout;
  };

  // Ends the attempt in the store and forgets it; `reason` goes to the log. An attempt that has
  // ended meanwhile (the worker completed it first) is forgotten; one the store could not end
  // now stays, for the next round to try again.
  void EndLease(const std::string& lease_id, AttemptOutcome outcome, const std::string& reason);
  // After the store ended an attempt: forgotten here and in the monitor, logged, the queue woken
  // when the job waits again.
  void Ended(const std::string& lease_id, const Job& job, AttemptOutcome outcome,
             absl::string_view reason);
  void Forget(const std::string& lease_id) ABSL_LOCKS_EXCLUDED(mutex_);

  store::JobQueue& queue_;
  JobMonitor& monitor_;
  const LeaseOptions options_;

  absl::Mutex mutex_;
  std::map<std::string, Active, std::less<>> active_ ABSL_GUARDED_BY(mutex_);  // by lease id
  std::set<std::string, std::less<>> local_workers_ ABSL_GUARDED_BY(mutex_);
  // Jobs cancelled between their claim and their listing here (Acquire applies them).
  std::set<std::string, std::less<>> pending_cancels_ ABSL_GUARDED_BY(mutex_);
  bool leasing_ ABSL_GUARDED_BY(mutex_) = true;
  int64_t queued_signals_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_JOB_LEASES_H_
