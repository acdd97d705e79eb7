#include "server/worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/error_reason.h"
#include "common/exit_status.h"
#include "common/log_line.h"
#include "common/status_macros.h"
#include "proto/proto_types.h"

namespace affsig::worker {
namespace {

// Progress goes to the server at most this often (watchers see it move); the lease is renewed
// every third of its length whatever happens.
constexpr absl::Duration kProgressEvery = absl::Milliseconds(250);
constexpr absl::Duration kCheckEvery = absl::Milliseconds(100);
// One attempt at delivering a job's end, and how long to keep trying.
constexpr absl::Duration kEndDeadline = absl::Minutes(1);
constexpr absl::Duration kEndRetryFor = absl::Hours(1);
constexpr absl::Duration kMaxRetryWait = absl::Seconds(30);

}  // namespace

struct Worker::Attempt {
  absl::Mutex mutex;
  std::optional<RunProgress> progress ABSL_GUARDED_BY(mutex);
  bool progress_sent ABSL_GUARDED_BY(mutex) = true;
  StopReason stop ABSL_GUARDED_BY(mutex) = StopReason::kNone;
  absl::Time stop_at ABSL_GUARDED_BY(mutex);
  bool computing ABSL_GUARDED_BY(mutex) = true;  // the runner is at work
  bool done ABSL_GUARDED_BY(mutex) = false;      // the end is delivered: renewals stop

  void StopFor(StopReason reason, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    if (stop != StopReason::kNone) return;
    stop = reason;
    stop_at = now;
  }
};

Worker::Worker(Options options)
    : options_(std::move(options)),
      client_(options_.server, options_.token, options_.credentials),
      runner_(options_.runner) {}

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(Options options) {
  std::unique_ptr<Worker> worker(new Worker(std::move(options)));
  LeaseClient& client = worker->client_;
  ASSIGN_OR_RETURN(worker->cache_,
                   BlobCache::Open(worker->options_.cache,
                                   [&client](const std::string& sha256, store::BlobUpload& upload) {
                                     return client.FetchBlob(sha256, upload);
                                   }));
  return worker;
}

void Worker::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (!stop_requested_at_) stop_requested_at_ = absl::Now();
  }
  client_.CancelLeaseWait();
}

bool Worker::stopping() const {
  absl::MutexLock lock(&mutex_);
  return stop_requested_at_.has_value();
}

absl::Status Worker::Run() {
  LogLine(absl::StrCat(options_.name, " on ", options_.runner.device, ": leasing jobs from ",
                       options_.server));
  absl::Time idle_since = absl::Now();
  absl::Duration retry_wait = absl::Seconds(1);
  std::string last_error;
  while (!stopping()) {
    v1::LeaseJobRequest request;
    request.set_worker(options_.name);
    request.set_device(options_.runner.device);
    request.set_host(options_.host);
    request.set_pid(getpid());
    request.mutable_capabilities()->set_version(options_.version);
    for (const std::string& root : options_.runner.data_roots) {
      request.mutable_capabilities()->add_data_roots(root);
    }
    absl::StatusOr<std::optional<v1::Lease>> lease = client_.LeaseJob(request, options_.lease_wait);
    if (!lease.ok()) {
      if (stopping()) break;
      if (lease.status().code() == absl::StatusCode::kInvalidArgument ||
          lease.status().code() == absl::StatusCode::kUnimplemented) {
        return lease.status();
      }
      if (lease.status().message() != last_error) {
        last_error = std::string(lease.status().message());
        LogLine(absl::StrCat("cannot lease a job (retrying): ", last_error));
      }
      absl::MutexLock lock(&mutex_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stop_requested_at_.has_value();
      };
      mutex_.AwaitWithTimeout(absl::Condition(&stop), retry_wait);
      retry_wait = std::min(retry_wait * 2, kMaxRetryWait);
      continue;
    }
    retry_wait = absl::Seconds(1);
    last_error.clear();
    if (!lease->has_value()) {
      if (options_.idle_exit > absl::ZeroDuration() &&
          absl::Now() - idle_since >= options_.idle_exit) {
        LogLine(absl::StrCat("idle for ", absl::FormatDuration(options_.idle_exit), ": exiting"));
        break;
      }
      continue;
    }
    RunLeased(**lease);
    idle_since = absl::Now();
  }
  LogLine("stopped");
  return absl::OkStatus();
}

