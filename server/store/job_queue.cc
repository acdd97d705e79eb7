#include "server/store/job_queue.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/error_reason.h"
#include "common/status_macros.h"
#include "server/store/job_record.h"
#include "server/store/signature_record.h"

namespace affsig::store {
namespace {

std::string RandomId(absl::string_view prefix) {
  absl::BitGen random;
  return absl::StrFormat("%s-%016x%08x", prefix, absl::Uniform<uint64_t>(random),
                         absl::Uniform<uint32_t>(random));
}

constexpr char kOpenAttemptColumns[] =
    "a.lease_id, a.job_id, a.attempt, a.worker, a.device, a.local, a.started_at, j.timeout_ms, "
    "j.cancel_requested FROM job_attempts a JOIN jobs j ON j.id = a.job_id "
    "WHERE a.ended_at IS NULL AND j.state = 'RUNNING'";

OpenAttempt OpenAttemptFromRow(const Statement& row) {
  OpenAttempt attempt;
  attempt.lease_id = row.Text(0);
  attempt.job_id = row.Text(1);
  attempt.number = row.Int(2);
  attempt.holder.worker = row.Text(3);
  attempt.holder.device = row.Text(4);
  attempt.holder.local = row.Int(5) != 0;
  attempt.started_at_ms = row.Int(6);
  attempt.timeout = absl::Milliseconds(row.Int(7));
  attempt.cancel_requested = row.Int(8) != 0;
  return attempt;
}

}  // namespace

absl::Status LeaseNotCurrent(absl::string_view lease_id) {
  return WithReason(absl::FailedPreconditionError(absl::StrCat(
                        "lease ", lease_id,
                        " is no longer current: its attempt has ended (expired, cancelled, "
                        "timed out or completed)")),
                    reason::kLeaseExpired);
}

absl::StatusOr<std::unique_ptr<JobQueue>> JobQueue::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path));
  std::unique_ptr<JobQueue> queue(new JobQueue(std::move(db)));
  absl::MutexLock lock(&queue->mutex_);
  RETURN_IF_ERROR(queue->db_->Transaction(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue->mutex_) { return queue->Recover(); }));
  return queue;
}

absl::Status JobQueue::Recover() {
  ASSIGN_OR_RETURN(recovery_.summarized, SummarizeEarlierSignatures(*db_));
  // Open attempts on local workers died with the previous run; a cancelled job is not run again.
  ASSIGN_OR_RETURN(std::vector<OpenAttempt> open, ReadOpenAttempts());
  for (const OpenAttempt& attempt : open) {
    if (attempt.cancel_requested) {
      RETURN_IF_ERROR(CloseAttempt(attempt, AttemptOutcome::kCancelled, "server restarted"));
      RETURN_IF_ERROR(EndJob(attempt.job_id, JobState::kCancelled, "cancelled while running"));
      ++recovery_.cancelled;
    } else if (attempt.holder.local) {
      RETURN_IF_ERROR(CloseAttempt(attempt, AttemptOutcome::kReturned, "server restarted"));
      RETURN_IF_ERROR(Requeue(attempt.job_id, 0));
      ++recovery_.requeued;
    } else {
      ++recovery_.kept;
    }
  }
  // RUNNING jobs without an open attempt were left by a server older than leases.
  ASSIGN_OR_RETURN(
      auto cancelled,
      db_->Prepare("UPDATE jobs SET state = 'CANCELLED', error = 'cancelled while running', "
                   "finished_at = ? WHERE state = 'RUNNING' AND cancel_requested = 1 AND NOT "
                   "EXISTS (SELECT 1 FROM job_attempts a WHERE a.job_id = jobs.id AND "
                   "a.ended_at IS NULL)"));
  cancelled->Bind(1, NowMs());
  RETURN_IF_ERROR(cancelled->Run());
  recovery_.cancelled += sqlite3_changes(db_->handle());
  ASSIGN_OR_RETURN(auto requeue,
                   db_->Prepare("UPDATE jobs SET state = 'QUEUED' WHERE state = 'RUNNING' AND NOT "
                                "EXISTS (SELECT 1 FROM job_attempts a WHERE a.job_id = jobs.id "
                                "AND a.ended_at IS NULL)"));
  RETURN_IF_ERROR(requeue->Run());
  recovery_.requeued += sqlite3_changes(db_->handle());
  return absl::OkStatus();
}

