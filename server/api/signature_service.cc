#include "server/api/signature_service.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/error_reason.h"
#include "common/status_macros.h"
#include "proto/grpc_status.h"
#include "proto/proto_types.h"

namespace affsig::api {
namespace {

v1::JobState StateToProto(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return v1::QUEUED;
    case JobState::kRunning:
      return v1::RUNNING;
    case JobState::kSucceeded:
      return v1::SUCCEEDED;
    case JobState::kFailed:
      return v1::FAILED;
    case JobState::kCancelled:
      return v1::CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

JobState StateFromProto(v1::JobState state) {
  switch (state) {
    case v1::RUNNING:
      return JobState::kRunning;
    case v1::SUCCEEDED:
      return JobState::kSucceeded;
    case v1::FAILED:
      return JobState::kFailed;
    case v1::CANCELLED:
      return JobState::kCancelled;
    default:
      return JobState::kQueued;
  }
}

// With no entry scored, the statistics are left unset: a statistic of nothing.
void SummaryToProto(const SignatureSummary& summary, v1::SignatureSummary* proto) {
  proto->set_entries(summary.entries);
  proto->set_scored(summary.scored);
  if (summary.scored == 0) return;
  proto->set_mean_score(summary.mean_score);
  proto->set_median_score(summary.median_score);
  proto->set_std_score(summary.std_score);
  proto->set_min_score(summary.min_score);
  proto->set_max_score(summary.max_score);
  proto->set_score_range(summary.score_range());
  proto->set_lowest_score_depth(summary.lowest_score_depth);
}

v1::Job JobToProto(const Job& job, const std::optional<core::RunningJob>& running) {
  v1::Job proto;
  proto.set_job_id(job.id);
  proto.set_owner(job.owner);
  proto.set_state(StateToProto(job.state));
  proto.set_name(job.spec.name);
  proto.set_model_sha256(job.spec.model_sha256);
  DataSpecToProto(job.spec.data, proto.mutable_input_sha256(), proto.mutable_data_source(),
                  proto.mutable_data_options());
  proto.set_activations(ActivationModeToProto(job.spec.activations));
  proto.set_optimize(ForwardOptimizationToProto(job.spec.optimize));
  MeasureSelectionToProto(job.spec.measures, proto.mutable_measures());
  proto.mutable_labels()->insert(job.spec.labels.begin(), job.spec.labels.end());
  proto.set_priority(job.spec.priority);
  proto.set_timeout_seconds(absl::ToInt64Seconds(job.spec.timeout));
  proto.set_attempts(job.attempts);
  proto.set_error(job.error);
  proto.set_cancel_requested(job.cancel_requested && !IsFinal(job.state));
  proto.set_created_at_ms(job.created_at_ms);
  proto.set_started_at_ms(job.started_at_ms);
  proto.set_finished_at_ms(job.finished_at_ms);
  for (const JobAttempt& attempt : job.history) {
    v1::JobAttempt* out = proto.add_attempt_history();
    out->set_attempt(attempt.number);
    out->set_worker(attempt.worker);
    out->set_device(attempt.device);
    out->set_started_at_ms(attempt.started_at_ms);
    out->set_ended_at_ms(attempt.ended_at_ms);
    if (attempt.outcome) out->set_outcome(std::string(AttemptOutcomeName(*attempt.outcome)));
    out->set_reason(attempt.reason);
  }
  if (job.summary) SummaryToProto(*job.summary, proto.mutable_summary());
  if (running) {
    proto.set_device(running->device);
    proto.set_worker(running->worker);
    if (running->progress) {
      const core::JobProgress& progress = *running->progress;
      proto.mutable_progress()->set_done(progress.done);
      proto.mutable_progress()->set_total(progress.total);
      proto.mutable_progress()->set_activation(progress.activation);
      proto.mutable_progress()->set_batch(progress.batch);
      proto.mutable_progress()->set_batches(progress.batches);
    }
  }
  return proto;
}

v1::Job JobToProto(const core::JobView& view) { return JobToProto(view.job, view.running); }

void BlobToProto(const BlobInfo& blob, v1::Blob* proto) {
  proto->set_sha256(blob.sha256);
  proto->set_size(blob.size.value_or(0));
  proto->set_name(blob.name);
  proto->set_uploaded_at_ms(blob.uploaded_at_ms);
  proto->set_job_count(blob.job_count);
}

void SignatureToProto(const StoredSignature& signature, v1::Signature* proto) {
  *proto->mutable_job() = JobToProto(signature.job, std::nullopt);
  *proto->mutable_summary() = proto->job().summary();
  for (const SignatureEntry& entry : signature.entries) EntryToProto(entry, proto->add_entries());
}

absl::Status AddLabelFilters(const google::protobuf::RepeatedPtrField<std::string>& labels,
                             JobFilter& filter) {
  for (const std::string& text : labels) {
    auto label = ParseLabelFilter(text);
    if (!label.ok()) return label.status();
    filter.labels.push_back(*std::move(label));
  }
  return absl::OkStatus();
}

absl::StatusOr<core::ComparisonRequest> ComparisonFromProto(
    const v1::CompareSignaturesRequest& proto) {
  core::ComparisonRequest request;
  const v1::SignatureSelection& selection = proto.signatures();
  request.signatures.job_ids.assign(selection.job_ids().begin(), selection.job_ids().end());
  for (const std::string& text : selection.labels()) {
    ASSIGN_OR_RETURN(LabelFilter label, ParseLabelFilter(text));
    request.signatures.labels.push_back(std::move(label));
  }
  request.distance = SignatureDistanceFromProto(proto.distance());
  if (!proto.value().empty()) {
    absl::StatusOr<ComparedValue> value = ParseComparedValue(proto.value());
    if (!value.ok()) return WithReason(value.status(), reason::kInvalidAnalysis);
    request.value = *value;
  }
  request.resample = proto.resample();
  return request;
}

void ComparisonToProto(const core::Comparison& comparison, v1::SignatureComparison* proto) {
  proto->mutable_job_ids()->Add(comparison.job_ids.begin(), comparison.job_ids.end());
  proto->mutable_names()->Add(comparison.names.begin(), comparison.names.end());
  proto->set_distance(SignatureDistanceToProto(comparison.distance));
  proto->set_value(std::string(ComparedValueName(comparison.value)));
  const size_t n = comparison.job_ids.size();
  for (size_t i = 0; i < n; ++i) {
    auto row = comparison.matrix.begin() + static_cast<std::ptrdiff_t>(i * n);
    proto->add_matrix()->mutable_distances()->Add(row, row + static_cast<std::ptrdiff_t>(n));
  }
}

// An upload: each chunk appended as it arrives, the blob stored when the client half-closes.
// Reactions may run concurrently (a read ending as the client leaves): the call is finished once.
class UploadReactor final : public grpc::ServerReadReactor<v1::UploadChunk> {
 public:
  UploadReactor(grpc::CallbackServerContext* context, core::ServerCore& core,
                const absl::StatusOr<core::Caller>& caller, BlobKind kind, v1::Blob* response)
      : context_(context), core_(core), kind_(kind), response_(response) {
    if (!caller.ok()) {
      FinishOnce(ToGrpcStatus(caller.status()));
      return;
    }
    auto upload = core_.BeginUpload(*caller);
    if (!upload.ok()) {
      FinishOnce(ToGrpcStatus(upload.status()));
      return;
    }
    upload_ = *std::move(upload);
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed, or left
      FinishOnce(context_->IsCancelled()
                     ? grpc::Status(grpc::StatusCode::CANCELLED, "the upload was abandoned")
                     : Store());
      return;
    }
    if (first_) {
      announced_ = chunk_.sha256();
      name_ = chunk_.name();
      first_ = false;
    }
    if (absl::Status appended = upload_->Append(chunk_.data()); !appended.ok()) {
      FinishOnce(ToGrpcStatus(appended));
      return;
    }
    StartRead(&chunk_);
  }
  void OnCancel() override {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the upload was abandoned"));
  }
  void OnDone() override { delete this; }

 private:
  grpc::Status Store() {
    auto stored = core_.FinishUpload(*upload_, announced_, kind_, name_);
    if (!stored.ok()) return ToGrpcStatus(stored.status());
    BlobToProto(stored->blob, response_);
    response_->set_already_stored(stored->already_stored);
    return grpc::Status::OK;
  }
  void FinishOnce(const grpc::Status& status) {
    absl::MutexLock lock(&mutex_);
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  grpc::CallbackServerContext* const context_;
  core::ServerCore& core_;
  const BlobKind kind_;
  v1::Blob* response_;
  std::unique_ptr<core::PendingUpload> upload_;
  v1::UploadChunk chunk_;
  std::string announced_, name_;
  bool first_ = true;
  absl::Mutex mutex_;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
};

// A watch: a JobWatcher of the core, which hands it every new view of the job on the watchers'
// thread; one write in flight at a time, the latest view kept for after it.
class WatchReactor final : public grpc::ServerWriteReactor<v1::Job>, public core::JobWatcher {
 public:
  WatchReactor(core::JobWatchers& watchers, const std::string& job_id, const absl::Status& allowed)
      : watchers_(watchers) {
    absl::StatusOr<uint64_t> id =
        allowed.ok() ? watchers_.Add(job_id, this) : absl::StatusOr<uint64_t>(allowed);
    if (!id.ok()) {
      absl::MutexLock lock(&mutex_);
      FinishLocked(ToGrpcStatus(id.status()));
      return;
    }
    absl::MutexLock lock(&mutex_);
    id_ = *id;
  }

  void OnUpdate(const core::JobView& view) override {
    absl::MutexLock lock(&mutex_);
    if (finished_) return;
    pending_ = JobToProto(view);
    if (!writing_) WriteLocked();
  }
  void OnEnd(const absl::Status& status) override {
    absl::MutexLock lock(&mutex_);
    end_ = ToGrpcStatus(status);
    if (!writing_ && !pending_) FinishLocked(*end_);
  }
  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mutex_);
    writing_ = false;
    if (finished_) return;
    if (!ok) {  // the client left
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher left"));
    } else if (pending_) {
      WriteLocked();
    } else if (wrote_final_) {
      FinishLocked(grpc::Status::OK);
    } else if (end_) {
      FinishLocked(*end_);
    }
  }
  void OnCancel() override {
    absl::MutexLock lock(&mutex_);
    if (!finished_ && !writing_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher left"));
    }
  }
  void OnDone() override {
    uint64_t id = 0;
    {
      absl::MutexLock lock(&mutex_);
      id = id_;
    }
    if (id != 0) watchers_.Remove(id);  // no call of this watcher after it returns
    delete this;
  }

