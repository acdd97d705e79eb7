// affsig-worker's loop: lease one job at a time from the server, fetch the blobs it names (kept
// in a bounded cache), run it, renew the lease meanwhile (progress out, a cancel in), and end it
// with the signature or a reason. The server decides every job's end; the worker obeys its lease:
// told to cancel, or finding its lease gone (a timeout, a cancel past its grace, an expiry), it
// stops at the next activation — and when a model does not reach one, it exits with status 75 to
// be started again (a supervisor, systemd or the Slurm script does), which is the only way to
// drop a forward pass that LibTorch cannot interrupt.
#ifndef AFFSIG_SERVER_WORKER_WORKER_H_
#define AFFSIG_SERVER_WORKER_WORKER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "affsig/v1/worker_service.pb.h"
#include "server/worker/blob_cache.h"
#include "server/worker/job_runner.h"
#include "server/worker/lease_client.h"

namespace affsig::worker {

class Worker {
 public:
  struct Options {
    std::string server;  // HOST:PORT
    std::string token;   // for a server with --auth-tokens: one of the worker role
    // TLS or plaintext (proto/channel_credentials.h).
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    std::string name;      // unique among the server's workers
    std::string host;      // this machine, for people
    RunnerOptions runner;  // device, threads, data roots
    BlobCacheOptions cache;
    absl::Duration idle_exit = absl::ZeroDuration();  // zero: never
    // On Stop, how long the running job may take to finish before it is returned.
    absl::Duration stop_grace = absl::Seconds(30);
    // How long a job told to stop may take to reach its next activation before the worker exits.
    absl::Duration stop_within = absl::Seconds(3);
    absl::Duration lease_wait = absl::Seconds(20);  // one long poll for a job
    std::string version;
  };

  static absl::StatusOr<std::unique_ptr<Worker>> Create(Options options);

  // Leases and runs jobs until Stop, or until idle for idle_exit. Errors only when the server
  // cannot be talked to at all (a refused request).
  absl::Status Run();
  // From any thread (the signal thread): no new lease; the running job finishes within the stop
  // grace, or stops and goes back to the queue.
  void Stop();

 private:
  // Why a running job is told to stop.
  enum class StopReason { kNone, kCancelled, kLeaseLost, kDeadline, kWorkerStopping };
  struct Attempt;

  explicit Worker(Options options);
  void RunLeased(const v1::Lease& lease);
  // Delivers the attempt's end (its signature with the runner's note, or why it stopped) unless
  // the lease is gone.
  void EndAttempt(Attempt& attempt, const v1::Lease& lease, StopReason stop,
                  const absl::StatusOr<Signature>& signature, const std::string& note);
  // Renews the lease until the job is done; sets its stop reason when it must stop, and exits
  // the process when the job does not stop in time.
  void Renew(Attempt& attempt, const v1::Lease& lease);
  bool stopping() const;

  Options options_;
  LeaseClient client_;
  std::unique_ptr<BlobCache> cache_;
  JobRunner runner_;
  mutable absl::Mutex mutex_;
  std::optional<absl::Time> stop_requested_at_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace affsig::worker

#endif  // AFFSIG_SERVER_WORKER_WORKER_H_