absl::StatusOr<Job> JobQueue::Submit(const JobSpec& spec, const SubmitOptions& options,
                                     bool* created) {
  absl::MutexLock lock(&mutex_);
  std::string id = RandomId("job");
  bool made_here = true;
  const DataColumns data = DataToColumns(spec.data);
  RETURN_IF_ERROR(db_->Transaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::Status {
    if (!spec.request_id.empty()) {
      ASSIGN_OR_RETURN(auto made, db_->Prepare("SELECT id FROM jobs WHERE request_id = ? AND "
                                               "owner = ?"));
      made->Bind(1, spec.request_id).Bind(2, options.owner);
      if (made->Step()) {
        id = made->Text(0);
        made_here = false;
        return absl::OkStatus();
      }
      RETURN_IF_ERROR(made->status());
    }
    if (options.max_queued_for_owner > 0) {
      ASSIGN_OR_RETURN(auto queued, db_->Prepare("SELECT COUNT(*) FROM jobs WHERE owner = ? AND "
                                                 "state = 'QUEUED'"));
      queued->Bind(1, options.owner);
      if (!queued->Step()) return queued->status();
      if (queued->Int(0) >= options.max_queued_for_owner) {
        return WithReason(absl::ResourceExhaustedError(absl::StrCat(
                              "quota max-queued-per-user: ", options.owner, " has ", queued->Int(0),
                              " jobs queued, the limit is ", options.max_queued_for_owner,
                              "; submit again when some have started")),
                          reason::kQuotaExceeded);
      }
    }
    if (options.max_queued > 0) {
      ASSIGN_OR_RETURN(auto queued,
                       db_->Prepare("SELECT COUNT(*) FROM jobs WHERE state = 'QUEUED'"));
      if (!queued->Step()) return queued->status();
      if (queued->Int(0) >= options.max_queued) {
        return WithReason(absl::ResourceExhaustedError(absl::StrCat(
                              "the queue is full: ", queued->Int(0),
                              " jobs wait, the most this server takes (--max-queued-jobs); "
                              "submit again later")),
                          reason::kQueueFull);
      }
    }
    ASSIGN_OR_RETURN(
        auto insert,
        db_->Prepare("INSERT INTO jobs (id, seq, name, model_sha256, input_sha256, activations, "
                     "priority, state, created_at, data_source, data_options, timeout_ms, "
                     "request_id, optimize, measures, owner) VALUES (?, (SELECT COALESCE(MAX(seq), "
                     "0) + 1 FROM jobs), ?, ?, ?, ?, ?, 'QUEUED', ?, ?, ?, ?, ?, ?, ?, ?)"));
    insert->Bind(1, id).Bind(2, spec.name).Bind(3, spec.model_sha256);
    insert->Bind(4, data.input_sha256).Bind(5, ActivationModeName(spec.activations));
    insert->Bind(6, spec.priority).Bind(7, NowMs()).Bind(8, data.data_source);
    insert->Bind(9, data.data_options).Bind(10, absl::ToInt64Milliseconds(spec.timeout));
    insert->Bind(11, spec.request_id).Bind(12, ForwardOptimizationName(spec.optimize));
    insert->Bind(13, absl::StrJoin(MeasureSelectionNames(spec.measures), ","));
    insert->Bind(14, options.owner);
    RETURN_IF_ERROR(insert->Run());
    // The user's turn in the fair share, 0 until one of their jobs starts.
    ASSIGN_OR_RETURN(auto turn, db_->Prepare("INSERT OR IGNORE INTO user_turns (owner, last_turn) "
                                             "VALUES (?, 0)"));
    turn->Bind(1, options.owner);
    RETURN_IF_ERROR(turn->Run());
    ASSIGN_OR_RETURN(auto label,
                     db_->Prepare("INSERT INTO job_labels (job_id, key, value) VALUES (?, ?, ?)"));
    for (const auto& [key, value] : spec.labels) {
      label->Reset();
      label->Bind(1, id).Bind(2, key).Bind(3, value);
      RETURN_IF_ERROR(label->Run());
    }
    return absl::OkStatus();
  }));
  if (created != nullptr) *created = made_here;
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
  ASSIGN_OR_RETURN(auto select, db_->Prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state"));
  std::map<JobState, int64_t> counts;
  while (select->Step()) {
    if (auto state = ParseJobState(select->Text(0)); state.ok()) counts[*state] = select->Int(1);
  }
  RETURN_IF_ERROR(select->status());
  return counts;
}

