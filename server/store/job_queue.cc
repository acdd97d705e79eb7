#include "server/store/job_queue.h"

#include <array>
#include <chrono>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace affsig::store {
namespace {

constexpr std::array<std::pair<JobState, absl::string_view>, 5> kStateNames = {{
    {JobState::kQueued, "QUEUED"},
    {JobState::kRunning, "RUNNING"},
    {JobState::kSucceeded, "SUCCEEDED"},
    {JobState::kFailed, "FAILED"},
    {JobState::kCancelled, "CANCELLED"},
}};

constexpr char kJobColumns[] =
    "id, name, model_sha256, input_sha256, activations, priority, state, attempts, error, "
    "created_at, COALESCE(started_at, 0), COALESCE(finished_at, 0)";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewJobId() {
  absl::BitGen random;
  return absl::StrFormat("job-%016x%08x", absl::Uniform<uint64_t>(random),
                         absl::Uniform<uint32_t>(random));
}

Job ReadJob(const Statement& row) {
  Job job;
  job.id = row.Text(0);
  job.spec.name = row.Text(1);
  job.spec.model_sha256 = row.Text(2);
  job.spec.input_sha256 = row.Text(3);
  job.spec.activations = row.Text(4);
  job.spec.priority = row.Int(5);
  job.state = ParseJobState(row.Text(6)).value_or(JobState::kFailed);
  job.attempts = row.Int(7);
  job.error = row.Text(8);
  job.created_at_ms = row.Int(9);
  job.started_at_ms = row.Int(10);
  job.finished_at_ms = row.Int(11);
  return job;
}

}  // namespace

absl::string_view JobStateName(JobState state) {
  for (const auto& [value, name] : kStateNames) {
    if (value == state) return name;
  }
  return "UNKNOWN";
}

absl::StatusOr<JobState> ParseJobState(absl::string_view name) {
  for (const auto& [value, known] : kStateNames) {
    if (known == name) return value;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown job state '", name, "'"));
}

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
    return absl::InvalidArgumentError(
        absl::StrCat("activations must be 'modules' or 'all', got '", spec.activations, "'"));
  }
  absl::MutexLock lock(&mutex_);
  const std::string id = NewJobId();
  absl::Status status = db_->Transaction([&]() -> absl::Status {
    auto insert = db_->Prepare(
        "INSERT INTO jobs (id, seq, name, model_sha256, input_sha256, activations, priority, "
        "state, created_at) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), ?, ?, ?, ?, "
        "?, 'QUEUED', ?)");
    if (!insert.ok()) return insert.status();
    (*insert)->Bind(1, id).Bind(2, spec.name).Bind(3, spec.model_sha256);
    (*insert)->Bind(4, spec.input_sha256).Bind(5, spec.activations).Bind(6, spec.priority);
    (*insert)->Bind(7, NowMs());
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
  return GetLocked(id);
}

absl::StatusOr<Job> JobQueue::Get(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  return GetLocked(id);
}

absl::StatusOr<Job> JobQueue::GetLocked(absl::string_view id) {
  auto select = db_->Prepare(absl::StrCat("SELECT ", kJobColumns, " FROM jobs WHERE id = ?"));
  if (!select.ok()) return select.status();
  (*select)->Bind(1, id);
  if (!(*select)->Step()) {
    if (!(*select)->status().ok()) return (*select)->status();
    return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  }
  Job job = ReadJob(**select);
  auto labels = db_->Prepare("SELECT key, value FROM job_labels WHERE job_id = ? ORDER BY key");
  if (!labels.ok()) return labels.status();
  (*labels)->Bind(1, id);
  while ((*labels)->Step()) job.spec.labels[(*labels)->Text(0)] = (*labels)->Text(1);
  return job;
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
  auto job = GetLocked(id);
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
    auto job = GetLocked(id);
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
    for (const SignatureEntry& entry : signature) {
      auto insert = db_->Prepare(
          "INSERT INTO signature_entries (job_id, idx, module, call, op, d, n, score, status, "
          "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      if (!insert.ok()) return insert.status();
      Statement& row = **insert;
      row.Bind(1, id).Bind(2, entry.index).Bind(3, entry.module).Bind(4, entry.call);
      row.Bind(5, entry.op).Bind(6, entry.d).Bind(7, entry.n);
      if (entry.status == EntryStatus::kOk) {
        row.Bind(8, entry.score);
      } else {
        row.BindNull(8);
      }
      row.Bind(9, EntryStatusName(entry.status)).Bind(10, entry.reason);
      if (absl::Status run = row.Run(); !run.ok()) return run;
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
  auto job = GetLocked(id);
  if (!job.ok()) return job.status();
  if (job->state == JobState::kRunning) {
    cancel_requested_.insert(std::string(id));
    return job;
  }
  if (job->state != JobState::kQueued) {
    return absl::FailedPreconditionError(
        absl::StrCat("job '", id, "' has already ended: ", JobStateName(job->state)));
  }
  auto cancel = db_->Prepare(
      "UPDATE jobs SET state = 'CANCELLED', finished_at = ? WHERE id = ? AND state = 'QUEUED'");
  if (!cancel.ok()) return cancel.status();
  (*cancel)->Bind(1, NowMs()).Bind(2, id);
  if (absl::Status run = (*cancel)->Run(); !run.ok()) return run;
  return GetLocked(id);
}

bool JobQueue::CancelRequested(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  return cancel_requested_.contains(std::string(id));
}

absl::Status JobQueue::FinishCancelled(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  return EndRunning(id, JobState::kCancelled, "cancelled while running");
}

absl::StatusOr<Signature> JobQueue::Entries(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  if (auto job = GetLocked(id); !job.ok()) return job.status();
  auto select = db_->Prepare(
      "SELECT idx, module, call, op, d, n, score, status, reason FROM signature_entries "
      "WHERE job_id = ? ORDER BY idx");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, id);
  Signature signature;
  while ((*select)->Step()) {
    const Statement& row = **select;
    SignatureEntry entry;
    entry.index = row.Int(0);
    entry.module = row.Text(1);
    entry.call = row.Int(2);
    entry.op = row.Text(3);
    entry.d = row.Int(4);
    entry.n = row.Int(5);
    entry.score = row.IsNull(6) ? 0.0 : row.Double(6);
    entry.status = ParseEntryStatus(row.Text(7)).value_or(EntryStatus::kFailed);
    entry.reason = row.Text(8);
    signature.push_back(std::move(entry));
  }
  if (!(*select)->status().ok()) return (*select)->status();
  return signature;
}

}  // namespace affsig::store