void Worker::RunLeased(const v1::Lease& lease) {
  const v1::LeasedJob& leased = lease.job();
  const std::string& job_id = leased.job_id();
  LogLine(absl::StrCat("job ", job_id, " leased (attempt ", leased.attempt(), ")"));
  Attempt attempt;
  std::thread renewer([&] { Renew(attempt, lease); });

  absl::StatusOr<Signature> signature;
  std::string note;
  absl::StatusOr<DataSpec> data =
      DataSpecFromProto(leased.input_sha256(), leased.data_source(), leased.data_options());
  absl::StatusOr<MeasureSelection> measures = MeasureSelectionFromProto(leased.measures());
  if (!data.ok()) {
    signature = data.status();
  } else if (!measures.ok()) {
    signature = measures.status();
  } else {
    JobSpec spec;
    spec.model_sha256 = leased.model_sha256();
    spec.data = *std::move(data);
    spec.activations = ActivationModeFromProto(leased.activations());
    spec.optimize = ForwardOptimizationFromProto(leased.optimize());
    spec.measures = *measures;
    RunCallbacks callbacks;
    callbacks.on_progress = [&attempt](const RunProgress& progress) {
      absl::MutexLock lock(&attempt.mutex);
      attempt.progress = progress;
      attempt.progress_sent = false;
    };
    callbacks.should_stop = [&attempt] {
      absl::MutexLock lock(&attempt.mutex);
      return attempt.stop != StopReason::kNone;
    };
    callbacks.on_note = [&](const std::string& line) {
      LogLine(absl::StrCat("job ", job_id, ": ", line));
      note = line;
    };
    signature = runner_.Run(
        spec, [this](const std::string& sha256) { return cache_->Path(sha256); }, callbacks);
  }
  cache_->Release();
  // The lease is renewed until the end is delivered: a large signature takes a while to send,
  // and a server that restarts meanwhile keeps a remote worker's lease for it to renew.
  StopReason stop;
  {
    absl::MutexLock lock(&attempt.mutex);
    attempt.computing = false;
    stop = attempt.stop;
  }
  EndAttempt(attempt, lease, stop, signature, note);
  {
    absl::MutexLock lock(&attempt.mutex);
    attempt.done = true;
  }
  renewer.join();
}

void Worker::EndAttempt(Attempt& attempt, const v1::Lease& lease, StopReason stop,
                        const absl::StatusOr<Signature>& signature, const std::string& note) {
  const std::string& job_id = lease.job().job_id();
  switch (stop) {
    case StopReason::kLeaseLost:
      LogLine(absl::StrCat("job ", job_id, ": the lease is no longer current; result dropped"));
      return;
    case StopReason::kDeadline:
      LogLine(absl::StrCat("job ", job_id, " stopped at its timeout; the server ends it"));
      return;
    default:
      break;
  }
  v1::AttemptOutcome outcome = v1::ATTEMPT_FAILED;
  std::string reason;
  if (!signature.ok()) {
    reason = std::string(signature.status().message());
    if (stop == StopReason::kCancelled) {
      outcome = v1::ATTEMPT_CANCELLED;
      reason = "cancelled while running";
    } else if (stop == StopReason::kWorkerStopping) {
      outcome = v1::ATTEMPT_RETURNED;
      reason = "its worker stopped before it finished";
    }
  }
  // Sent until it arrives: an unreachable server is waited for with a growing pause, as long as
  // the lease is not known to be lost.
  absl::Duration pause = absl::Seconds(1);
  const absl::Time give_up = absl::Now() + kEndRetryFor;
  while (true) {
    const absl::Status ended =
        signature.ok() ? client_.CompleteJob(lease.lease_id(), *signature, note, kEndDeadline)
                       : client_.FailJob(lease.lease_id(), outcome, reason, kEndDeadline);
    if (ended.ok()) {
      LogLine(signature.ok()
                  ? absl::StrCat("job ", job_id, " done: ", signature->size(), " entries")
                  : absl::StrCat("job ", job_id, " ended ", v1::AttemptOutcome_Name(outcome), ": ",
                                 reason));
      return;
    }
    const bool transient = ended.code() == absl::StatusCode::kUnavailable ||
                           ended.code() == absl::StatusCode::kDeadlineExceeded;
    bool lost = false;
    {
      absl::MutexLock lock(&attempt.mutex);
      lost = attempt.stop == StopReason::kLeaseLost;
    }
    if (!transient || lost || absl::Now() + pause > give_up) {
      LogLine(absl::StrCat("job ", job_id, ": the server refused its end: ", ended.message()));
      return;
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, kMaxRetryWait);
  }
}

