// A signature job as every part of the service speaks of it — the API adapters, the core, the
// store and the workers: what to compute (JobSpec, checked once where it enters, in the server's
// core), where it stands (JobState), and the history of its attempts. The store serialises it;
// the adapters convert it to and from protos.
#ifndef AFFSIG_COMMON_JOB_H_
#define AFFSIG_COMMON_JOB_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/data_spec.h"
#include "common/measures.h"
#include "common/signature.h"

namespace affsig {

enum class ActivationMode {
  kModules,  // the paper's: calls of torch.nn activation modules.
  kAll,      // also functional activations (F.relu, torch.tanh, x.sigmoid(), ...).
};

absl::string_view ActivationModeName(ActivationMode mode);
absl::StatusOr<ActivationMode> ParseActivationMode(absl::string_view name);

// How a job's forward pass runs.
enum class ForwardOptimization {
  kAuto,  // frozen and channels_last, with the capture intact; the model's own forward where
          // LibTorch cannot optimize it (the attempt says why).
  kOff,   // the model's own forward, as loaded.
};

absl::string_view ForwardOptimizationName(ForwardOptimization optimization);
absl::StatusOr<ForwardOptimization> ParseForwardOptimization(absl::string_view name);

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

absl::string_view JobStateName(JobState state);
absl::StatusOr<JobState> ParseJobState(absl::string_view name);
bool IsFinal(JobState state);

struct JobSpec {
  std::string name;
  std::string model_sha256;
  DataSpec data;  // kind kUpload: `location` is the uploaded input's sha256
  ActivationMode activations = ActivationMode::kModules;
  ForwardOptimization optimize = ForwardOptimization::kAuto;
  MeasureSelection measures;  // companion measures of each scored entry; none by default
  int64_t priority = 0;       // higher runs first
  std::map<std::string, std::string> labels;
  // Past it the job ends FAILED and is not retried; zero takes the server's default.
  absl::Duration timeout = absl::ZeroDuration();
  // The client's id for this submission (AIP-155): submitted again with the same id, the job is
  // not made twice. "" for none.
  std::string request_id;
};

// How one attempt at a job ended.
enum class AttemptOutcome {
  kSucceeded,
  kFailed,  // the job's own failure (a model that does not load, ...): not retried
  kCancelled,
  kTimedOut,  // ran past the job's timeout: not retried
  kLost,      // the worker died or stopped renewing its lease: retried up to max attempts
  kReturned,  // the worker or the server stopped first: retried, not counted as lost
};

absl::string_view AttemptOutcomeName(AttemptOutcome outcome);
absl::StatusOr<AttemptOutcome> ParseAttemptOutcome(absl::string_view name);

struct JobAttempt {
  int64_t number = 0;  // from 1
  std::string worker;
  std::string device;
  int64_t started_at_ms = 0;
  int64_t ended_at_ms = 0;                // 0 while it runs
  std::optional<AttemptOutcome> outcome;  // nullopt while it runs
  std::string reason;
};

// Statistics of a signature over its scored entries (status kOk), as the paper reports them for
// each network; server/analysis/signature_statistics.h computes them. With no entry scored,
// every score statistic is NaN.
struct SignatureSummary {
  int64_t entries = 0;
  int64_t scored = 0;
  double mean_score = 0.0;
  double median_score = 0.0;  // of an even number, the mean of the middle two
  // Population standard deviation (NumPy's default, ddof = 0), as the paper computes it.
  double std_score = 0.0;
  double min_score = 0.0;
  double max_score = 0.0;
  double score_range() const { return max_score - min_score; }
  // Where the lowest score lies: its entry's position among all entries in execution order
  // divided by entries - 1 (0 for a single entry): 0 at the first activation call, 1 at the
  // last. The earliest of equal lowest scores.
  double lowest_score_depth = 0.0;
};

// The owner of jobs and uploads made before identities existed, or on a server without
// --auth-tokens.
inline constexpr char kUnknownOwner[] = "unknown";

struct Job {
  std::string id;
  JobSpec spec;
  std::string owner;  // the user who submitted it ("unknown" before identities existed)
  JobState state = JobState::kQueued;
  int64_t attempts = 0;
  std::string error;  // one line, when FAILED (or CANCELLED while running)
  bool cancel_requested = false;
  int64_t created_at_ms = 0;
  int64_t started_at_ms = 0;                // 0 until a worker takes it
  int64_t finished_at_ms = 0;               // 0 until it ends
  std::vector<JobAttempt> history;          // every attempt, oldest first
  std::optional<SignatureSummary> summary;  // once SUCCEEDED
};

// A job with its signature as stored: the entries in execution order (empty unless asked for,
// and unless the job SUCCEEDED).
struct StoredSignature {
  Job job;
  Signature entries;
};

}  // namespace affsig

#endif  // AFFSIG_COMMON_JOB_H_
