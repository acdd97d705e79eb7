// The service's logic, independent of gRPC: uploads, jobs, live progress, signatures, the
// server's state, and the leases its workers hold (JobLeases). It owns the store (queue,
// signatures, blobs and their catalog) and the job monitor. Every call returns absl::Status; the
// gRPC adapters convert it once, at the edge. A job's spec is checked here, once, on its way in.
#ifndef AFFSIG_SERVER_CORE_SERVER_CORE_H_
#define AFFSIG_SERVER_CORE_SERVER_CORE_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/blob_info.h"
#include "common/job.h"
#include "common/listing.h"
#include "server/core/caller.h"
#include "server/core/job_leases.h"
#include "server/core/job_monitor.h"
#include "server/core/job_view.h"
#include "server/core/job_watchers.h"
#include "server/core/signature_analyses.h"

namespace affsig::store {
class BlobCatalog;
class BlobStore;
class BlobUpload;
class JobQueue;
class SignatureStore;
}  // namespace affsig::store

namespace affsig::core {

struct ServerOptions {
  std::string db_path;
  std::string data_dir;
  int64_t max_upload_bytes = int64_t{2048} << 20;
  std::vector<std::string> data_roots;  // where server paths may point (--data-root)
  std::string version;
  absl::Duration default_timeout = absl::Hours(1);  // for jobs that set none
  // How often watched jobs are read again even when the monitor saw no change.
  absl::Duration watch_poll = absl::Seconds(1);
  // The most QUEUED jobs; beyond, submissions are refused (RESOURCE_EXHAUSTED).
  int64_t max_queued_jobs = 100000;
  // Per-user quotas, which a user's line in the tokens file may override; 0: none.
  int64_t max_queued_per_user = 0;        // the user's jobs QUEUED at once
  int64_t max_upload_bytes_per_user = 0;  // the bytes of the blobs the user uploaded first
  LeaseOptions leases;
};

// An upload in progress: bytes are appended as they arrive, FinishUpload stores them.
class PendingUpload {
 public:
  ~PendingUpload();
  // RESOURCE_EXHAUSTED once the bytes exceed the server's limit (reason UPLOAD_TOO_LARGE) or
  // the uploader's quota (QUOTA_EXCEEDED): the bytes are then not stored.
  absl::Status Append(absl::string_view bytes);

 private:
  friend class ServerCore;
  PendingUpload(std::unique_ptr<store::BlobUpload> upload, std::string owner, int64_t quota_bytes,
                int64_t owned_bytes);
  std::unique_ptr<store::BlobUpload> upload_;
  const std::string owner_;
  const int64_t quota_bytes_;  // 0: none
  const int64_t owned_bytes_;  // what the owner's uploads took when this one began
  int64_t received_ = 0;
};

struct UploadedBlob {
  BlobInfo blob;
  bool already_stored = false;
};

// The bytes of a stored blob, for a worker that fetches it.
struct BlobContent {
  std::unique_ptr<std::istream> stream;
  int64_t size = 0;
};

struct ServerStatus {
  std::string version;
  std::vector<WorkerStatus> workers;
  int64_t queued_jobs = 0;
  int64_t running_jobs = 0;
  std::map<JobState, int64_t> jobs_by_state;  // a state with no job may be missing
  CounterValues counters;                     // since the server started
  int64_t max_upload_bytes = 0;
  int64_t started_at_ms = 0;
  std::vector<std::string> data_roots;
};

class ServerCore {
 public:
  // Opens the database (migrating it; recovering the jobs a previous run left RUNNING) and the
  // blob store, and takes over the leases of remote workers still running jobs.
  static absl::StatusOr<std::unique_ptr<ServerCore>> Open(const ServerOptions& options);
  ~ServerCore();

  JobLeases& leases() { return leases_; }
  // WatchJob: watches that hold no thread.
  JobWatchers& watchers() { return watchers_; }
  // Compare, cluster, correlate stored signatures.
  SignatureAnalyses& analyses() { return analyses_; }
  // What opening found of the previous run, lines for the log.
  std::vector<std::string> RecoverySummary() const;
  // From now on submissions are refused and every watch ends: the server is stopping.
  void Close();

  // Every call that changes something names its caller: what they own and may do, and the
  // audit line it logs.
  absl::StatusOr<std::unique_ptr<PendingUpload>> BeginUpload(const Caller& caller);
  // Stores the upload (checked against `announced_sha256` when given) and catalogs it.
  absl::StatusOr<UploadedBlob> FinishUpload(PendingUpload& upload,
                                            absl::string_view announced_sha256, BlobKind kind,
                                            absl::string_view name);
  // The digests among `sha256s` whose bytes are not on the server.
  absl::StatusOr<std::vector<std::string>> FindMissingBlobs(
      const std::vector<std::string>& sha256s);
  absl::StatusOr<BlobContent> ReadBlob(absl::string_view sha256);
  absl::StatusOr<Page<BlobInfo>> ListModels(const PageRequest& page);

  // Checks the spec (digests, uploads present, labels, data options, timeout, a priority above
  // 0 only for admins), applies the defaults so that the stored job says exactly what is done,
  // and queues it as the caller's, within their quota.
  absl::StatusOr<JobView> SubmitJob(const Caller& caller, JobSpec spec);
  absl::StatusOr<JobView> GetJob(absl::string_view id);
  absl::StatusOr<Page<JobView>> ListJobs(const JobFilter& filter, const PageRequest& page);
  // Only the job's owner or an admin: PERMISSION_DENIED (reason NOT_OWNER) otherwise.
  absl::StatusOr<JobView> CancelJob(const Caller& caller, absl::string_view id);
  absl::Status DeleteJob(const Caller& caller, absl::string_view id);

  absl::StatusOr<StoredSignature> GetSignature(absl::string_view id);
  absl::StatusOr<Page<StoredSignature>> ListSignatures(const JobFilter& filter, bool with_entries,
                                                       const PageRequest& page);

  absl::StatusOr<ServerStatus> GetStatus();

 private:
  ServerCore(const ServerOptions& options, std::unique_ptr<store::JobQueue> queue,
             std::unique_ptr<store::SignatureStore> signatures,
             std::unique_ptr<store::BlobStore> blobs, std::unique_ptr<store::BlobCatalog> catalog);
  JobView View(Job job) const;
  absl::Status CheckSpec(JobSpec& spec) const;
  // The job, when `caller` may cancel or delete it (`action` names what, for the error).
  absl::StatusOr<Job> JobToManage(const Caller& caller, absl::string_view id,
                                  absl::string_view action);

  const ServerOptions options_;
  std::unique_ptr<store::JobQueue> queue_;
  std::unique_ptr<store::SignatureStore> signatures_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<store::BlobCatalog> catalog_;
  JobMonitor monitor_;
  JobLeases leases_;
  JobWatchers watchers_;
  SignatureAnalyses analyses_;
  absl::Mutex finishing_uploads_;
  const int64_t started_at_ms_;
};

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_SERVER_CORE_H_