void Worker::Renew(Attempt& attempt, const v1::Lease& lease) {
  const std::string& job_id = lease.job().job_id();
  const absl::Time leased_at = absl::Now();
  const absl::Time deadline = lease.deadline_in_ms() > 0
                                  ? leased_at + absl::Milliseconds(lease.deadline_in_ms())
                                  : absl::InfiniteFuture();
  absl::Duration renew_every = absl::Milliseconds(lease.expires_in_ms()) / 3;
  absl::Time last_sent = leased_at;
  bool unreachable_logged = false;
  while (true) {
    v1::HeartbeatRequest request;
    {
      absl::MutexLock lock(&attempt.mutex);
      auto done = [&attempt]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(attempt.mutex) { return attempt.done; };
      if (attempt.mutex.AwaitWithTimeout(absl::Condition(&done), kCheckEvery)) return;
      const absl::Time now = absl::Now();
      if (now >= deadline) attempt.StopFor(StopReason::kDeadline, now);
      {
        absl::MutexLock worker_lock(&mutex_);
        if (stop_requested_at_ && now >= *stop_requested_at_ + options_.stop_grace) {
          attempt.StopFor(StopReason::kWorkerStopping, now);
        }
      }
      if (attempt.computing && attempt.stop != StopReason::kNone &&
          now >= attempt.stop_at + options_.stop_within) {
        // The model has not reached an activation since it was told to stop: LibTorch cannot
        // interrupt it, so the process ends, and its supervisor starts it again.
        LogLine(absl::StrCat("job ", job_id, " did not stop within ",
                             absl::FormatDuration(options_.stop_within),
                             ": exiting to drop it (exit status ", kWorkerExitRestartMe, ")"));
        if (attempt.stop == StopReason::kCancelled || attempt.stop == StopReason::kWorkerStopping) {
          client_
              .FailJob(lease.lease_id(),
                       attempt.stop == StopReason::kCancelled ? v1::ATTEMPT_CANCELLED
                                                              : v1::ATTEMPT_RETURNED,
                       "its worker was stopped", absl::Seconds(2))
              .IgnoreError();
        }
        std::fflush(nullptr);
        _exit(kWorkerExitRestartMe);
      }
      const bool progress_due = !attempt.progress_sent && now - last_sent >= kProgressEvery;
      if (attempt.stop == StopReason::kLeaseLost ||
          (!progress_due && now - last_sent < renew_every)) {
        continue;
      }
      request.set_lease_id(lease.lease_id());
      if (attempt.progress) {
        const RunProgress& progress = *attempt.progress;
        v1::JobProgress* out = request.mutable_progress();
        out->set_done(progress.done);
        out->set_total(progress.total);
        out->set_activation(progress.activation);
        out->set_batch(progress.batch);
        out->set_batches(progress.batches);
        attempt.progress_sent = true;
      }
      last_sent = now;
    }
    absl::StatusOr<v1::HeartbeatResponse> response = client_.Heartbeat(request);
    absl::MutexLock lock(&attempt.mutex);
    if (response.ok()) {
      unreachable_logged = false;
      renew_every = absl::Milliseconds(response->expires_in_ms()) / 3;
      if (response->cancel()) attempt.StopFor(StopReason::kCancelled, absl::Now());
    } else if (ErrorReason(response.status()) == reason::kLeaseExpired) {
      attempt.StopFor(StopReason::kLeaseLost, absl::Now());
      LogLine(absl::StrCat("job ", job_id, ": ", response.status().message()));
    } else if (!unreachable_logged) {
      // The server may be restarting: the job goes on, and so do the renewals.
      unreachable_logged = true;
      LogLine(absl::StrCat("job ", job_id,
                           ": cannot renew the lease (retrying): ", response.status().message()));
    }
  }
}

}  // namespace affsig::worker
