// The non-linearity signature as the engine produces it and the service stores and serves it.
#ifndef AFFSIG_COMMON_SIGNATURE_H_
#define AFFSIG_COMMON_SIGNATURE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/measures.h"

namespace affsig {

// Whether an entry has a score. Entries that cannot be scored keep their place in the signature.
enum class EntryStatus {
  kOk,
  kTooFewSamples,  // N < 2: no covariance.
  kNonFinite,      // the activation's input or output holds NaN or Inf.
  kDimMismatch,    // input and output reduce to different feature dimensions (e.g. GLU).
  kFailed,         // the computation itself failed; the reason says how.
};

absl::string_view EntryStatusName(EntryStatus status);
absl::StatusOr<EntryStatus> ParseEntryStatus(absl::string_view name);

// One activation call of one forward pass.
struct SignatureEntry {
  int64_t index = 0;   // position in execution order, from 0.
  std::string module;  // dotted module path, "" for the model's own forward.
  int64_t call = 0;    // how many earlier calls had the same module and op.
  std::string op;      // activation class (modules mode) or operation (functional calls).
  int64_t d = 0;       // feature dimension after reduction.
  int64_t n = 0;       // samples.
  double score = 0.0;  // affinity score; meaningful only when status is kOk.
  EntryStatus status = EntryStatus::kOk;
  std::string reason;  // why an entry has no score; empty when status is kOk.

  // Over the batches of a job (common/batch_statistics.h): `score` is the mean of the batches in
  // which the entry was scored, `batches` their number; one batch gives std 0, min = max = score.
  int64_t batches = 1;
  double score_std = 0.0;
  double score_min = 0.0;
  double score_max = 0.0;
  std::vector<double> batch_scores;  // per batch, in order; NaN where it was not scored
  // The companion measures the job asked for (common/measures.h), in Measure order, on entries
  // whose status is kOk; none otherwise.
  std::vector<MeasureValue> measures;
};

using Signature = std::vector<SignatureEntry>;

}  // namespace affsig

#endif  // AFFSIG_COMMON_SIGNATURE_H_