 private:
  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    written_ = *std::move(pending_);
    pending_.reset();
    wrote_final_ = written_.state() == v1::SUCCEEDED || written_.state() == v1::FAILED ||
                   written_.state() == v1::CANCELLED;
    writing_ = true;
    StartWrite(&written_);
  }
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  core::JobWatchers& watchers_;
  absl::Mutex mutex_;
  uint64_t id_ ABSL_GUARDED_BY(mutex_) = 0;
  std::optional<v1::Job> pending_ ABSL_GUARDED_BY(mutex_);
  v1::Job written_ ABSL_GUARDED_BY(mutex_);  // alive until its write is done
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool wrote_final_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace

grpc::ServerReadReactor<v1::UploadChunk>* SignatureServiceImpl::UploadModel(
    grpc::CallbackServerContext* context, v1::Blob* response) {
  return new UploadReactor(context, core_, UserOf(context), BlobKind::kModel, response);
}

grpc::ServerReadReactor<v1::UploadChunk>* SignatureServiceImpl::UploadInput(
    grpc::CallbackServerContext* context, v1::Blob* response) {
  return new UploadReactor(context, core_, UserOf(context), BlobKind::kInput, response);
}

grpc::Status SignatureServiceImpl::FindMissingBlobs(grpc::ServerContext* context,
                                                    const v1::FindMissingBlobsRequest* request,
                                                    v1::FindMissingBlobsResponse* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto missing = core_.FindMissingBlobs({request->sha256().begin(), request->sha256().end()});
  if (!missing.ok()) return ToGrpcStatus(missing.status());
  response->mutable_missing_sha256()->Add(missing->begin(), missing->end());
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::ListModels(grpc::ServerContext* context,
                                              const v1::ListModelsRequest* request,
                                              v1::ListModelsResponse* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto models = core_.ListModels({request->page_size(), request->page_token()});
  if (!models.ok()) return ToGrpcStatus(models.status());
  for (const BlobInfo& model : models->items) BlobToProto(model, response->add_models());
  response->set_next_page_token(models->next_page_token);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::SubmitJob(grpc::ServerContext* context,
                                             const v1::SubmitJobRequest* request,
                                             v1::Job* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto data =
      DataSpecFromProto(request->input_sha256(), request->data_source(), request->data_options());
  if (!data.ok()) return ToGrpcStatus(data.status());
  auto measures = MeasureSelectionFromProto(request->measures());
  if (!measures.ok()) return ToGrpcStatus(measures.status());
  JobSpec spec;
  spec.name = request->name();
  spec.model_sha256 = request->model_sha256();
  spec.data = *std::move(data);
  spec.activations = ActivationModeFromProto(request->activations());
  spec.optimize = ForwardOptimizationFromProto(request->optimize());
  spec.measures = *measures;
  spec.priority = request->priority();
  spec.labels.insert(request->labels().begin(), request->labels().end());
  spec.timeout = absl::Seconds(request->timeout_seconds());
  spec.request_id = request->request_id();
  auto job = core_.SubmitJob(*caller, std::move(spec));
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = JobToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::GetJob(grpc::ServerContext* context,
                                          const v1::GetJobRequest* request, v1::Job* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto job = core_.GetJob(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = JobToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::ListJobs(grpc::ServerContext* context,
                                            const v1::ListJobsRequest* request,
                                            v1::ListJobsResponse* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  JobFilter filter;
  if (request->state() != v1::JOB_STATE_UNSPECIFIED) {
    filter.state = StateFromProto(request->state());
  }
  filter.model_sha256 = request->model_sha256();
  filter.name = request->name();
  filter.owner = request->owner();
  if (absl::Status labels = AddLabelFilters(request->labels(), filter); !labels.ok()) {
    return ToGrpcStatus(labels);
  }
  auto jobs = core_.ListJobs(filter, {request->page_size(), request->page_token()});
  if (!jobs.ok()) return ToGrpcStatus(jobs.status());
  for (const core::JobView& job : jobs->items) *response->add_jobs() = JobToProto(job);
  response->set_next_page_token(jobs->next_page_token);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::CancelJob(grpc::ServerContext* context,
                                             const v1::CancelJobRequest* request,
                                             v1::Job* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto job = core_.CancelJob(*caller, request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = JobToProto(*job);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::DeleteJob(grpc::ServerContext* context,
                                             const v1::DeleteJobRequest* request,
                                             google::protobuf::Empty*) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcStatus(core_.DeleteJob(*caller, request->job_id()));
}

grpc::ServerWriteReactor<v1::Job>* SignatureServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  return new WatchReactor(core_.watchers(), request->job_id(), UserOf(context).status());
}

grpc::Status SignatureServiceImpl::GetSignature(grpc::ServerContext* context,
                                                const v1::GetSignatureRequest* request,
                                                v1::Signature* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto signature = core_.GetSignature(request->job_id());
  if (!signature.ok()) return ToGrpcStatus(signature.status());
  SignatureToProto(*signature, response);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::ListSignatures(grpc::ServerContext* context,
                                                  const v1::ListSignaturesRequest* request,
                                                  v1::ListSignaturesResponse* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  JobFilter filter;
  filter.model_sha256 = request->model_sha256();
  filter.name = request->name();
  filter.owner = request->owner();
  filter.created_after_ms = request->created_after_ms();
  filter.created_before_ms = request->created_before_ms();
  if (absl::Status labels = AddLabelFilters(request->labels(), filter); !labels.ok()) {
    return ToGrpcStatus(labels);
  }
  auto signatures = core_.ListSignatures(filter, request->view() == v1::FULL,
                                         {request->page_size(), request->page_token()});
  if (!signatures.ok()) return ToGrpcStatus(signatures.status());
  for (const StoredSignature& signature : signatures->items) {
    SignatureToProto(signature, response->add_signatures());
  }
  response->set_next_page_token(signatures->next_page_token);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::GetServerInfo(grpc::ServerContext* context,
                                                 const v1::GetServerInfoRequest*,
                                                 v1::ServerInfo* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto status = core_.GetStatus();
  if (!status.ok()) return ToGrpcStatus(status.status());
  response->set_version(status->version);
  for (const core::WorkerStatus& worker : status->workers) {
    v1::Worker* out = response->add_workers();
    out->set_device(worker.device);
    out->set_job_id(worker.job_id);
    out->set_name(worker.name);
    out->set_host(worker.host);
    out->set_pid(worker.pid);
    out->set_local(worker.local);
    out->set_version(worker.version);
    out->mutable_data_roots()->Add(worker.data_roots.begin(), worker.data_roots.end());
    if (worker.last_seen != absl::InfinitePast()) {
      out->set_last_seen_ms(absl::ToUnixMillis(worker.last_seen));
    }
  }
  response->set_queued_jobs(status->queued_jobs);
  response->set_running_jobs(status->running_jobs);
  response->set_max_upload_bytes(status->max_upload_bytes);
  response->set_started_at_ms(status->started_at_ms);
  response->mutable_data_roots()->Add(status->data_roots.begin(), status->data_roots.end());
  response->mutable_caller()->set_user(caller->user);
  response->mutable_caller()->set_role(std::string(core::RoleName(caller->role)));
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::CompareSignatures(grpc::ServerContext* context,
                                                     const v1::CompareSignaturesRequest* request,
                                                     v1::SignatureComparison* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto comparison_request = ComparisonFromProto(*request);
  if (!comparison_request.ok()) return ToGrpcStatus(comparison_request.status());
  auto comparison = core_.analyses().Compare(*comparison_request);
  if (!comparison.ok()) return ToGrpcStatus(comparison.status());
  ComparisonToProto(*comparison, response);
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::ClusterSignatures(grpc::ServerContext* context,
                                                     const v1::ClusterSignaturesRequest* request,
                                                     v1::SignatureClustering* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  core::ClusteringRequest clustering_request;
  auto comparison_request = ComparisonFromProto(request->comparison());
  if (!comparison_request.ok()) return ToGrpcStatus(comparison_request.status());
  clustering_request.comparison = *std::move(comparison_request);
  clustering_request.linkage = LinkageFromProto(request->linkage());
  if (request->has_clusters()) clustering_request.clusters = request->clusters();
  if (request->has_threshold()) clustering_request.threshold = request->threshold();
  auto clustering = core_.analyses().Cluster(clustering_request);
  if (!clustering.ok()) return ToGrpcStatus(clustering.status());
  ComparisonToProto(clustering->comparison, response->mutable_comparison());
  response->set_method(LinkageToProto(clustering->linkage));
  for (const Merge& merge : clustering->merges) {
    v1::LinkageRow* row = response->add_linkage();
    row->set_a(merge.a);
    row->set_b(merge.b);
    row->set_distance(merge.distance);
    row->set_size(merge.size);
  }
  response->mutable_labels()->Add(clustering->labels.begin(), clustering->labels.end());
  return grpc::Status::OK;
}

grpc::Status SignatureServiceImpl::CorrelateSignatures(
    grpc::ServerContext* context, const v1::CorrelateSignaturesRequest* request,
    v1::SignatureCorrelation* response) {
  auto caller = UserOf(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  core::CorrelationRequest correlation_request;
  correlation_request.label = request->label();
  correlation_request.statistic = SignatureStatisticFromProto(request->statistic());
  for (const std::string& text : request->filters()) {
    auto label = ParseLabelFilter(text);
    if (!label.ok()) return ToGrpcStatus(label.status());
    correlation_request.filters.push_back(*std::move(label));
  }
  correlation_request.group_by = request->group_by();
  auto correlation = core_.analyses().Correlate(correlation_request);
  if (!correlation.ok()) return ToGrpcStatus(correlation.status());
  response->set_label(correlation->label);
  response->set_statistic(SignatureStatisticToProto(correlation->statistic));
  for (const core::CorrelationGroup& group : correlation->groups) {
    v1::CorrelationGroup* out = response->add_groups();
    out->set_group(group.group);
    out->set_n(static_cast<int64_t>(group.job_ids.size()));
    if (group.result) {
      out->set_pearson_r(group.result->pearson_r);
      out->set_pearson_p(group.result->pearson_p);
      out->set_spearman_rho(group.result->spearman_rho);
      out->set_spearman_p(group.result->spearman_p);
    }
    out->set_reason(group.reason);
    out->mutable_job_ids()->Add(group.job_ids.begin(), group.job_ids.end());
  }
  response->mutable_skipped_job_ids()->Add(correlation->skipped_job_ids.begin(),
                                           correlation->skipped_job_ids.end());
  return grpc::Status::OK;
}

}  // namespace affsig::api
