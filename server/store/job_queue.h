// The durable job queue in SQLite: submission, the order workers take jobs in (priority, then
// submission order), each job's end, listing and deletion. A job's entries and its SUCCEEDED state
// are written in one transaction, and only while the job is RUNNING, so that no job gets its
// entries twice; jobs left RUNNING by a crash return to QUEUED when the queue is opened again,
// keeping their attempt count.
#ifndef AFFSIG_SERVER_STORE_JOB_QUEUE_H_
#define AFFSIG_SERVER_STORE_JOB_QUEUE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/signature.h"
#include "server/store/database.h"
#include "server/store/job_record.h"
#include "server/store/page_token.h"

namespace affsig::store {

class JobQueue {
 public:
  // Opens the database at `path` (migrating it) and requeues the jobs a crash left RUNNING.
  static absl::StatusOr<std::unique_ptr<JobQueue>> Open(const std::string& path);

  absl::StatusOr<Job> Submit(const JobSpec& spec);
  absl::StatusOr<Job> Get(absl::string_view id);
  // Newest first.
  absl::StatusOr<Page<Job>> List(const JobFilter& filter, const PageRequest& page);
  // How many jobs are in each state.
  absl::StatusOr<std::map<JobState, int64_t>> CountByState();
  // The next QUEUED job, now RUNNING with one more attempt; nullopt when none waits.
  absl::StatusOr<std::optional<Job>> ClaimNext();
  // Stores the entries and SUCCEEDED together; FAILED_PRECONDITION unless the job is RUNNING.
  absl::Status Complete(absl::string_view id, const Signature& signature);
  absl::Status Fail(absl::string_view id, absl::string_view error);
  // A QUEUED job ends CANCELLED at once; a RUNNING one is marked, and its worker stops at its next
  // activation (CancelRequested) and calls FinishCancelled.
  absl::StatusOr<Job> Cancel(absl::string_view id);
  bool CancelRequested(absl::string_view id);
  absl::Status FinishCancelled(absl::string_view id);
  // Removes a job that is not RUNNING, with its labels and entries.
  absl::Status Delete(absl::string_view id);

  // How many RUNNING jobs were returned to the queue when it was opened.
  int64_t requeued_at_open() const { return requeued_at_open_; }

 private:
  explicit JobQueue(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  absl::Status EndRunning(absl::string_view id, JobState state, absl::string_view error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::string> cancel_requested_ ABSL_GUARDED_BY(mutex_);
  int64_t requeued_at_open_ = 0;
};

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_JOB_QUEUE_H_
