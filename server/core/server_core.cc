#include "server/core/server_core.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/data_spec.h"
#include "common/error_reason.h"
#include "common/log_line.h"

namespace affsig::core {
namespace {

bool SameUpdate(const JobView& a, const JobView& b) {
  if (a.job.state != b.job.state || a.progress.has_value() != b.progress.has_value()) return false;
  return !a.progress ||
         (a.progress->done == b.progress->done && a.progress->total == b.progress->total);
}

absl::Status CheckDigest(absl::string_view what, absl::string_view sha256) {
  if (store::IsSha256Hex(sha256)) return absl::OkStatus();
  return WithReason(absl::InvalidArgumentError(absl::StrCat(
                        what, " must be a sha256 (64 hex digits), got '", sha256, "'")),
                    reason::kInvalidDigest);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerCore>> ServerCore::Open(const ServerOptions& options) {
  auto queue = store::JobQueue::Open(options.db_path);
  if (!queue.ok()) return queue.status();
  auto signatures = store::SignatureStore::Open(options.db_path);
  if (!signatures.ok()) return signatures.status();
  auto catalog = store::BlobCatalog::Open(options.db_path);
  if (!catalog.ok()) return catalog.status();
  auto blobs = store::BlobStore::Open(options.data_dir, options.max_upload_bytes);
  if (!blobs.ok()) return blobs.status();
  return std::unique_ptr<ServerCore>(new ServerCore(
      options, *std::move(queue), *std::move(signatures), *std::move(blobs), *std::move(catalog)));
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
      monitor_(options.devices),
      started_at_ms_(store::NowMs()) {}

JobView ServerCore::View(store::Job job) const {
  JobView view;
  if (job.state == store::JobState::kRunning) view.progress = monitor_.Progress(job.id);
  view.job = std::move(job);
  return view;
}

absl::StatusOr<std::unique_ptr<store::BlobUpload>> ServerCore::BeginUpload() {
  return blobs_->BeginUpload();
}

absl::StatusOr<UploadedBlob> ServerCore::FinishUpload(store::BlobUpload& upload,
                                                      absl::string_view announced_sha256,
                                                      store::BlobKind kind,
                                                      absl::string_view name) {
  auto info = upload.Finish(announced_sha256);
  if (!info.ok()) return info.status();
  // Only the file's own name: a client's directories are none of the server's business.
  const std::string file_name = std::filesystem::path(std::string(name)).filename().string();
  if (absl::Status recorded = catalog_->Record(info->sha256, kind, info->size, file_name);
      !recorded.ok()) {
    return recorded;
  }
  auto blob = catalog_->Get(info->sha256, kind);
  if (!blob.ok()) return blob.status();
  return UploadedBlob{*std::move(blob), info->already_stored};
}

absl::StatusOr<std::vector<std::string>> ServerCore::FindMissingBlobs(
    const std::vector<std::string>& sha256s) {
  std::vector<std::string> missing;
  for (const std::string& sha256 : sha256s) {
    if (absl::Status valid = CheckDigest("sha256", sha256); !valid.ok()) return valid;
    if (!blobs_->Contains(sha256)) missing.push_back(sha256);
  }
  return missing;
}

absl::StatusOr<store::Page<store::CatalogedBlob>> ServerCore::ListModels(
    const store::PageRequest& page) {
  return catalog_->List(store::BlobKind::kModel, page);
}

absl::StatusOr<store::JobSpec> ServerCore::CheckData(store::JobSpec spec) const {
  if (spec.data_source.empty() == spec.input_sha256.empty()) {
    return WithReason(absl::InvalidArgumentError(
                          "give the data as input_sha256 (an upload) or as data_source, one of "
                          "the two"),
                      reason::kInvalidDataSource);
  }
  DataSpec data;
  if (!spec.data_source.empty()) {
    auto parsed = ParseDataSource(spec.data_source);
    if (!parsed.ok()) return WithReason(parsed.status(), reason::kInvalidDataSource);
    data = *std::move(parsed);
  }
  if (absl::Status options = ParseDataOptions(spec.data_options, data); !options.ok()) {
    return WithReason(options, reason::kInvalidDataSource);
  }
  ApplyDataDefaults(data);
  // Uploads are named by input_sha256, as before data sources existed.
  if (data.kind == DataKind::kUpload && !spec.data_source.empty()) {
    spec.input_sha256 = data.location;
    spec.data_source.clear();
  }
  if (!spec.data_source.empty()) spec.data_source = FormatDataSource(data);
  spec.data_options = FormatDataOptions(data);
  return spec;
}

absl::StatusOr<JobView> ServerCore::SubmitJob(const store::JobSpec& submitted) {
  auto checked = CheckData(submitted);
  if (!checked.ok()) return checked.status();
  const store::JobSpec& spec = *checked;
  std::vector<std::pair<const char*, const std::string*>> digests = {
      {"model_sha256", &spec.model_sha256}};
  if (!spec.input_sha256.empty()) digests.emplace_back("input_sha256", &spec.input_sha256);
  for (const auto& [what, digest] : digests) {
    if (absl::Status valid = CheckDigest(what, *digest); !valid.ok()) return valid;
    if (!blobs_->Contains(*digest)) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            what, " ", *digest, " is not on the server: upload it first")),
                        reason::kBlobNotUploaded);
    }
  }
  for (const auto& [key, value] : spec.labels) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(
                            "label keys must be non-empty and without '=', got '", key, "'")),
                        reason::kInvalidLabel);
    }
  }
  // Bytes first uploaded as an input can serve as a model: the catalog lists them as one too.
  if (auto model = catalog_->Get(spec.model_sha256, store::BlobKind::kModel); !model.ok()) {
    auto path = blobs_->PathOf(spec.model_sha256);
    if (!path.ok()) return path.status();
    const int64_t size = static_cast<int64_t>(std::filesystem::file_size(*path));
    if (absl::Status recorded =
            catalog_->Record(spec.model_sha256, store::BlobKind::kModel, size, "");
        !recorded.ok()) {
      return recorded;
    }
  }
  auto job = queue_->Submit(spec);
  if (!job.ok()) return job.status();
  LogLine(absl::StrCat("job ", job->id, " QUEUED model=", job->spec.model_sha256.substr(0, 12),
                       " priority=", job->spec.priority,
                       job->spec.name.empty() ? "" : absl::StrCat(" name=", job->spec.name)));
  monitor_.Changed();
  if (on_submit_) on_submit_();
  return View(*std::move(job));
}

