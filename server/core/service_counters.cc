#include "server/core/service_counters.h"

#include <algorithm>

namespace affsig::core {

const std::vector<double>& AttemptDurationBucketsSeconds() {
  static const auto* bounds =
      new std::vector<double>{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200};
  return *bounds;
}

void ServiceCounters::AttemptEnded(const JobAttempt& attempt) {
  if (!attempt.outcome) return;
  const double seconds = std::max<int64_t>(0, attempt.ended_at_ms - attempt.started_at_ms) / 1000.0;
  const std::vector<double>& bounds = AttemptDurationBucketsSeconds();
  const size_t bucket = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
  absl::MutexLock lock(&mutex_);
  DurationHistogram& histogram = values_.attempt_durations[{attempt.device, *attempt.outcome}];
  histogram.buckets.resize(bounds.size() + 1);
  ++histogram.buckets[bucket];
  ++histogram.count;
  histogram.sum_seconds += seconds;
}

void ServiceCounters::Scored(const Signature& signature) {
  int64_t scored = 0;
  for (const SignatureEntry& entry : signature) {
    if (entry.status == EntryStatus::kOk) scored += entry.batches;
  }
  absl::MutexLock lock(&mutex_);
  values_.activations_scored += scored;
}

void ServiceCounters::Uploaded(BlobKind kind, int64_t bytes) {
  absl::MutexLock lock(&mutex_);
  values_.uploaded_bytes[kind] += bytes;
}

CounterValues ServiceCounters::Read() const {
  absl::MutexLock lock(&mutex_);
  return values_;
}

}  // namespace affsig::core
