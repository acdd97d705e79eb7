#include "server/core/server_core.h"

#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/error_reason.h"
#include "common/log_line.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "server/store/blob_catalog.h"
#include "server/store/blob_store.h"
#include "server/store/job_queue.h"
#include "server/store/signature_store.h"

namespace affsig::core {
namespace {

absl::Status CheckDigest(absl::string_view what, absl::string_view sha256) {
  if (IsSha256Hex(sha256)) return absl::OkStatus();
  return WithReason(absl::InvalidArgumentError(absl::StrCat(
                        what, " must be a sha256 (64 hex digits), got '", sha256, "'")),
                    reason::kInvalidDigest);
}

// An upload refused by its owner's quota, audited.
absl::Status UploadQuotaExceeded(absl::string_view owner, int64_t owned, int64_t quota) {
  absl::Status refused = WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "quota max-upload-bytes-per-user: ", owner, "'s uploads take ", owned,
          " bytes, this one would pass the limit of ", quota, " bytes; ask an admin to raise it")),
      reason::kQuotaExceeded);
  LogLine(absl::StrCat("audit: ", owner, " refused: upload: ", refused.message()));
  return refused;
}

}  // namespace

PendingUpload::PendingUpload(std::unique_ptr<store::BlobUpload> upload, std::string owner,
                             int64_t quota_bytes, int64_t owned_bytes)
    : upload_(std::move(upload)),
      owner_(std::move(owner)),
      quota_bytes_(quota_bytes),
      owned_bytes_(owned_bytes) {}
PendingUpload::~PendingUpload() = default;

absl::Status PendingUpload::Append(absl::string_view bytes) {
  received_ += static_cast<int64_t>(bytes.size());
  if (quota_bytes_ > 0 && owned_bytes_ + received_ > quota_bytes_) {
    return UploadQuotaExceeded(owner_, owned_bytes_, quota_bytes_);
  }
  return upload_->Append(bytes);
}

absl::StatusOr<std::unique_ptr<ServerCore>> ServerCore::Open(const ServerOptions& options) {
  ASSIGN_OR_RETURN(auto queue, store::JobQueue::Open(options.db_path));
  ASSIGN_OR_RETURN(auto signatures, store::SignatureStore::Open(options.db_path));
  ASSIGN_OR_RETURN(auto catalog, store::BlobCatalog::Open(options.db_path));
  ASSIGN_OR_RETURN(auto blobs, store::BlobStore::Open(options.data_dir, options.max_upload_bytes));
  std::unique_ptr<ServerCore> core(new ServerCore(options, std::move(queue), std::move(signatures),
                                                  std::move(blobs), std::move(catalog)));
  RETURN_IF_ERROR(core->leases_.AdoptOpenAttempts());
  return core;
}

ServerCore::ServerCore(const ServerOptions& options, std::unique_ptr<store::JobQueue> queue,
                       std::unique_ptr<store::SignatureStore> signatures,
                       std::unique_ptr<store::BlobStore> blobs,
                       std::unique_ptr<store::BlobCatalog> catalog)
    : options_(options),
      queue_(std::move(queue)),
      signatures_(std::move(signatures)),
      blobs_(std::move(blobs)),
      catalog_(std::move(catalog)),
      leases_(*queue_, monitor_, options.leases),
      watchers_(
          monitor_, [this](absl::string_view id) { return GetJob(id); }, options.watch_poll),
      analyses_(*signatures_),
      started_at_ms_(absl::ToUnixMillis(absl::Now())) {}

ServerCore::~ServerCore() = default;

std::vector<std::string> ServerCore::RecoverySummary() const {
  const store::Recovery& recovery = queue_->recovery();
  std::vector<std::string> lines;
  if (recovery.requeued + recovery.cancelled + recovery.kept > 0) {
    lines.push_back(absl::StrCat("jobs left RUNNING by an earlier run: ", recovery.requeued,
                                 " requeued, ", recovery.cancelled,
                                 " cancelled (a cancel was requested), ", recovery.kept,
                                 " still held by remote workers"));
  }
  if (recovery.summarized > 0) {
    lines.push_back(absl::StrCat("signature statistics computed for ", recovery.summarized,
                                 " jobs that succeeded before the server stored them"));
  }
  return lines;
}

