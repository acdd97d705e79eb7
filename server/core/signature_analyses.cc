#include "server/core/signature_analyses.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/error_reason.h"
#include "common/status_macros.h"
#include "server/analysis/hierarchical_clustering.h"
#include "server/analysis/signature_distance.h"
#include "server/store/signature_store.h"

namespace affsig::core {
namespace {

absl::Status InvalidAnalysis(absl::string_view message) {
  return WithReason(absl::InvalidArgumentError(message), reason::kInvalidAnalysis);
}

// The values compared: the scored entries' in execution order, resampled when asked. A measure
// is compared where it is defined, and only of jobs submitted with it.
absl::StatusOr<analysis::NamedSeries> SeriesOf(const StoredSignature& signature,
                                               const ComparisonRequest& request) {
  analysis::NamedSeries series;
  series.name = signature.job.spec.name.empty()
                    ? signature.job.id
                    : absl::StrCat(signature.job.id, " (", signature.job.spec.name, ")");
  const std::optional<Measure> measure = ComparedMeasure(request.value);
  if (measure) {
    const std::vector<Measure> measured = SelectedMeasures(signature.job.spec.measures);
    if (std::find(measured.begin(), measured.end(), *measure) == measured.end()) {
      return InvalidAnalysis(absl::StrCat("job ", series.name, " has no ", MeasureName(*measure),
                                          ": submit it with --measures"));
    }
  }
  for (const SignatureEntry& entry : signature.entries) {
    if (entry.status != EntryStatus::kOk) continue;
    if (!measure) {
      series.values.push_back(entry.score);
      continue;
    }
    for (const MeasureValue& value : entry.measures) {
      if (value.measure == *measure && !std::isnan(value.mean)) series.values.push_back(value.mean);
    }
  }
  if (request.resample > 1 && !series.values.empty()) {
    series.values = analysis::Resample(series.values, request.resample);
  }
  return series;
}

int AnalysisThreads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

double StatisticOf(const SignatureSummary& summary, SignatureStatistic statistic) {
  switch (statistic) {
    case SignatureStatistic::kMean:
      return summary.mean_score;
    case SignatureStatistic::kMedian:
      return summary.median_score;
    case SignatureStatistic::kStd:
      return summary.std_score;
    case SignatureStatistic::kMin:
      return summary.min_score;
    case SignatureStatistic::kMax:
      return summary.max_score;
    case SignatureStatistic::kRange:
      return summary.score_range();
  }
  return summary.mean_score;
}

}  // namespace

absl::StatusOr<std::vector<StoredSignature>> SignatureAnalyses::Select(
    const SignatureSelection& selection) {
  std::vector<StoredSignature> selected;
  if (!selection.job_ids.empty()) {
    if (!selection.labels.empty()) {
      return InvalidAnalysis("name the jobs or give labels that select them, not both");
    }
    if (static_cast<int64_t>(selection.job_ids.size()) > kMaxComparedSignatures) {
      return InvalidAnalysis(absl::StrCat(selection.job_ids.size(), " jobs named: at most ",
                                          kMaxComparedSignatures, " signatures at a time"));
    }
    absl::flat_hash_set<std::string> named;
    for (const std::string& id : selection.job_ids) {
      if (!named.insert(id).second) {
        return InvalidAnalysis(absl::StrCat("job ", id, " is named twice"));
      }
      ASSIGN_OR_RETURN(StoredSignature signature, signatures_.Get(id));
      if (signature.job.state != JobState::kSucceeded) {
        return WithReason(absl::FailedPreconditionError(absl::StrCat(
                              "job ", id, " is ", JobStateName(signature.job.state),
                              ": only a SUCCEEDED job has a signature")),
                          reason::kNoSignature);
      }
      selected.push_back(std::move(signature));
    }
  } else {
    if (selection.labels.empty()) {
      return InvalidAnalysis("no signatures selected: name jobs or give labels");
    }
    JobFilter filter;
    filter.labels = selection.labels;
    PageRequest page;
    page.page_size = kMaxPageSize;
    do {
      ASSIGN_OR_RETURN(auto listed, signatures_.List(filter, /*with_entries=*/true, page));
      for (StoredSignature& signature : listed.items) selected.push_back(std::move(signature));
      if (static_cast<int64_t>(selected.size()) > kMaxComparedSignatures) {
        return InvalidAnalysis(absl::StrCat("the labels select more than ",
                                            kMaxComparedSignatures,
                                            " signatures: add a label to narrow them"));
      }
      page.page_token = std::move(listed.next_page_token);
    } while (!page.page_token.empty());
  }
  if (selected.size() < 2) {
    return InvalidAnalysis(absl::StrCat("an analysis needs at least 2 signatures; ",
                                        selected.size(), " selected"));
  }
  return selected;
}

absl::StatusOr<Comparison> SignatureAnalyses::Compare(const ComparisonRequest& request) {
  if (request.resample < 0 || request.resample == 1) {
    return InvalidAnalysis(
        absl::StrCat("resample must be 0 (off) or at least 2 points, not ", request.resample));
  }
  ASSIGN_OR_RETURN(std::vector<StoredSignature> signatures, Select(request.signatures));
  Comparison comparison;
  comparison.distance = request.distance;
  comparison.value = request.value;
  std::vector<analysis::NamedSeries> series;
  for (const StoredSignature& signature : signatures) {
    comparison.job_ids.push_back(signature.job.id);
    comparison.names.push_back(signature.job.spec.name);
    ASSIGN_OR_RETURN(analysis::NamedSeries values, SeriesOf(signature, request));
    series.push_back(std::move(values));
  }
  auto matrix = analysis::PairwiseDistances(series, request.distance, AnalysisThreads());
  if (!matrix.ok()) return InvalidAnalysis(matrix.status().message());
  comparison.matrix = *std::move(matrix);
  return comparison;
}

absl::StatusOr<Clustering> SignatureAnalyses::Cluster(const ClusteringRequest& request) {
  if (request.clusters && request.threshold) {
    return InvalidAnalysis("cut the tree by a number of clusters or by a threshold, not both");
  }
  if (request.clusters && *request.clusters < 1) {
    return InvalidAnalysis(absl::StrCat("clusters must be at least 1, not ", *request.clusters));
  }
  if (request.threshold && !(*request.threshold >= 0)) {
    return InvalidAnalysis(absl::StrCat("the threshold must be a distance >= 0, not ",
                                        *request.threshold));
  }
  Clustering clustering;
  ASSIGN_OR_RETURN(clustering.comparison, Compare(request.comparison));
  clustering.linkage = request.linkage;
  const auto n = static_cast<int64_t>(clustering.comparison.job_ids.size());
  auto merges = analysis::LinkageMatrix(clustering.comparison.matrix, n, request.linkage);
  if (!merges.ok()) return InvalidAnalysis(merges.status().message());
  clustering.merges = *std::move(merges);
  if (request.clusters) {
    ASSIGN_OR_RETURN(clustering.labels, analysis::ClustersByCount(clustering.merges, *request.clusters));
  } else if (request.threshold) {
    clustering.labels = analysis::ClustersByDistance(clustering.merges, *request.threshold);
  }
  return clustering;
}

absl::StatusOr<Correlation> SignatureAnalyses::Correlate(const CorrelationRequest& request) {
  if (request.label.empty()) return InvalidAnalysis("name the numeric label to correlate with");
  JobFilter filter;
  filter.labels = request.filters;
  filter.labels.push_back({request.label, std::nullopt});
  Correlation correlation;
  correlation.label = request.label;
  correlation.statistic = request.statistic;
  struct Values {
    std::vector<std::string> job_ids;
    std::vector<double> statistic, label;
  };
  std::map<std::string, Values> groups;
  PageRequest page;
  page.page_size = kMaxPageSize;
  do {
    ASSIGN_OR_RETURN(auto listed, signatures_.List(filter, /*with_entries=*/false, page));
    for (const StoredSignature& signature : listed.items) {
      const Job& job = signature.job;
      double label = 0.0;
      if (!job.summary || job.summary->scored == 0 ||
          !absl::SimpleAtod(job.spec.labels.at(request.label), &label) || !std::isfinite(label)) {
        correlation.skipped_job_ids.push_back(job.id);
        continue;
      }
      std::string group;
      if (!request.group_by.empty()) {
        auto value = job.spec.labels.find(request.group_by);
        if (value != job.spec.labels.end()) group = value->second;
      }
      Values& values = groups[group];
      values.job_ids.push_back(job.id);
      values.statistic.push_back(StatisticOf(*job.summary, request.statistic));
      values.label.push_back(label);
    }
    page.page_token = std::move(listed.next_page_token);
  } while (!page.page_token.empty());
  if (groups.empty()) {
    return InvalidAnalysis(absl::StrCat("no SUCCEEDED job with a scored signature carries the "
                                        "label '", request.label, "' with a number"));
  }
  for (auto& [name, values] : groups) {
    CorrelationGroup& group = correlation.groups.emplace_back();
    group.group = name;
    group.job_ids = std::move(values.job_ids);
    auto result = analysis::Correlate(values.statistic, values.label);
    if (result.ok()) {
      group.result = *result;
    } else {
      group.reason = std::string(result.status().message());
    }
  }
  return correlation;
}

}  // namespace affsig::core
