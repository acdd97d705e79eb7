#include "server/store/job_queue.h"

#include <cmath>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/error_reason.h"

namespace affsig::store {
namespace {

std::string NewJobId() {
  absl::BitGen random;
  return absl::StrFormat("job-%016x%08x", absl::Uniform<uint64_t>(random),
                         absl::Uniform<uint32_t>(random));
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobQueue>> JobQueue::Open(const std::string& path) {
  auto db = Database::Open(path);
  if (!db.ok()) return db.status();
  std::unique_ptr<JobQueue> queue(new JobQueue(*std::move(db)));
  absl::MutexLock lock(&queue->mutex_);
  auto requeue = queue->db_->Prepare("UPDATE jobs SET state = 'QUEUED' WHERE state = 'RUNNING'");
  if (!requeue.ok()) return requeue.status();
  if (absl::Status status = (*requeue)->Run(); !status.ok()) return status;
  queue->requeued_at_open_ = sqlite3_changes(queue->db_->handle());
  return queue;
}

absl::StatusOr<Job> JobQueue::Submit(const JobSpec& spec) {
  if (spec.activations != "modules" && spec.activations != "all") {
    return WithReason(absl::InvalidArgumentError(absl::StrCat(
                          "activations must be 'modules' or 'all', got '", spec.activations, "'")),
                      reason::kInvalidActivations);
  }
  absl::MutexLock lock(&mutex_);
  const std::string id = NewJobId();
  absl::Status status = db_->Transaction([&]() -> absl::Status {
    auto insert = db_->Prepare(
        "INSERT INTO jobs (id, seq, name, model_sha256, input_sha256, activations, priority, "
        "state, created_at, data_source, data_options) VALUES (?, (SELECT COALESCE(MAX(seq), 0) "
        "+ 1 FROM jobs), ?, ?, ?, ?, ?, 'QUEUED', ?, ?, ?)");
    if (!insert.ok()) return insert.status();
    (*insert)->Bind(1, id).Bind(2, spec.name).Bind(3, spec.model_sha256);
    (*insert)->Bind(4, spec.input_sha256).Bind(5, spec.activations).Bind(6, spec.priority);
    (*insert)->Bind(7, NowMs()).Bind(8, spec.data_source).Bind(9, spec.data_options);
    if (absl::Status run = (*insert)->Run(); !run.ok()) return run;
    for (const auto& [key, value] : spec.labels) {
      auto label = db_->Prepare("INSERT INTO job_labels (job_id, key, value) VALUES (?, ?, ?)");
      if (!label.ok()) return label.status();
      (*label)->Bind(1, id).Bind(2, key).Bind(3, value);
      if (absl::Status run = (*label)->Run(); !run.ok()) return run;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return ReadJob(*db_, id);
}

absl::StatusOr<Job> JobQueue::Get(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  return ReadJob(*db_, id);
}

absl::StatusOr<Page<Job>> JobQueue::List(const JobFilter& filter, const PageRequest& page) {
  absl::MutexLock lock(&mutex_);
  return ReadJobs(*db_, filter, page);
}

absl::StatusOr<std::map<JobState, int64_t>> JobQueue::CountByState() {
  absl::MutexLock lock(&mutex_);
  auto select = db_->Prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state");
  if (!select.ok()) return select.status();
  std::map<JobState, int64_t> counts;
  while ((*select)->Step()) {
    if (auto state = ParseJobState((*select)->Text(0)); state.ok()) {
      counts[*state] = (*select)->Int(1);
    }
  }
  if (!(*select)->status().ok()) return (*select)->status();
  return counts;
}

absl::StatusOr<std::optional<Job>> JobQueue::ClaimNext() {
  absl::MutexLock lock(&mutex_);
  std::string id;
  absl::Status status = db_->Transaction([&]() -> absl::Status {
    auto next = db_->Prepare(
        "SELECT id FROM jobs WHERE state = 'QUEUED' ORDER BY priority DESC, seq LIMIT 1");
    if (!next.ok()) return next.status();
    if (!(*next)->Step()) return (*next)->status();
    id = (*next)->Text(0);
    auto claim = db_->Prepare(
        "UPDATE jobs SET state = 'RUNNING', attempts = attempts + 1, started_at = ? "
        "WHERE id = ?");
    if (!claim.ok()) return claim.status();
    (*claim)->Bind(1, NowMs()).Bind(2, id);
    return (*claim)->Run();
  });
  if (!status.ok()) return status;
  if (id.empty()) return std::optional<Job>();
  auto job = ReadJob(*db_, id);
  if (!job.ok()) return job.status();
  return std::optional<Job>(*std::move(job));
}

absl::Status JobQueue::EndRunning(absl::string_view id, JobState state, absl::string_view error) {
  auto end = db_->Prepare(
      "UPDATE jobs SET state = ?, error = ?, finished_at = ? WHERE id = ? AND state = 'RUNNING'");
  if (!end.ok()) return end.status();
  (*end)->Bind(1, JobStateName(state)).Bind(2, error).Bind(3, NowMs()).Bind(4, id);
  if (absl::Status run = (*end)->Run(); !run.ok()) return run;
  if (sqlite3_changes(db_->handle()) != 1) {
    auto job = ReadJob(*db_, id);
    if (!job.ok()) return job.status();
    return absl::FailedPreconditionError(
        absl::StrCat("job '", id, "' is ", JobStateName(job->state), ", not RUNNING"));
  }
  cancel_requested_.erase(std::string(id));
  return absl::OkStatus();
}

absl::Status JobQueue::Complete(absl::string_view id, const Signature& signature) {
  absl::MutexLock lock(&mutex_);
  return db_->Transaction([&]() -> absl::Status {
    // The state change first: it fails unless the job is RUNNING, and then nothing is written.
    if (absl::Status ended = EndRunning(id, JobState::kSucceeded, ""); !ended.ok()) return ended;
    auto insert = db_->Prepare(
        "INSERT INTO signature_entries (job_id, idx, module, call, op, d, n, score, status, "
        "reason, batches, score_std, score_min, score_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?)");
    if (!insert.ok()) return insert.status();
    auto insert_batch = db_->Prepare(
        "INSERT INTO entry_batch_scores (job_id, idx, batch, score) VALUES (?, ?, ?, ?)");
    if (!insert_batch.ok()) return insert_batch.status();
    for (const SignatureEntry& entry : signature) {
      Statement& row = **insert;
      row.Reset();
      row.Bind(1, id).Bind(2, entry.index).Bind(3, entry.module).Bind(4, entry.call);
      row.Bind(5, entry.op).Bind(6, entry.d).Bind(7, entry.n);
      row.Bind(9, EntryStatusName(entry.status)).Bind(10, entry.reason).Bind(11, entry.batches);
      if (entry.status == EntryStatus::kOk) {
        row.Bind(8, entry.score).Bind(12, entry.score_std);
        row.Bind(13, entry.score_min).Bind(14, entry.score_max);
      } else {
        row.BindNull(8).BindNull(12).BindNull(13).BindNull(14);
      }
      if (absl::Status run = row.Run(); !run.ok()) return run;
      for (size_t b = 0; b < entry.batch_scores.size(); ++b) {
        Statement& batch = **insert_batch;
        batch.Reset();
        batch.Bind(1, id).Bind(2, entry.index).Bind(3, static_cast<int64_t>(b));
        if (std::isnan(entry.batch_scores[b])) {
          batch.BindNull(4);
        } else {
          batch.Bind(4, entry.batch_scores[b]);
        }
        if (absl::Status run = batch.Run(); !run.ok()) return run;
      }
    }
    return absl::OkStatus();
  });
}

absl::Status JobQueue::Fail(absl::string_view id, absl::string_view error) {
  absl::MutexLock lock(&mutex_);
  return EndRunning(id, JobState::kFailed, error);
}

absl::StatusOr<Job> JobQueue::Cancel(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  auto job = ReadJob(*db_, id);
  if (!job.ok()) return job.status();
  if (job->state == JobState::kRunning) {
    cancel_requested_.insert(std::string(id));
    return job;
  }
  if (job->state != JobState::kQueued) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "job '", id, "' has already ended: ", JobStateName(job->state))),
                      reason::kJobAlreadyEnded);
  }
  auto cancel = db_->Prepare(
      "UPDATE jobs SET state = 'CANCELLED', finished_at = ? WHERE id = ? AND state = 'QUEUED'");
  if (!cancel.ok()) return cancel.status();
  (*cancel)->Bind(1, NowMs()).Bind(2, id);
  if (absl::Status run = (*cancel)->Run(); !run.ok()) return run;
  return ReadJob(*db_, id);
}

bool JobQueue::CancelRequested(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  return cancel_requested_.contains(std::string(id));
}

absl::Status JobQueue::FinishCancelled(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  return EndRunning(id, JobState::kCancelled, "cancelled while running");
}

absl::Status JobQueue::Delete(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  auto job = ReadJob(*db_, id);
  if (!job.ok()) return job.status();
  if (job->state == JobState::kRunning) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "job '", id, "' is RUNNING: cancel it first, then delete it")),
                      reason::kJobRunning);
  }
  auto remove = db_->Prepare("DELETE FROM jobs WHERE id = ? AND state != 'RUNNING'");
  if (!remove.ok()) return remove.status();
  (*remove)->Bind(1, id);
  return (*remove)->Run();
}

}  // namespace affsig::store