absl::StatusOr<std::optional<Claimed>> JobQueue::Claim(const LeaseHolder& holder) {
  absl::MutexLock lock(&mutex_);
  std::optional<OpenAttempt> attempt;
  RETURN_IF_ERROR(db_->Transaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::Status {
    const int64_t now = NowMs();
    // The highest priority that may start now; then fair share: among the users with such a
    // job, the one served longest ago (a turn of 0: never) goes first, with their earliest job.
    // Each user's first such job is one probe of jobs_by_owner_queue, so this costs as many
    // probes as there are users, never a pass over the queue (migration 0010).
    ASSIGN_OR_RETURN(auto top, db_->Prepare("SELECT priority FROM jobs WHERE state = 'QUEUED' AND "
                                            "not_before <= ? ORDER BY priority DESC, seq LIMIT 1"));
    top->Bind(1, now);
    if (!top->Step()) return top->status();
    ASSIGN_OR_RETURN(
        auto fairest,
        db_->Prepare("SELECT first FROM (SELECT t.last_turn, (SELECT j.seq FROM jobs j WHERE "
                     "j.owner = t.owner AND j.state = 'QUEUED' AND j.priority = ? AND "
                     "j.not_before <= ? ORDER BY j.seq LIMIT 1) AS first FROM user_turns t) "
                     "WHERE first IS NOT NULL ORDER BY last_turn, first LIMIT 1"));
    fairest->Bind(1, top->Int(0)).Bind(2, now);
    if (!fairest->Step()) {
      RETURN_IF_ERROR(fairest->status());
      return absl::InternalError("a queued job's owner has no turn in user_turns");
    }
    ASSIGN_OR_RETURN(auto next,
                     db_->Prepare("SELECT id, attempts + 1, timeout_ms, owner FROM jobs WHERE "
                                  "seq = ?"));
    next->Bind(1, fairest->Int(0));
    if (!next->Step()) return next->status();
    ASSIGN_OR_RETURN(auto turn,
                     db_->Prepare("INSERT INTO user_turns (owner, last_turn) VALUES (?, (SELECT "
                                  "COALESCE(MAX(last_turn), 0) + 1 FROM user_turns)) ON "
                                  "CONFLICT (owner) DO UPDATE SET last_turn = excluded.last_turn"));
    turn->Bind(1, next->Text(3));
    RETURN_IF_ERROR(turn->Run());
    OpenAttempt& claimed = attempt.emplace();
    claimed.lease_id = RandomId("lease");
    claimed.job_id = next->Text(0);
    claimed.number = next->Int(1);
    claimed.timeout = absl::Milliseconds(next->Int(2));
    claimed.holder = holder;
    claimed.started_at_ms = now;
    ASSIGN_OR_RETURN(auto run,
                     db_->Prepare("UPDATE jobs SET state = 'RUNNING', attempts = ?, started_at = "
                                  "? WHERE id = ?"));
    run->Bind(1, claimed.number).Bind(2, now).Bind(3, claimed.job_id);
    RETURN_IF_ERROR(run->Run());
    ASSIGN_OR_RETURN(auto insert,
                     db_->Prepare("INSERT INTO job_attempts (job_id, attempt, lease_id, worker, "
                                  "device, local, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    insert->Bind(1, claimed.job_id).Bind(2, claimed.number).Bind(3, claimed.lease_id);
    insert->Bind(4, holder.worker).Bind(5, holder.device).Bind(6, int64_t{holder.local});
    insert->Bind(7, now);
    return insert->Run();
  }));
  if (!attempt) return std::optional<Claimed>();
  ASSIGN_OR_RETURN(Job job, ReadJob(*db_, attempt->job_id));
  return std::optional<Claimed>(Claimed{std::move(job), *std::move(attempt)});
}

absl::StatusOr<OpenAttempt> JobQueue::FindOpen(absl::string_view lease_id) {
  ASSIGN_OR_RETURN(auto select, db_->Prepare(absl::StrCat("SELECT ", kOpenAttemptColumns,
                                                          " AND a.lease_id = ?")));
  select->Bind(1, lease_id);
  if (!select->Step()) {
    RETURN_IF_ERROR(select->status());
    return LeaseNotCurrent(lease_id);
  }
  return OpenAttemptFromRow(*select);
}

absl::Status JobQueue::CloseAttempt(const OpenAttempt& attempt, AttemptOutcome outcome,
                                    absl::string_view reason) {
  ASSIGN_OR_RETURN(auto close,
                   db_->Prepare("UPDATE job_attempts SET ended_at = ?, outcome = ?, reason = ? "
                                "WHERE lease_id = ? AND ended_at IS NULL"));
  close->Bind(1, NowMs()).Bind(2, AttemptOutcomeName(outcome)).Bind(3, reason);
  close->Bind(4, attempt.lease_id);
  RETURN_IF_ERROR(close->Run());
  if (sqlite3_changes(db_->handle()) != 1) return LeaseNotCurrent(attempt.lease_id);
  return absl::OkStatus();
}

absl::Status JobQueue::EndJob(absl::string_view id, JobState state, absl::string_view error) {
  ASSIGN_OR_RETURN(auto end,
                   db_->Prepare("UPDATE jobs SET state = ?, error = ?, finished_at = ? WHERE id = "
                                "? AND state = 'RUNNING'"));
  end->Bind(1, JobStateName(state)).Bind(2, error).Bind(3, NowMs()).Bind(4, id);
  RETURN_IF_ERROR(end->Run());
  if (sqlite3_changes(db_->handle()) != 1) {
    return absl::FailedPreconditionError(absl::StrCat("job '", id, "' is not RUNNING"));
  }
  return absl::OkStatus();
}

absl::Status JobQueue::Requeue(absl::string_view id, int64_t not_before_ms) {
  ASSIGN_OR_RETURN(auto requeue,
                   db_->Prepare("UPDATE jobs SET state = 'QUEUED', not_before = ? WHERE id = ? "
                                "AND state = 'RUNNING'"));
  requeue->Bind(1, not_before_ms).Bind(2, id);
  return requeue->Run();
}

absl::StatusOr<Job> JobQueue::Complete(absl::string_view lease_id, const Signature& signature,
                                       absl::string_view note) {
  absl::MutexLock lock(&mutex_);
  std::string job_id;
  RETURN_IF_ERROR(db_->Transaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::Status {
    // The fence first: nothing is written unless the lease is the job's open attempt.
    ASSIGN_OR_RETURN(OpenAttempt attempt, FindOpen(lease_id));
    job_id = attempt.job_id;
    RETURN_IF_ERROR(CloseAttempt(attempt, AttemptOutcome::kSucceeded, note));
    RETURN_IF_ERROR(EndJob(job_id, JobState::kSucceeded, ""));
    return WriteSignature(*db_, job_id, signature);
  }));
  return ReadJob(*db_, job_id);
}

