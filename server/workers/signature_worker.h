// A worker: takes the next queued job, runs its signature on one device, and ends it — SUCCEEDED
// with its entries, FAILED with a one-line reason (a model that does not load, an input that is
// not a valid .npy, a forward pass that throws), or CANCELLED at the next activation after a
// cancel request. A job's content never stops the worker: it takes the next job.
#ifndef AFFSIG_SERVER_WORKERS_SIGNATURE_WORKER_H_
#define AFFSIG_SERVER_WORKERS_SIGNATURE_WORKER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/blob_store.h"
#include "server/store/job_queue.h"

namespace affsig::workers {

struct WorkerOptions {
  std::string device = "cpu";           // "cpu" or "cuda:K"
  int intra_op_threads = 0;             // 0 leaves LibTorch's setting
  std::vector<std::string> data_roots;  // where jobs may read server paths (--data-root)
};

struct JobProgress {
  std::string job_id;
  int64_t done = 0;        // activations scored
  int64_t total = 0;       // activations of the forward pass
  std::string activation;  // the module path of the activation just scored
  int64_t batch = 1;       // the batch being scored, from 1
  int64_t batches = 1;
};

// What a worker reports as it goes, naming its device; any may be empty.
struct WorkerEvents {
  using JobEvent = std::function<void(const std::string& device, const store::Job& job)>;
  JobEvent on_start;  // claimed, now RUNNING
  std::function<void(const JobProgress&)> on_progress;
  JobEvent on_end;  // as it ended
};

class SignatureWorker {
 public:
  SignatureWorker(store::JobQueue& queue, const store::BlobStore& blobs, WorkerOptions options,
                  WorkerEvents events = {});

  // Takes the next queued job and runs it to its end. Returns the job as it ended, or nullopt
  // when none was waiting; an error only when the store itself fails.
  absl::StatusOr<std::optional<store::Job>> RunNext();

 private:
  // The signature of a claimed job, or why it failed.
  absl::StatusOr<Signature> Compute(const store::Job& job);

  store::JobQueue& queue_;
  const store::BlobStore& blobs_;
  WorkerOptions options_;
  WorkerEvents events_;
};

}  // namespace affsig::workers

#endif  // AFFSIG_SERVER_WORKERS_SIGNATURE_WORKER_H_
