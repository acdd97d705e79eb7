#include "server/core/job_leases.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/error_reason.h"
#include "common/log_line.h"
#include "common/status_macros.h"

namespace affsig::core {
namespace {

// Waiting workers also look at the queue this often: a lost job's backoff ends unannounced.
constexpr absl::Duration kQueuePoll = absl::Seconds(1);
// A remote worker that has not asked for work for this long beyond its lease is forgotten.
constexpr absl::Duration kForgetWorkerAfter = absl::Seconds(30);

absl::Time Deadline(absl::Time start, absl::Duration timeout) {
  return timeout > absl::ZeroDuration() ? start + timeout : absl::InfiniteFuture();
}

}  // namespace

JobLeases::JobLeases(store::JobQueue& queue, JobMonitor& monitor, LeaseOptions options)
    : queue_(queue), monitor_(monitor), options_(std::move(options)) {}

absl::Status JobLeases::AdoptOpenAttempts() {
  ASSIGN_OR_RETURN(std::vector<store::OpenAttempt> open, queue_.OpenAttempts());
  const absl::Time now = options_.clock();
  for (const store::OpenAttempt& attempt : open) {
    {
      absl::MutexLock lock(&mutex_);
      active_[attempt.lease_id] = {
          attempt.job_id, attempt.holder.worker, now + options_.lease,
          Deadline(absl::FromUnixMillis(attempt.started_at_ms), attempt.timeout),
          attempt.timeout};
    }
    monitor_.JobStarted(attempt.job_id, attempt.holder.worker, attempt.holder.device);
    LogLine(absl::StrCat("job ", attempt.job_id, " still RUNNING on ", attempt.holder.worker,
                         ": its lease is kept for the worker to renew"));
  }
  return absl::OkStatus();
}

void JobLeases::AddLocalWorker(absl::string_view name, absl::string_view device) {
  {
    absl::MutexLock lock(&mutex_);
    local_workers_.insert(std::string(name));
  }
  WorkerStatus status;
  status.name = std::string(name);
  status.device = std::string(device);
  status.local = true;
  monitor_.WorkerSeen(status);
}

absl::StatusOr<std::optional<Lease>> JobLeases::Acquire(const WorkerRequest& request,
                                                        absl::Duration wait,
                                                        const std::function<bool()>& gone) {
  bool local = false;
  {
    absl::MutexLock lock(&mutex_);
    local = local_workers_.count(request.worker) > 0;
  }
  WorkerStatus status;
  status.name = request.worker;
  status.device = request.device;
  status.host = request.host;
  status.pid = request.pid;
  status.local = local;
  status.version = request.version;
  status.data_roots = request.data_roots;
  status.last_seen = options_.clock();
  monitor_.WorkerSeen(status);

  const absl::Time give_up = absl::Now() + wait;
  while (true) {
    int64_t seen = 0;
    {
      absl::MutexLock lock(&mutex_);
      // An error, not an empty answer: the worker backs off instead of asking again at once.
      if (!leasing_) return ServerStoppingError();
      seen = queued_signals_;
    }
    if (gone && gone()) return std::optional<Lease>();  // the worker stopped waiting
    ASSIGN_OR_RETURN(std::optional<store::Claimed> claimed,
                     queue_.Claim({request.worker, request.device, local}));
    if (claimed && gone && gone()) {
      // Claimed for a worker that left meanwhile: back to the queue, not counted as lost.
      EndLease(claimed->attempt.lease_id, AttemptOutcome::kReturned,
               "its worker left before it got the job");
      return std::optional<Lease>();
    }
    if (claimed) {
      const absl::Time now = options_.clock();
      Lease lease;
      lease.lease_id = claimed->attempt.lease_id;
      lease.attempt = claimed->attempt.number;
      lease.expires_in = options_.lease;
      const absl::Time deadline = Deadline(now, claimed->attempt.timeout);
      lease.deadline_in = deadline - now;
      lease.job = std::move(claimed->job);
      {
        // Under the lock, so that a cancel between the claim and here is not lost.
        absl::MutexLock lock(&mutex_);
        active_[lease.lease_id] = {lease.job.id, request.worker, now + options_.lease, deadline,
                                   claimed->attempt.timeout};
        monitor_.JobStarted(lease.job.id, request.worker, request.device);
        if (pending_cancels_.erase(lease.job.id) > 0 || lease.job.cancel_requested) {
          monitor_.JobCancelRequested(lease.job.id, now);
        }
      }
      LogLine(absl::StrCat("job ", lease.job.id, " RUNNING on ", request.worker, " (attempt ",
                           lease.attempt, ")"));
      return std::optional<Lease>(std::move(lease));
    }
    const absl::Time now = absl::Now();
    if (now >= give_up) return std::optional<Lease>();
    absl::MutexLock lock(&mutex_);
    auto woken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return !leasing_ || queued_signals_ != seen;
    };
    mutex_.AwaitWithTimeout(absl::Condition(&woken), std::min(give_up - now, kQueuePoll));
  }
}