void ServerCore::Close() {
  monitor_.Close();
  watchers_.Stop();
}

JobView ServerCore::View(Job job) const {
  JobView view;
  if (job.state == JobState::kRunning) {
    view.running = monitor_.Running(job.id);
    // Leased a moment ago, before the monitor heard of it: the open attempt says where it runs.
    if (!view.running && !job.history.empty()) {
      view.running = RunningJob{job.history.back().worker, job.history.back().device};
    }
  }
  view.job = std::move(job);
  return view;
}

absl::StatusOr<std::unique_ptr<PendingUpload>> ServerCore::BeginUpload(const Caller& caller) {
  const int64_t quota = caller.quotas.max_upload_bytes.value_or(options_.max_upload_bytes_per_user);
  int64_t owned = 0;
  if (quota > 0) {
    ASSIGN_OR_RETURN(owned, catalog_->BytesOwnedBy(caller.user));
  }
  ASSIGN_OR_RETURN(auto upload, blobs_->BeginUpload());
  return std::unique_ptr<PendingUpload>(
      new PendingUpload(std::move(upload), caller.user, quota, owned));
}

absl::StatusOr<UploadedBlob> ServerCore::FinishUpload(PendingUpload& upload,
                                                      absl::string_view announced_sha256,
                                                      BlobKind kind, absl::string_view name) {
  // Uploads end one at a time: the check of the owner's bytes, the storing and the recording are
  // one step, so that uploads made side by side cannot pass a quota together.
  absl::MutexLock lock(&finishing_uploads_);
  const bool stored_before = IsSha256Hex(announced_sha256) && blobs_->Contains(announced_sha256);
  if (upload.quota_bytes_ > 0 && !stored_before) {
    ASSIGN_OR_RETURN(const int64_t owned, catalog_->BytesOwnedBy(upload.owner_));
    if (owned + upload.received_ > upload.quota_bytes_) {
      return UploadQuotaExceeded(upload.owner_, owned, upload.quota_bytes_);
    }
  }
  ASSIGN_OR_RETURN(store::StoredBlob stored, upload.upload_->Finish(announced_sha256));
  // Only the file's own name: a client's directories are none of the server's business.
  const std::string file_name = std::filesystem::path(std::string(name)).filename().string();
  RETURN_IF_ERROR(catalog_->Record(stored.sha256, kind, stored.size, file_name, upload.owner_));
  monitor_.counters().Uploaded(kind, stored.size);
  LogLine(absl::StrCat("audit: ", upload.owner_, " uploaded ",
                       kind == BlobKind::kModel ? "model " : "input ", stored.sha256.substr(0, 12),
                       " (", stored.size, " bytes", stored.already_stored ? ", already stored" : "",
                       ")"));
  ASSIGN_OR_RETURN(BlobInfo blob, catalog_->Get(stored.sha256, kind));
  return UploadedBlob{std::move(blob), stored.already_stored};
}

absl::StatusOr<std::vector<std::string>> ServerCore::FindMissingBlobs(
    const std::vector<std::string>& sha256s) {
  std::vector<std::string> missing;
  for (const std::string& sha256 : sha256s) {
    RETURN_IF_ERROR(CheckDigest("sha256", sha256));
    if (!blobs_->Contains(sha256)) missing.push_back(sha256);
  }
  return missing;
}

