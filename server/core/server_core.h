// The service's logic, independent of gRPC: uploads, jobs, live progress, signatures and the
// server's state. It owns the store (queue, signatures, blobs and their catalog) and the job
// monitor; workers run beside it on the same queue. Every call returns absl::Status; the gRPC
// adapter converts it once, at the edge.
#ifndef AFFSIG_SERVER_CORE_SERVER_CORE_H_
#define AFFSIG_SERVER_CORE_SERVER_CORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/job_monitor.h"
#include "server/store/blob_catalog.h"
#include "server/store/blob_store.h"
#include "server/store/job_queue.h"
#include "server/store/signature_store.h"

namespace affsig::core {

struct ServerOptions {
  std::string db_path;
  std::string data_dir;
  int64_t max_upload_bytes = int64_t{2048} << 20;
  std::vector<std::string> devices;     // one worker each
  std::vector<std::string> data_roots;  // where server paths may point (--data-root)
  std::string version;
  // How often a watcher looks at the database even when nothing was signalled.
  absl::Duration watch_poll = absl::Seconds(1);
};

// A job as clients see it: the stored job and, while it runs, its progress.
struct JobView {
  store::Job job;
  std::optional<JobProgress> progress;
};

struct UploadedBlob {
  store::CatalogedBlob blob;
  bool already_stored = false;
};

struct ServerStatus {
  std::string version;
  std::vector<WorkerActivity> workers;
  int64_t queued_jobs = 0;
  int64_t running_jobs = 0;
  int64_t max_upload_bytes = 0;
  int64_t started_at_ms = 0;
  std::vector<std::string> data_roots;
};

class ServerCore {
 public:
  // Opens the database (migrating it; jobs left RUNNING by a crash return to the queue) and the
  // blob store.
  static absl::StatusOr<std::unique_ptr<ServerCore>> Open(const ServerOptions& options);

  // Called after every submission (the workers' wake-up).
  void set_on_submit(std::function<void()> on_submit) { on_submit_ = std::move(on_submit); }
  // Ends every watch: the server is stopping.
  void Close() { monitor_.Close(); }

  store::JobQueue& queue() { return *queue_; }
  const store::BlobStore& blobs() const { return *blobs_; }
  JobMonitor& monitor() { return monitor_; }

  absl::StatusOr<std::unique_ptr<store::BlobUpload>> BeginUpload();
  // Stores the upload (checked against `announced_sha256` when given) and catalogs it.
  absl::StatusOr<UploadedBlob> FinishUpload(store::BlobUpload& upload,
                                            absl::string_view announced_sha256,
                                            store::BlobKind kind, absl::string_view name);
  // The digests among `sha256s` whose bytes are not on the server.
  absl::StatusOr<std::vector<std::string>> FindMissingBlobs(
      const std::vector<std::string>& sha256s);
  absl::StatusOr<store::Page<store::CatalogedBlob>> ListModels(const store::PageRequest& page);

  absl::StatusOr<JobView> SubmitJob(const store::JobSpec& spec);
  absl::StatusOr<JobView> GetJob(absl::string_view id);
  absl::StatusOr<store::Page<JobView>> ListJobs(const store::JobFilter& filter,
                                                const store::PageRequest& page);
  absl::StatusOr<JobView> CancelJob(absl::string_view id);
  absl::Status DeleteJob(absl::string_view id);
  // Calls `send` with the job now and after every change of state or progress, until it ends.
  // Returns OK after the final state was sent, CANCELLED when `send` returns false (the watcher
  // left), UNAVAILABLE when the server stops, NOT_FOUND when the job is (or gets) deleted.
  absl::Status WatchJob(absl::string_view id, const std::function<bool(const JobView&)>& send);

  absl::StatusOr<store::StoredSignature> GetSignature(absl::string_view id);
  absl::StatusOr<store::Page<store::StoredSignature>> ListSignatures(
      const store::JobFilter& filter, bool with_entries, const store::PageRequest& page);

  absl::StatusOr<ServerStatus> GetStatus();

 private:
  ServerCore(const ServerOptions& options, std::unique_ptr<store::JobQueue> queue,
             std::unique_ptr<store::SignatureStore> signatures,
             std::unique_ptr<store::BlobStore> blobs, std::unique_ptr<store::BlobCatalog> catalog);
  JobView View(store::Job job) const;
  // The spec with its data source and options parsed, checked, defaulted and in canonical form.
  absl::StatusOr<store::JobSpec> CheckData(store::JobSpec spec) const;

  ServerOptions options_;
  std::unique_ptr<store::JobQueue> queue_;
  std::unique_ptr<store::SignatureStore> signatures_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<store::BlobCatalog> catalog_;
  JobMonitor monitor_;
  std::function<void()> on_submit_;
  int64_t started_at_ms_ = 0;
};

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_SERVER_CORE_H_
