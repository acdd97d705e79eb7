// Runs one job's signature on this worker's device: opens its data (an uploaded tensor, a file
// or dataset under the worker's data roots, random samples) as batches prepared on a thread
// ahead, loads the model, computes each batch's signature and combines them (mean and spread of
// each entry). Knows nothing of leases or gRPC.
//
// A lab submits the same model over and over (other data, other batches): the runner keeps the
// last model it ran, loaded and optimized, for the next job that names it — only when it ran
// frozen with no module attribute left to read or write (SignatureModel::reusable), so that a
// job gives what it would give on a fresh load.
#ifndef AFFSIG_SERVER_WORKER_JOB_RUNNER_H_
#define AFFSIG_SERVER_WORKER_JOB_RUNNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/job.h"
#include "common/signature.h"

namespace affsig::engine {
class SignatureModel;
}  // namespace affsig::engine

namespace affsig::worker {

struct RunnerOptions {
  std::string device = "cpu";           // "cpu" or "cuda:K"
  int intra_op_threads = 0;             // 0 leaves LibTorch's setting
  std::vector<std::string> data_roots;  // where jobs may read server paths (--data-root)
  int data_threads = 1;                 // read, decode and preprocess a batch's samples
  int scoring_threads = -1;             // score beside the forward (engine/scoring_pool.h)
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
  explicit JobRunner(RunnerOptions options);
  ~JobRunner();

  // The job's signature, or why it failed in one line (blobs named by digest, never by path);
  // CANCELLED when `should_stop` said so.
  absl::StatusOr<Signature> Run(const JobSpec& spec, const BlobPath& blob_path,
                                const RunCallbacks& callbacks);

 private:
  // The model the job names: the one kept from the last job, or loaded from its blob.
  absl::StatusOr<std::unique_ptr<engine::SignatureModel>> TakeModel(const JobSpec& spec,
                                                                    const BlobPath& blob_path);

  RunnerOptions options_;
  std::string kept_sha256_;  // the kept model's blob; empty when none is kept
  std::unique_ptr<engine::SignatureModel> kept_model_;
};

}  // namespace affsig::worker

#endif  // AFFSIG_SERVER_WORKER_JOB_RUNNER_H_
