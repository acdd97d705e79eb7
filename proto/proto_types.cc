#include "proto/proto_types.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/error_reason.h"

namespace affsig {

v1::ActivationsMode ActivationModeToProto(ActivationMode mode) {
  return mode == ActivationMode::kAll ? v1::ALL : v1::MODULES;
}

ActivationMode ActivationModeFromProto(v1::ActivationsMode mode) {
  return mode == v1::ALL ? ActivationMode::kAll : ActivationMode::kModules;
}

v1::ForwardOptimization ForwardOptimizationToProto(ForwardOptimization optimization) {
  return optimization == ForwardOptimization::kOff ? v1::OPTIMIZE_OFF : v1::OPTIMIZE_AUTO;
}

ForwardOptimization ForwardOptimizationFromProto(v1::ForwardOptimization optimization) {
  return optimization == v1::OPTIMIZE_OFF ? ForwardOptimization::kOff : ForwardOptimization::kAuto;
}

v1::SignatureDistance SignatureDistanceToProto(SignatureDistance distance) {
  switch (distance) {
    case SignatureDistance::kDtw:
      return v1::DISTANCE_DTW;
    case SignatureDistance::kEuclidean:
      return v1::DISTANCE_EUCLIDEAN;
    case SignatureDistance::kCorrelation:
      return v1::DISTANCE_CORRELATION;
  }
  return v1::DISTANCE_DTW;
}

SignatureDistance SignatureDistanceFromProto(v1::SignatureDistance distance) {
  switch (distance) {
    case v1::DISTANCE_EUCLIDEAN:
      return SignatureDistance::kEuclidean;
    case v1::DISTANCE_CORRELATION:
      return SignatureDistance::kCorrelation;
    default:
      return SignatureDistance::kDtw;
  }
}

v1::Linkage LinkageToProto(Linkage linkage) {
  switch (linkage) {
    case Linkage::kSingle:
      return v1::LINKAGE_SINGLE;
    case Linkage::kComplete:
      return v1::LINKAGE_COMPLETE;
    case Linkage::kAverage:
      return v1::LINKAGE_AVERAGE;
    case Linkage::kWard:
      return v1::LINKAGE_WARD;
  }
  return v1::LINKAGE_AVERAGE;
}

Linkage LinkageFromProto(v1::Linkage linkage) {
  switch (linkage) {
    case v1::LINKAGE_SINGLE:
      return Linkage::kSingle;
    case v1::LINKAGE_COMPLETE:
      return Linkage::kComplete;
    case v1::LINKAGE_WARD:
      return Linkage::kWard;
    default:
      return Linkage::kAverage;
  }
}

v1::SignatureStatistic SignatureStatisticToProto(SignatureStatistic statistic) {
  switch (statistic) {
    case SignatureStatistic::kMean:
      return v1::STATISTIC_MEAN;
    case SignatureStatistic::kMedian:
      return v1::STATISTIC_MEDIAN;
    case SignatureStatistic::kStd:
      return v1::STATISTIC_STD;
    case SignatureStatistic::kMin:
      return v1::STATISTIC_MIN;
    case SignatureStatistic::kMax:
      return v1::STATISTIC_MAX;
    case SignatureStatistic::kRange:
      return v1::STATISTIC_RANGE;
  }
  return v1::STATISTIC_MEAN;
}

SignatureStatistic SignatureStatisticFromProto(v1::SignatureStatistic statistic) {
  switch (statistic) {
    case v1::STATISTIC_MEDIAN:
      return SignatureStatistic::kMedian;
    case v1::STATISTIC_STD:
      return SignatureStatistic::kStd;
    case v1::STATISTIC_MIN:
      return SignatureStatistic::kMin;
    case v1::STATISTIC_MAX:
      return SignatureStatistic::kMax;
    case v1::STATISTIC_RANGE:
      return SignatureStatistic::kRange;
    default:
      return SignatureStatistic::kMean;
  }
}

absl::StatusOr<DataSpec> DataSpecFromProto(const std::string& input_sha256,
                                           const std::string& data_source,
                                           const v1::DataOptions& options) {
  if (input_sha256.empty() == data_source.empty()) {
    return WithReason(absl::InvalidArgumentError(
                          "give the data as input_sha256 (an upload) or as data_source, one of "
                          "the two"),
                      reason::kInvalidDataSource);
  }
  DataSpec data;
  if (data_source.empty()) {
    data.kind = DataKind::kUpload;
    data.location = input_sha256;
  } else {
    auto parsed = ParseDataSource(data_source);
    if (!parsed.ok()) return WithReason(parsed.status(), reason::kInvalidDataSource);
    data = *std::move(parsed);
  }
  Batching& batching = data.batching;
  batching.batch_size = options.batch_size();
  batching.batches = options.batches();
  if (options.has_shuffle_seed()) batching.shuffle_seed = options.shuffle_seed();
  Preprocessing& pre = data.preprocessing;
  if (options.has_resize()) pre.resize = options.resize();
  if (options.has_crop()) pre.crop = options.crop();
  pre.mean.assign(options.mean().begin(), options.mean().end());
  pre.std.assign(options.std().begin(), options.std().end());
  pre.grayscale_to_rgb = options.grayscale_to_rgb();
  return data;
}

void DataSpecToProto(const DataSpec& data, std::string* input_sha256, std::string* data_source,
                     v1::DataOptions* options) {
  if (data.kind == DataKind::kUpload) {
    *input_sha256 = data.location;
  } else {
    *data_source = FormatDataSource(data);
  }
  options->set_batch_size(data.batching.batch_size);
  options->set_batches(data.batching.batches);
  if (data.batching.shuffle_seed) options->set_shuffle_seed(*data.batching.shuffle_seed);
  const Preprocessing& pre = data.preprocessing;
  if (pre.resize) options->set_resize(*pre.resize);
  if (pre.crop) options->set_crop(*pre.crop);
  options->mutable_mean()->Add(pre.mean.begin(), pre.mean.end());
  options->mutable_std()->Add(pre.std.begin(), pre.std.end());
  options->set_grayscale_to_rgb(pre.grayscale_to_rgb);
}

absl::StatusOr<MeasureSelection> MeasureSelectionFromProto(
    const google::protobuf::RepeatedPtrField<std::string>& names) {
  auto selection = ParseMeasureSelection({names.begin(), names.end()});
  if (!selection.ok()) return WithReason(selection.status(), reason::kInvalidMeasures);
  return selection;
}

void MeasureSelectionToProto(const MeasureSelection& selection,
                             google::protobuf::RepeatedPtrField<std::string>* names) {
  for (std::string& name : MeasureSelectionNames(selection)) names->Add(std::move(name));
}

namespace {

// The fields of a measure's mean and spread, found by name so that the API's field names and
// MeasureName cannot disagree (proto_types_test checks that every measure has both).
const google::protobuf::FieldDescriptor* MeasureField(Measure measure, absl::string_view suffix) {
  return v1::SignatureEntry::descriptor()->FindFieldByName(
      absl::StrCat(MeasureName(measure), suffix));
}

}  // namespace

void EntryToProto(const SignatureEntry& entry, v1::SignatureEntry* proto) {
  proto->set_index(entry.index);
  proto->set_module(entry.module);
  proto->set_call(entry.call);
  proto->set_op(entry.op);
  proto->set_d(entry.d);
  proto->set_n(entry.n);
  proto->set_status(std::string(EntryStatusName(entry.status)));
  proto->set_reason(entry.reason);
  proto->set_batches(entry.batches);
  if (entry.status == EntryStatus::kOk) {
    proto->set_score(entry.score);
    proto->set_std(entry.score_std);
    proto->set_min(entry.score_min);
    proto->set_max(entry.score_max);
  }
  proto->mutable_batch_scores()->Add(entry.batch_scores.begin(), entry.batch_scores.end());
  const google::protobuf::Reflection* reflection = proto->GetReflection();
  for (const MeasureValue& value : entry.measures) {
    reflection->SetDouble(proto, MeasureField(value.measure, ""), value.mean);
    reflection->SetDouble(proto, MeasureField(value.measure, "_std"), value.std);
  }
}

SignatureEntry EntryFromProto(const v1::SignatureEntry& proto) {
  SignatureEntry entry;
  entry.index = proto.index();
  entry.module = proto.module();
  entry.call = proto.call();
  entry.op = proto.op();
  entry.d = proto.d();
  entry.n = proto.n();
  entry.status = ParseEntryStatus(proto.status()).value_or(EntryStatus::kFailed);
  entry.reason = proto.reason();
  entry.batches = proto.batches();
  entry.score = proto.score();  // meaningful only when the status is ok
  entry.score_std = proto.std();
  entry.score_min = proto.min();
  entry.score_max = proto.max();
  entry.batch_scores.assign(proto.batch_scores().begin(), proto.batch_scores().end());
  const google::protobuf::Reflection* reflection = proto.GetReflection();
  for (int m = 0; m < kMeasureCount; ++m) {
    const auto measure = static_cast<Measure>(m);
    const google::protobuf::FieldDescriptor* mean = MeasureField(measure, "");
    if (!reflection->HasField(proto, mean)) continue;
    entry.measures.push_back({measure, reflection->GetDouble(proto, mean),
                              reflection->GetDouble(proto, MeasureField(measure, "_std"))});
  }
  return entry;
}

}  // namespace affsig
