#include "common/analysis_options.h"

#include "absl/strings/str_cat.h"
#include "common/enum_names.h"

namespace affsig {
namespace {

constexpr EnumNames<SignatureDistance, 3> kDistanceNames = {{
    {SignatureDistance::kDtw, "dtw"},
    {SignatureDistance::kEuclidean, "euclidean"},
    {SignatureDistance::kCorrelation, "correlation"},
}};

constexpr EnumNames<Linkage, 4> kLinkageNames = {{
    {Linkage::kSingle, "single"},
    {Linkage::kComplete, "complete"},
    {Linkage::kAverage, "average"},
    {Linkage::kWard, "ward"},
}};

constexpr EnumNames<SignatureStatistic, 6> kStatisticNames = {{
    {SignatureStatistic::kMean, "mean"},
    {SignatureStatistic::kMedian, "median"},
    {SignatureStatistic::kStd, "std"},
    {SignatureStatistic::kMin, "min"},
    {SignatureStatistic::kMax, "max"},
    {SignatureStatistic::kRange, "range"},
}};

}  // namespace

absl::string_view SignatureDistanceName(SignatureDistance distance) {
  return NameOf(kDistanceNames, distance, "dtw");
}

absl::StatusOr<SignatureDistance> ParseSignatureDistance(absl::string_view name) {
  if (auto distance = ValueNamed(kDistanceNames, name)) return *distance;
  return absl::InvalidArgumentError(
      absl::StrCat("distance must be dtw, euclidean or correlation, not '", name, "'"));
}

absl::string_view LinkageName(Linkage linkage) { return NameOf(kLinkageNames, linkage, "average"); }

absl::StatusOr<Linkage> ParseLinkage(absl::string_view name) {
  if (auto linkage = ValueNamed(kLinkageNames, name)) return *linkage;
  return absl::InvalidArgumentError(
      absl::StrCat("linkage must be average, complete, single or ward, not '", name, "'"));
}

absl::string_view ComparedValueName(ComparedValue value) {
  const std::optional<Measure> measure = ComparedMeasure(value);
  return measure ? MeasureName(*measure) : "score";
}

absl::StatusOr<ComparedValue> ParseComparedValue(absl::string_view name) {
  if (name == "score") return ComparedValue::kScore;
  if (absl::StatusOr<Measure> measure = ParseMeasure(name); measure.ok()) {
    return static_cast<ComparedValue>(static_cast<int>(*measure) + 1);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("value must be score or a measure (shrinkage_score, cka, sparsity_before, "
                   "sparsity_after, entropy_before, entropy_after, norm, r2), not '",
                   name, "'"));
}

std::optional<Measure> ComparedMeasure(ComparedValue value) {
  // The measures follow the score in Measure order.
  if (value == ComparedValue::kScore) return std::nullopt;
  return static_cast<Measure>(static_cast<int>(value) - 1);
}

absl::string_view SignatureStatisticName(SignatureStatistic statistic) {
  return NameOf(kStatisticNames, statistic, "mean");
}

absl::StatusOr<SignatureStatistic> ParseSignatureStatistic(absl::string_view name) {
  if (auto statistic = ValueNamed(kStatisticNames, name)) return *statistic;
  return absl::InvalidArgumentError(absl::StrCat(
      "the statistic must be mean, median, std, min, max or range, not '", name, "'"));
}

}  // namespace affsig
