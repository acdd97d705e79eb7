// The paper's analyses on stored signatures, for every client alike: the distance matrix between
// signatures, its hierarchical clustering, and the correlation of a signature statistic with a
// numeric label (accuracy) across jobs. Selects and checks the signatures here; the numbers come
// from server/analysis/, pure functions.
#ifndef AFFSIG_SERVER_CORE_SIGNATURE_ANALYSES_H_
#define AFFSIG_SERVER_CORE_SIGNATURE_ANALYSES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/analysis_options.h"
#include "common/cluster_merge.h"
#include "common/job.h"
#include "common/listing.h"
#include "server/analysis/correlation.h"

namespace affsig::store {
class SignatureStore;
}  // namespace affsig::store

namespace affsig::core {

// The most signatures one comparison takes: its matrix has n^2 distances.
inline constexpr int64_t kMaxComparedSignatures = 2000;

// The SUCCEEDED jobs named, in that order, or every SUCCEEDED job carrying all the labels,
// newest first.
struct SignatureSelection {
  std::vector<std::string> job_ids;
  std::vector<LabelFilter> labels;
};

struct ComparisonRequest {
  SignatureSelection signatures;
  SignatureDistance distance = SignatureDistance::kDtw;
  ComparedValue value = ComparedValue::kScore;
  int64_t resample = 0;  // > 1: every signature resampled to this many points first
};

struct Comparison {
  std::vector<std::string> job_ids;
  std::vector<std::string> names;
  SignatureDistance distance = SignatureDistance::kDtw;
  ComparedValue value = ComparedValue::kScore;
  std::vector<double> matrix;  // n x n, row-major, in the order of job_ids
};

struct ClusteringRequest {
  ComparisonRequest comparison;
  Linkage linkage = Linkage::kAverage;
  std::optional<int64_t> clusters;  // at most this many flat clusters ...
  std::optional<double> threshold;  // ... or merges below this distance; not both
};

struct Clustering {
  Comparison comparison;
  Linkage linkage = Linkage::kAverage;
  std::vector<Merge> merges;
  std::vector<int> labels;  // flat clusters, when a cut was asked for
};

struct CorrelationRequest {
  std::string label;  // its values must be numbers
  SignatureStatistic statistic = SignatureStatistic::kMean;
  std::vector<LabelFilter> filters;
  std::string group_by;  // a label key; "" for one group
};

struct CorrelationGroup {
  std::string group;
  std::vector<std::string> job_ids;
  std::optional<analysis::CorrelationResult> result;  // nullopt with the reason when undefined
  std::string reason;
};

struct Correlation {
  std::string label;
  SignatureStatistic statistic = SignatureStatistic::kMean;
  std::vector<CorrelationGroup> groups;  // by group value
  // Carrying the label, but its value is not a number or no entry of theirs was scored.
  std::vector<std::string> skipped_job_ids;
};

class SignatureAnalyses {
 public:
  explicit SignatureAnalyses(store::SignatureStore& signatures) : signatures_(signatures) {}

  absl::StatusOr<Comparison> Compare(const ComparisonRequest& request);
  absl::StatusOr<Clustering> Cluster(const ClusteringRequest& request);
  absl::StatusOr<Correlation> Correlate(const CorrelationRequest& request);

 private:
  // The selected jobs with their entries; INVALID_ARGUMENT or FAILED_PRECONDITION, naming the job,
  // for fewer than two, more than kMaxComparedSignatures, a job named twice or not SUCCEEDED.
  absl::StatusOr<std::vector<StoredSignature>> Select(const SignatureSelection& selection);

  store::SignatureStore& signatures_;
};

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_SIGNATURE_ANALYSES_H_
