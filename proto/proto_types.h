// affsig's own types <-> their protos, for the edges that speak gRPC: the server's adapters and
// the worker. Conversions from protos parse what the text fields say (a data source's
// KIND:LOCATION) but check nothing else: the server's core checks a job where it enters.
#ifndef AFFSIG_PROTO_PROTO_TYPES_H_
#define AFFSIG_PROTO_PROTO_TYPES_H_

#include <string>

#include "absl/status/statusor.h"
#include "affsig/v1/signature_service.pb.h"
#include "common/analysis_options.h"
#include "common/data_spec.h"
#include "common/job.h"
#include "common/measures.h"
#include "common/signature.h"

namespace affsig {

v1::ActivationsMode ActivationModeToProto(ActivationMode mode);
ActivationMode ActivationModeFromProto(v1::ActivationsMode mode);
v1::ForwardOptimization ForwardOptimizationToProto(ForwardOptimization optimization);
ForwardOptimization ForwardOptimizationFromProto(v1::ForwardOptimization optimization);
// The analyses' choices; an unspecified one is the default (dtw, average, mean).
v1::SignatureDistance SignatureDistanceToProto(SignatureDistance distance);
SignatureDistance SignatureDistanceFromProto(v1::SignatureDistance distance);
v1::Linkage LinkageToProto(Linkage linkage);
Linkage LinkageFromProto(v1::Linkage linkage);
v1::SignatureStatistic SignatureStatisticToProto(SignatureStatistic statistic);
SignatureStatistic SignatureStatisticFromProto(v1::SignatureStatistic statistic);

// The data of a job: an upload (input_sha256) or a source (data_source), one of the two, with
// its options on top. INVALID_ARGUMENT (reason INVALID_DATA_SOURCE) for both or neither, or a
// source that does not parse.
absl::StatusOr<DataSpec> DataSpecFromProto(const std::string& input_sha256,
                                           const std::string& data_source,
                                           const v1::DataOptions& options);
// The inverse: fills whichever of `input_sha256` and `data_source` the kind uses, and `options`.
void DataSpecToProto(const DataSpec& data, std::string* input_sha256, std::string* data_source,
                     v1::DataOptions* options);

// The companion measures a job asks for, by name (SubmitJobRequest.measures, Job.measures,
// LeasedJob.measures). INVALID_ARGUMENT (reason INVALID_MEASURES) for an unknown name.
absl::StatusOr<MeasureSelection> MeasureSelectionFromProto(
    const google::protobuf::RepeatedPtrField<std::string>& names);
void MeasureSelectionToProto(const MeasureSelection& selection,
                             google::protobuf::RepeatedPtrField<std::string>* names);

// An entry's measures lie in the SignatureEntry fields named as the measures (MeasureName) and
// their spread in NAME_std.
void EntryToProto(const SignatureEntry& entry, v1::SignatureEntry* proto);
SignatureEntry EntryFromProto(const v1::SignatureEntry& proto);

}  // namespace affsig

#endif  // AFFSIG_PROTO_PROTO_TYPES_H_
