// Runs one job's signature on this worker's device: opens its data (an uploaded tensor, a file
// or dataset under the worker's data roots, random samples) as batches prepared on a thread
// ahead, loads the model, computes each batch's signature and combines them (mean and spread of
// each entry). Knows nothing of leases or gRPC.
#ifndef AFFSIG_SERVER_WORKER_JOB_RUNNER_H_
#define AFFSIG_SERVER_WORKER_JOB_RUNNER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/job.h"
#include "common/signature.h"

namespace affsig::worker {

struct RunnerOptions {
  std::string device = "cpu";           // "cpu" or "cuda:K"
  int intra_op_threads = 0;             // 0 leaves LibTorch's setting
  std::vector<std::string> data_roots;  // where jobs may read server paths (--data-root)
};

struct RunProgress {
  int64_t done = 0;        // activations scored, over every batch
  int64_t total = 0;       // activations of every batch
  std::string activation;  // the module path of the activation just scored
  int64_t batch = 1;       // the batch being scored, from 1
  int64_t batches = 1;
};

struct RunCallbacks {
  std::function<void(const RunProgress&)> on_progress;
  // Asked at every activation; true stops the job with CANCELLED.
  std::function<bool()> should_stop;
  // At most once, with one line the job should know of how it ran: its forward ran unoptimized
  // although optimize was auto, and why.
  std::function<void(const std::string&)> on_note;
};

// The local file of a blob, fetched first when needed.
using BlobPath = std::function<absl::StatusOr<std::string>(const std::string& sha256)>;

class JobRunner {
 public:
  explicit JobRunner(RunnerOptions options) : options_(std::move(options)) {}

  // The job's signature, or why it failed in one line (blobs named by digest, never by path);
  // CANCELLED when `should_stop` said so.
  absl::StatusOr<Signature> Run(const JobSpec& spec, const BlobPath& blob_path,
                                const RunCallbacks& callbacks) const;

 private:
  RunnerOptions options_;
};

}  // namespace affsig::worker

#endif  // AFFSIG_SERVER_WORKER_JOB_RUNNER_H_
