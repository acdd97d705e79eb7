// What the server counts while it runs and the database cannot tell afterwards: how long each
// attempt at a job ran, by the worker's device and the attempt's outcome; activation calls
// scored; bytes uploaded. Counts start at zero with the process, as monitoring expects of
// counters (/metrics, server/http/).
#ifndef AFFSIG_SERVER_CORE_SERVICE_COUNTERS_H_
#define AFFSIG_SERVER_CORE_SERVICE_COUNTERS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/blob_info.h"
#include "common/job.h"
#include "common/signature.h"

namespace affsig::core {

// The upper bounds, in seconds, of the attempt duration buckets: a small model on random data
// takes a second, a zoo model on a dataset hours.
const std::vector<double>& AttemptDurationBucketsSeconds();

struct DurationHistogram {
  std::vector<int64_t> buckets;  // attempts up to each bound, not cumulative; one more: beyond
  int64_t count = 0;
  double sum_seconds = 0.0;
};

struct CounterValues {
  // By (device, outcome).
  std::map<std::pair<std::string, AttemptOutcome>, DurationHistogram> attempt_durations;
  int64_t activations_scored = 0;  // one per entry and batch scored, of succeeded attempts
  std::map<BlobKind, int64_t> uploaded_bytes;
};

class ServiceCounters {
 public:
  // `attempt` has ended (its outcome and end time are set).
  void AttemptEnded(const JobAttempt& attempt);
  // A job succeeded with `signature`.
  void Scored(const Signature& signature);
  void Uploaded(BlobKind kind, int64_t bytes);
  CounterValues Read() const;

 private:
  mutable absl::Mutex mutex_;
  CounterValues values_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_SERVICE_COUNTERS_H_
