#include "common/batch_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace affsig {

absl::StatusOr<Signature> CombineBatches(const std::vector<Signature>& per_batch) {
  if (per_batch.empty()) return absl::InvalidArgumentError("no batches to combine");
  const Signature& first = per_batch.front();
  for (size_t b = 1; b < per_batch.size(); ++b) {
    const Signature& other = per_batch[b];
    bool same = other.size() == first.size();
    for (size_t i = 0; same && i < first.size(); ++i) {
      same = other[i].module == first[i].module && other[i].op == first[i].op &&
             other[i].call == first[i].call;
    }
    if (!same) {
      return absl::InvalidArgumentError(absl::StrCat(
          "batch ", b + 1, "'s forward pass called other activations than batch 1's (",
          other.size(), " calls against ", first.size(), "): data-dependent control flow"));
    }
  }
  Signature combined = first;
  for (size_t i = 0; i < combined.size(); ++i) {
    SignatureEntry& entry = combined[i];
    entry.batch_scores.clear();
    std::vector<double> scored;
    for (const Signature& batch : per_batch) {
      const bool ok = batch[i].status == EntryStatus::kOk;
      entry.batch_scores.push_back(ok ? batch[i].score : std::numeric_limits<double>::quiet_NaN());
      if (ok) scored.push_back(batch[i].score);
    }
    entry.batches = static_cast<int64_t>(scored.size());
    if (scored.empty()) continue;  // the first batch's status and reason stand
    double sum = 0.0;
    for (double score : scored) sum += score;
    const double mean = sum / static_cast<double>(scored.size());
    double squares = 0.0;
    for (double score : scored) squares += (score - mean) * (score - mean);
    entry.score = mean;
    entry.score_std = std::sqrt(squares / static_cast<double>(scored.size()));
    entry.score_min = *std::min_element(scored.begin(), scored.end());
    entry.score_max = *std::max_element(scored.begin(), scored.end());
    entry.status = EntryStatus::kOk;
    entry.reason.clear();
  }
  return combined;
}

}  // namespace affsig