absl::StatusOr<BlobContent> ServerCore::ReadBlob(absl::string_view sha256) {
  RETURN_IF_ERROR(CheckDigest("sha256", sha256));
  ASSIGN_OR_RETURN(std::string path, blobs_->PathOf(sha256));
  BlobContent content;
  content.size = static_cast<int64_t>(std::filesystem::file_size(path));
  content.stream = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*content.stream) return absl::DataLossError(absl::StrCat("cannot read blob ", sha256));
  return content;
}

absl::StatusOr<Page<BlobInfo>> ServerCore::ListModels(const PageRequest& page) {
  return catalog_->List(BlobKind::kModel, page);
}

absl::Status ServerCore::CheckSpec(JobSpec& spec) const {
  RETURN_IF_ERROR(CheckDigest("model_sha256", spec.model_sha256));
  // Digests are stored and handed to workers in one spelling, lower case.
  spec.model_sha256 = absl::AsciiStrToLower(spec.model_sha256);
  if (spec.data.kind == DataKind::kUpload) {
    RETURN_IF_ERROR(CheckDigest("input_sha256", spec.data.location));
    spec.data.location = absl::AsciiStrToLower(spec.data.location);
  }
  if (absl::Status options = CheckDataOptions(spec.data); !options.ok()) {
    return WithReason(options, reason::kInvalidDataSource);
  }
  ApplyDataDefaults(spec.data);
  for (const auto& [key, value] : spec.labels) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(
                            "label keys must be non-empty and without '=', got '", key, "'")),
                        reason::kInvalidLabel);
    }
  }
  if (spec.timeout < absl::ZeroDuration()) {
    return WithReason(absl::InvalidArgumentError("the timeout must not be negative"),
                      reason::kInvalidTimeout);
  }
  if (spec.timeout == absl::ZeroDuration()) spec.timeout = options_.default_timeout;
  if (spec.request_id.size() > 128 ||
      spec.request_id.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                                        "VWXYZ-_.:") != std::string::npos) {
    return WithReason(absl::InvalidArgumentError(absl::StrCat(
                          "a request id is up to 128 letters, digits and -_.: (a UUID), got '",
                          spec.request_id, "'")),
                      reason::kInvalidRequestId);
  }
  std::vector<std::pair<const char*, std::string>> blobs = {{"model_sha256", spec.model_sha256}};
  if (spec.data.kind == DataKind::kUpload) blobs.emplace_back("input_sha256", spec.data.location);
  for (const auto& [what, digest] : blobs) {
    if (!blobs_->Contains(digest)) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            what, " ", digest, " is not on the server: upload it first")),
                        reason::kBlobNotUploaded);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<JobView> ServerCore::SubmitJob(const Caller& caller, JobSpec spec) {
  if (monitor_.closed()) return ServerStoppingError();
  if (spec.priority > 0 && !MayRaisePriority(caller)) {
    Audit(caller, absl::StrCat("refused: submit at priority ", spec.priority));
    return WithReason(absl::PermissionDeniedError(absl::StrCat(
                          "priority ", spec.priority,
                          " needs the admin role; above 0 a job would pass everyone's")),
                      reason::kRoleNotAllowed);
  }
  RETURN_IF_ERROR(CheckSpec(spec));
  // Bytes first uploaded as an input can serve as a model: the catalog lists them as one too.
  if (!catalog_->Get(spec.model_sha256, BlobKind::kModel).ok()) {
    ASSIGN_OR_RETURN(std::string path, blobs_->PathOf(spec.model_sha256));
    const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
    RETURN_IF_ERROR(catalog_->Record(spec.model_sha256, BlobKind::kModel, size, "", caller.user));
  }
  store::SubmitOptions submit;
  submit.owner = caller.user;
  submit.max_queued = options_.max_queued_jobs;
  submit.max_queued_for_owner =
      caller.quotas.max_queued_jobs.value_or(options_.max_queued_per_user);
  bool created = false;
  absl::StatusOr<Job> submitted = queue_->Submit(spec, submit, &created);
  if (!submitted.ok()) {
    if (ErrorReason(submitted.status()) == reason::kQuotaExceeded) {
      Audit(caller, absl::StrCat("refused: submit: ", submitted.status().message()));
    }
    return submitted.status();
  }
  Job job = *std::move(submitted);
  if (!created) return View(std::move(job));  // a retried submission: the job it made
  LogLine(absl::StrCat("job ", job.id, " QUEUED by ", caller.user, " model=",
                       job.spec.model_sha256.substr(0, 12), " priority=", job.spec.priority,
                       job.spec.name.empty() ? "" : absl::StrCat(" name=", job.spec.name)));
  monitor_.JobChanged(job.id);
  leases_.NotifyQueued();
  return View(std::move(job));
}

