#include "common/batch_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace affsig {
namespace {

struct Spread {
  double mean = 0.0;
  double std = 0.0;  // population
};

// Of at least one value.
Spread MeanAndSpread(const std::vector<double>& values) {
  double sum = 0.0;
  for (double value : values) sum += value;
  const double mean = sum / static_cast<double>(values.size());
  double squares = 0.0;
  for (double value : values) squares += (value - mean) * (value - mean);
  return {mean, std::sqrt(squares / static_cast<double>(values.size()))};
}

// Entry i's measures over the batches in which it was scored: each over those in which it was
// defined; NaN, spread too, where it was in none.
std::vector<MeasureValue> CombineMeasures(const std::vector<Signature>& per_batch, size_t i) {
  std::vector<MeasureValue> combined;
  for (int m = 0; m < kMeasureCount; ++m) {
    const auto measure = static_cast<Measure>(m);
    bool measured = false;
    std::vector<double> defined;
    for (const Signature& batch : per_batch) {
      if (batch[i].status != EntryStatus::kOk) continue;
      for (const MeasureValue& value : batch[i].measures) {
        if (value.measure != measure) continue;
        measured = true;
        if (!std::isnan(value.mean)) defined.push_back(value.mean);
      }
    }
    if (!measured) continue;
    if (defined.empty()) {
      const double nan = std::numeric_limits<double>::quiet_NaN();
      combined.push_back({measure, nan, nan});
    } else {
      const Spread spread = MeanAndSpread(defined);
      combined.push_back({measure, spread.mean, spread.std});
    }
  }
  return combined;
}

}  // namespace

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
    entry.measures = CombineMeasures(per_batch, i);
    if (scored.empty()) continue;  // the first batch's status and reason stand
    const Spread spread = MeanAndSpread(scored);
    entry.score = spread.mean;
    entry.score_std = spread.std;
    entry.score_min = *std::min_element(scored.begin(), scored.end());
    entry.score_max = *std::max_element(scored.begin(), scored.end());
    entry.status = EntryStatus::kOk;
    entry.reason.clear();
  }
  return combined;
}

}  // namespace affsig