absl::StatusOr<Renewal> JobLeases::Renew(absl::string_view lease_id,
                                         const std::optional<JobProgress>& progress) {
  std::string job_id, worker;
  const absl::Time now = options_.clock();
  {
    absl::MutexLock lock(&mutex_);
    auto it = active_.find(lease_id);
    if (it == active_.end()) return store::LeaseNotCurrent(lease_id);
    it->second.expires = now + options_.lease;
    job_id = it->second.job_id;
    worker = it->second.worker;
  }
  monitor_.WorkerRenewed(worker, now);
  std::optional<RunningJob> running = monitor_.Running(job_id);
  if (progress) {
    if (progress->total > 0 && running && (!running->progress || running->progress->total == 0)) {
      LogLine(absl::StrCat("job ", job_id, " on ", running->worker, ": ", progress->total,
                           " activation calls to score",
                           progress->batches > 1 ? absl::StrCat(" over ", progress->batches,
                                                                " batches")
                                                 : ""));
    }
    monitor_.JobProgressed(job_id, *progress);
  }
  Renewal renewal;
  renewal.cancel = running && running->cancel_requested_at.has_value();
  renewal.expires_in = options_.lease;
  return renewal;
}

void JobLeases::Forget(const std::string& lease_id) {
  absl::MutexLock lock(&mutex_);
  auto it = active_.find(lease_id);
  if (it == active_.end()) return;
  monitor_.JobEnded(it->second.job_id);
  active_.erase(it);
}

absl::Status JobLeases::Complete(absl::string_view lease_id, const Signature& signature,
                                 absl::string_view note) {
  absl::StatusOr<Job> job = queue_.Complete(lease_id, signature, note);
  if (!job.ok()) {
    if (ErrorReason(job.status()) == reason::kLeaseExpired) Forget(std::string(lease_id));
    return job.status();
  }
  Forget(std::string(lease_id));
  if (!job->history.empty()) monitor_.counters().AttemptEnded(job->history.back());
  monitor_.counters().Scored(signature);
  const std::string worker = job->history.empty() ? "" : job->history.back().worker;
  LogLine(absl::StrCat("job ", job->id, " SUCCEEDED on ", worker, " (", signature.size(),
                       " entries)", note.empty() ? "" : ": ", note));
  return absl::OkStatus();
}

absl::Status JobLeases::End(absl::string_view lease_id, AttemptOutcome outcome,
                            absl::string_view reason) {
  if (outcome != AttemptOutcome::kFailed && outcome != AttemptOutcome::kCancelled &&
      outcome != AttemptOutcome::kReturned) {
    return absl::InvalidArgumentError(
        "a worker ends its attempt FAILED, CANCELLED or RETURNED; success is CompleteJob");
  }
  ASSIGN_OR_RETURN(Job job, queue_.EndAttempt(lease_id, outcome, reason, options_.retry));
  Ended(std::string(lease_id), job, outcome, reason);
  return absl::OkStatus();
}