absl::Status JobQueue::AfterLostAttempt(const OpenAttempt& attempt, AttemptOutcome outcome,
                                        const RetryPolicy& policy) {
  if (attempt.cancel_requested) {
    return EndJob(attempt.job_id, JobState::kCancelled, "cancelled while running");
  }
  if (outcome == AttemptOutcome::kReturned) return Requeue(attempt.job_id, 0);
  ASSIGN_OR_RETURN(auto lost,
                   db_->Prepare("SELECT attempt, reason FROM job_attempts WHERE job_id = ? AND "
                                "outcome = 'LOST' ORDER BY attempt"));
  lost->Bind(1, attempt.job_id);
  std::vector<std::string> reasons;
  while (lost->Step())
    reasons.push_back(absl::StrCat("attempt ", lost->Int(0), ": ", lost->Text(1)));
  RETURN_IF_ERROR(lost->status());
  const auto count = static_cast<int64_t>(reasons.size());
  if (count >= policy.max_attempts) {
    return EndJob(attempt.job_id, JobState::kFailed,
                  absl::StrCat("lost ", count, " attempts, the most allowed (--max-attempts): ",
                               absl::StrJoin(reasons, "; ")));
  }
  const absl::Duration backoff =
      std::min(policy.backoff * std::pow(2.0, static_cast<double>(count - 1)), policy.max_backoff);
  return Requeue(attempt.job_id, NowMs() + absl::ToInt64Milliseconds(backoff));
}

