// The durable job queue in SQLite: submission, the order workers lease jobs in (priority, then
// round-robin among users, then submission order), every attempt at a job and how it ended, listing
// and deletion.
//
// A worker holds a RUNNING job by a lease: the id of the job's open attempt. Only that lease may
// end the attempt, and a job's entries are written with its SUCCEEDED state in the transaction
// that ends it, so a late or repeated completion changes nothing and no job gets its entries
// twice. A cancel of a RUNNING job is recorded in the job, so that it outlives a crash.
#ifndef AFFSIG_SERVER_STORE_JOB_QUEUE_H_
#define AFFSIG_SERVER_STORE_JOB_QUEUE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/job.h"
#include "common/listing.h"
#include "common/signature.h"
#include "server/store/database.h"

namespace affsig::store {

struct LeaseHolder {
  std::string worker;
  std::string device;
  bool local = false;  // a child process of this server, which dies with it
};

// A RUNNING job's current attempt and the lease that may end it.
struct OpenAttempt {
  std::string lease_id;
  std::string job_id;
  int64_t number = 0;
  LeaseHolder holder;
  int64_t started_at_ms = 0;
  absl::Duration timeout;
  bool cancel_requested = false;
};

struct Claimed {
  Job job;
  OpenAttempt attempt;
};

// What becomes of a job whose worker was lost (outcome LOST).
struct RetryPolicy {
  int64_t max_attempts = 3;                   // lost attempts after which the job ends FAILED
  absl::Duration backoff = absl::Seconds(1);  // before the next attempt; doubles each time
  absl::Duration max_backoff = absl::Minutes(1);
};

// What opening the queue found of a previous run that crashed or stopped.
struct Recovery {
  int64_t requeued = 0;    // RUNNING on a local worker (gone with the server) or on none
  int64_t cancelled = 0;   // RUNNING with a cancel requested: not run again
  int64_t kept = 0;        // RUNNING on a remote worker, whose lease stays open
  int64_t summarized = 0;  // SUCCEEDED before signatures had summaries, summarized now
};

// Who submits, and the limits on what waits.
struct SubmitOptions {
  std::string owner = kUnknownOwner;
  int64_t max_queued = 0;            // jobs QUEUED at once, anyone's; 0: no limit
  int64_t max_queued_for_owner = 0;  // jobs QUEUED at once of this owner; 0: no limit
};

// FAILED_PRECONDITION with the reason LEASE_EXPIRED: `lease_id` is no longer a job's open attempt.
absl::Status LeaseNotCurrent(absl::string_view lease_id);

class JobQueue {
 public:
  // Opens the database at `path` (migrating it) and recovers the RUNNING jobs a previous run
  // left (recovery()).
  static absl::StatusOr<std::unique_ptr<JobQueue>> Open(const std::string& path);

  // Queues a new job of `options.owner` — or, when the spec's request id already made one of
  // theirs, returns that job and queues nothing; `created` (when given) says which.
  // RESOURCE_EXHAUSTED when max_queued jobs wait already (reason QUEUE_FULL), or
  // max_queued_for_owner of the owner's (reason QUOTA_EXCEEDED).
  absl::StatusOr<Job> Submit(const JobSpec& spec, const SubmitOptions& options = {},
                             bool* created = nullptr);
  absl::StatusOr<Job> Get(absl::string_view id);
  // Newest first.
  absl::StatusOr<Page<Job>> List(const JobFilter& filter, const PageRequest& page);
  // How many jobs are in each state.
  absl::StatusOr<std::map<JobState, int64_t>> CountByState();

  // The next QUEUED job whose backoff has passed — the highest priority; among equal ones the
  // oldest job of the user whose last job started longest ago (fair share) — now RUNNING under a
  // new lease that `holder` holds; nullopt when none waits.
  absl::StatusOr<std::optional<Claimed>> Claim(const LeaseHolder& holder);
  // Ends the attempt of `lease_id` SUCCEEDED and stores the entries with the job's SUCCEEDED
  // state; `note` is the attempt's reason (how it ran). FAILED_PRECONDITION (reason
  // LEASE_EXPIRED) unless the lease is the job's open attempt, and then nothing is written.
  absl::StatusOr<Job> Complete(absl::string_view lease_id, const Signature& signature,
                               absl::string_view note = "");
  // Ends the attempt of `lease_id`, fenced as Complete is. FAILED and TIMED_OUT end the job
  // FAILED with `reason`, CANCELLED ends it CANCELLED; RETURNED puts it back in the queue at
  // once, LOST after a backoff, or ends it FAILED, naming every lost attempt, once `policy`'s
  // max_attempts were lost. A job whose cancel was requested is not queued again: it ends
  // CANCELLED.
  absl::StatusOr<Job> EndAttempt(absl::string_view lease_id, AttemptOutcome outcome,
                                 absl::string_view reason, const RetryPolicy& policy);
  // A QUEUED job ends CANCELLED at once; for a RUNNING one the request is recorded, for its
  // worker to stop (the job then ends through EndAttempt). FAILED_PRECONDITION for an ended job.
  absl::StatusOr<Job> Cancel(absl::string_view id);
  // Removes a job that is not RUNNING, with its labels, attempts and entries.
  absl::Status Delete(absl::string_view id);

  // The open attempts: RUNNING jobs and who holds them.
  absl::StatusOr<std::vector<OpenAttempt>> OpenAttempts();
  const Recovery& recovery() const { return recovery_; }

 private:
  explicit JobQueue(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::StatusOr<std::vector<OpenAttempt>> ReadOpenAttempts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The open attempt of `lease_id`, or FAILED_PRECONDITION (LEASE_EXPIRED).
  absl::StatusOr<OpenAttempt> FindOpen(absl::string_view lease_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::Status CloseAttempt(const OpenAttempt& attempt, AttemptOutcome outcome,
                            absl::string_view reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Ends the RUNNING job in `state`; `error` is its one-line reason.
  absl::Status EndJob(absl::string_view id, JobState state, absl::string_view error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::Status Requeue(absl::string_view id, int64_t not_before_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The job's state after `attempt` was lost (or returned): queued again, or ended.
  absl::Status AfterLostAttempt(const OpenAttempt& attempt, AttemptOutcome outcome,
                                const RetryPolicy& policy) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mutex_);
  Recovery recovery_;
};

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_JOB_QUEUE_H_