absl::StatusOr<JobView> ServerCore::GetJob(absl::string_view id) {
  auto job = queue_->Get(id);
  if (!job.ok()) return job.status();
  return View(*std::move(job));
}

absl::StatusOr<store::Page<JobView>> ServerCore::ListJobs(const store::JobFilter& filter,
                                                          const store::PageRequest& page) {
  auto jobs = queue_->List(filter, page);
  if (!jobs.ok()) return jobs.status();
  store::Page<JobView> views;
  views.next_page_token = std::move(jobs->next_page_token);
  for (store::Job& job : jobs->items) views.items.push_back(View(std::move(job)));
  return views;
}

absl::StatusOr<JobView> ServerCore::CancelJob(absl::string_view id) {
  auto job = queue_->Cancel(id);
  if (!job.ok()) return job.status();
  LogLine(absl::StrCat("job ", id,
                       job->state == store::JobState::kCancelled
                           ? " CANCELLED while queued"
                           : " cancel requested: it stops at its next activation"));
  monitor_.Changed();
  return View(*std::move(job));
}

absl::Status ServerCore::DeleteJob(absl::string_view id) {
  if (absl::Status deleted = queue_->Delete(id); !deleted.ok()) return deleted;
  LogLine(absl::StrCat("job ", id, " deleted"));
  monitor_.Changed();
  return absl::OkStatus();
}

absl::Status ServerCore::WatchJob(absl::string_view id,
                                  const std::function<bool(const JobView&)>& send) {
  std::optional<JobView> last_sent;
  while (true) {
    // The version is read first: a change after the read below wakes the wait at once.
    const uint64_t version = monitor_.version();
    auto view = GetJob(id);
    if (!view.ok()) return view.status();
    if (!last_sent || !SameUpdate(*last_sent, *view)) {
      if (!send(*view)) return absl::CancelledError("the watcher left");
      last_sent = *view;
    }
    if (store::IsFinal(view->job.state)) return absl::OkStatus();
    if (monitor_.closed()) {
      return WithReason(
          absl::UnavailableError("the server is stopping: watch again once it is back"),
          reason::kServerStopping);
    }
    monitor_.AwaitChange(version, options_.watch_poll);
  }
}

absl::StatusOr<store::StoredSignature> ServerCore::GetSignature(absl::string_view id) {
  return signatures_->Get(id);
}

absl::StatusOr<store::Page<store::StoredSignature>> ServerCore::ListSignatures(
    const store::JobFilter& filter, bool with_entries, const store::PageRequest& page) {
  return signatures_->List(filter, with_entries, page);
}

absl::StatusOr<ServerStatus> ServerCore::GetStatus() {
  auto counts = queue_->CountByState();
  if (!counts.ok()) return counts.status();
  ServerStatus status;
  status.version = options_.version;
  status.workers = monitor_.Workers();
  status.queued_jobs = (*counts)[store::JobState::kQueued];
  status.running_jobs = (*counts)[store::JobState::kRunning];
  status.max_upload_bytes = blobs_->max_bytes();
  status.started_at_ms = started_at_ms_;
  status.data_roots = options_.data_roots;
  return status;
}

}  // namespace affsig::core