void JobLeases::Ended(const std::string& lease_id, const Job& job, AttemptOutcome outcome,
                      absl::string_view reason) {
  Forget(lease_id);
  // The store returns the job with the attempt it just closed last.
  if (!job.history.empty()) monitor_.counters().AttemptEnded(job.history.back());
  LogLine(absl::StrCat("job ", job.id, " ", JobStateName(job.state), " (attempt ",
                       AttemptOutcomeName(outcome), ")", reason.empty() ? "" : ": ", reason));
  if (job.state == JobState::kQueued) NotifyQueued();
}

void JobLeases::EndLease(const std::string& lease_id, AttemptOutcome outcome,
                         const std::string& reason) {
  absl::StatusOr<Job> job = queue_.EndAttempt(lease_id, outcome, reason, options_.retry);
  if (job.ok()) {
    Ended(lease_id, *job, outcome, reason);
  } else if (ErrorReason(job.status()) == reason::kLeaseExpired) {
    Forget(lease_id);  // ended meanwhile: the worker's own end came first
  } else {
    // The store failed (a write lock held too long): the lease stays, the next round retries.
    LogLine(absl::StrCat("lease ", lease_id, ": cannot end it now: ", job.status().message()));
  }
}

void JobLeases::WorkerLost(absl::string_view worker, absl::string_view reason) {
  std::vector<std::string> leases;
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [lease_id, active] : active_) {
      if (active.worker == worker) leases.push_back(lease_id);
    }
  }
  for (const std::string& lease_id : leases) {
    EndLease(lease_id, AttemptOutcome::kLost, std::string(reason));
  }
}

void JobLeases::NotifyQueued() {
  absl::MutexLock lock(&mutex_);
  ++queued_signals_;
}

void JobLeases::CancelRequested(absl::string_view job_id) {
  absl::MutexLock lock(&mutex_);
  for (const auto& [lease_id, active] : active_) {
    if (active.job_id == job_id) {
      monitor_.JobCancelRequested(job_id, options_.clock());
      return;
    }
  }
  // Claimed a moment ago and not yet listed: Acquire applies it.
  pending_cancels_.insert(std::string(job_id));
}

void JobLeases::Enforce() {
  const absl::Time now = options_.clock();
  struct Ending {
    std::string lease_id;
    AttemptOutcome outcome;
    std::string reason;
  };
  std::vector<Ending> endings;
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [lease_id, active] : active_) {
      std::optional<RunningJob> running = monitor_.Running(active.job_id);
      if (now >= active.deadline) {
        endings.push_back({lease_id, AttemptOutcome::kTimedOut,
                           absl::StrCat("timeout: the job ran longer than its ",
                                        absl::FormatDuration(active.timeout), " (--timeout)")});
      } else if (running && running->cancel_requested_at &&
                 now >= *running->cancel_requested_at + options_.cancel_grace) {
        endings.push_back(
            {lease_id, AttemptOutcome::kCancelled,
             absl::StrCat("cancelled while running (its worker did not stop within ",
                          absl::FormatDuration(options_.cancel_grace), ")")});
      } else if (now >= active.expires) {
        endings.push_back(
            {lease_id, AttemptOutcome::kLost,
             absl::StrCat("lease expired: ", active.worker, " renewed nothing for ",
                          absl::FormatDuration(options_.lease))});
      }
    }
  }
  for (const Ending& ending : endings) EndLease(ending.lease_id, ending.outcome, ending.reason);
  monitor_.ForgetWorkersUnseenSince(now - options_.lease - kForgetWorkerAfter);
}

void JobLeases::StopLeasing() {
  absl::MutexLock lock(&mutex_);
  leasing_ = false;
}

void JobLeases::ReturnLocalLeases(absl::string_view reason) {
  std::vector<std::string> leases;
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [lease_id, active] : active_) {
      if (local_workers_.count(active.worker) > 0) leases.push_back(lease_id);
    }
  }
  for (const std::string& lease_id : leases) {
    EndLease(lease_id, AttemptOutcome::kReturned, std::string(reason));
  }
}

}  // namespace affsig::core