absl::StatusOr<Job> JobQueue::EndAttempt(absl::string_view lease_id, AttemptOutcome outcome,
                                         absl::string_view reason, const RetryPolicy& policy) {
  absl::MutexLock lock(&mutex_);
  std::string job_id;
  RETURN_IF_ERROR(db_->Transaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::Status {
    ASSIGN_OR_RETURN(OpenAttempt attempt, FindOpen(lease_id));
    job_id = attempt.job_id;
    RETURN_IF_ERROR(CloseAttempt(attempt, outcome, reason));
    switch (outcome) {
      case AttemptOutcome::kFailed:
      case AttemptOutcome::kTimedOut:
        return EndJob(job_id, JobState::kFailed, reason);
      case AttemptOutcome::kCancelled:
        return EndJob(job_id, JobState::kCancelled, reason);
      case AttemptOutcome::kLost:
      case AttemptOutcome::kReturned:
        return AfterLostAttempt(attempt, outcome, policy);
      case AttemptOutcome::kSucceeded:
        break;
    }
    return absl::InvalidArgumentError("a successful attempt ends with its signature (Complete)");
  }));
  return ReadJob(*db_, job_id);
}

absl::StatusOr<Job> JobQueue::Cancel(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(Job job, ReadJob(*db_, id));
  if (IsFinal(job.state)) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "job '", id, "' has already ended: ", JobStateName(job.state))),
                      reason::kJobAlreadyEnded);
  }
  ASSIGN_OR_RETURN(auto cancel,
                   db_->Prepare("UPDATE jobs SET cancel_requested = 1, state = CASE state WHEN "
                                "'QUEUED' THEN 'CANCELLED' ELSE state END, finished_at = CASE "
                                "state WHEN 'QUEUED' THEN ? ELSE finished_at END WHERE id = ?"));
  cancel->Bind(1, NowMs()).Bind(2, id);
  RETURN_IF_ERROR(cancel->Run());
  return ReadJob(*db_, id);
}

absl::Status JobQueue::Delete(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(Job job, ReadJob(*db_, id));
  if (job.state == JobState::kRunning) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "job '", id, "' is RUNNING: cancel it first, then delete it")),
                      reason::kJobRunning);
  }
  ASSIGN_OR_RETURN(auto remove,
                   db_->Prepare("DELETE FROM jobs WHERE id = ? AND state != 'RUNNING'"));
  remove->Bind(1, id);
  return remove->Run();
}

absl::StatusOr<std::vector<OpenAttempt>> JobQueue::OpenAttempts() {
  absl::MutexLock lock(&mutex_);
  return ReadOpenAttempts();
}

absl::StatusOr<std::vector<OpenAttempt>> JobQueue::ReadOpenAttempts() {
  ASSIGN_OR_RETURN(auto select, db_->Prepare(absl::StrCat("SELECT ", kOpenAttemptColumns)));
  std::vector<OpenAttempt> open;
  while (select->Step()) open.push_back(OpenAttemptFromRow(*select));
  RETURN_IF_ERROR(select->status());
  return open;
}

}  // namespace affsig::store