absl::StatusOr<JobView> ServerCore::GetJob(absl::string_view id) {
  ASSIGN_OR_RETURN(Job job, queue_->Get(id));
  return View(std::move(job));
}

absl::StatusOr<Page<JobView>> ServerCore::ListJobs(const JobFilter& filter,
                                                   const PageRequest& page) {
  ASSIGN_OR_RETURN(Page<Job> jobs, queue_->List(filter, page));
  Page<JobView> views;
  views.next_page_token = std::move(jobs.next_page_token);
  for (Job& job : jobs.items) views.items.push_back(View(std::move(job)));
  return views;
}

absl::StatusOr<Job> ServerCore::JobToManage(const Caller& caller, absl::string_view id,
                                            absl::string_view action) {
  ASSIGN_OR_RETURN(Job job, queue_->Get(id));
  if (MayManage(caller, job.owner)) return job;
  Audit(caller, absl::StrCat("refused: ", action, " job ", id, " of ", job.owner));
  return WithReason(
      absl::PermissionDeniedError(absl::StrCat(
          "job ", id, " is ", job.owner, "'s: only its owner or an admin may ", action, " it")),
      reason::kNotOwner);
}

absl::StatusOr<JobView> ServerCore::CancelJob(const Caller& caller, absl::string_view id) {
  RETURN_IF_ERROR(JobToManage(caller, id, "cancel").status());
  ASSIGN_OR_RETURN(Job job, queue_->Cancel(id));
  if (job.state == JobState::kRunning) {
    leases_.CancelRequested(id);
    LogLine(absl::StrCat("job ", id, " cancel requested by ", caller.user,
                         ": its worker stops at its next activation, or is stopped"));
  } else {
    LogLine(absl::StrCat("job ", id, " CANCELLED while queued, by ", caller.user));
  }
  monitor_.JobChanged(id);
  return View(std::move(job));
}

absl::Status ServerCore::DeleteJob(const Caller& caller, absl::string_view id) {
  RETURN_IF_ERROR(JobToManage(caller, id, "delete").status());
  RETURN_IF_ERROR(queue_->Delete(id));
  LogLine(absl::StrCat("job ", id, " deleted by ", caller.user));
  monitor_.JobChanged(id);
  return absl::OkStatus();
}

absl::StatusOr<StoredSignature> ServerCore::GetSignature(absl::string_view id) {
  return signatures_->Get(id);
}

absl::StatusOr<Page<StoredSignature>> ServerCore::ListSignatures(const JobFilter& filter,
                                                                 bool with_entries,
                                                                 const PageRequest& page) {
  return signatures_->List(filter, with_entries, page);
}

absl::StatusOr<ServerStatus> ServerCore::GetStatus() {
  ASSIGN_OR_RETURN(auto counts, queue_->CountByState());
  ServerStatus status;
  status.version = options_.version;
  status.workers = monitor_.Workers();
  status.queued_jobs = counts[JobState::kQueued];
  status.running_jobs = counts[JobState::kRunning];
  status.jobs_by_state = counts;
  status.counters = monitor_.counters().Read();
  status.max_upload_bytes = blobs_->max_bytes();
  status.started_at_ms = started_at_ms_;
  status.data_roots = options_.data_roots;
  return status;
}

}  // namespace affsig::core
