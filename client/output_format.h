// How the client prints the API's objects: an aligned table for people, JSON and CSV for tools.
// JSON numbers are numbers (int64 included) and field names are the API's, so scripts can rely
// on `job_id`, `state` and, for results, `signature`.
#ifndef AFFSIG_CLIENT_OUTPUT_FORMAT_H_
#define AFFSIG_CLIENT_OUTPUT_FORMAT_H_

#include <string>
#include <vector>

#include "affsig/v1/signature_service.pb.h"
#include "common/signature.h"
#include "common/signature_format.h"

namespace affsig::client {

// The job as one JSON object.
std::string JobJson(const v1::Job& job);
// status: a field list (table), an object (JSON) or a header and one line (CSV).
std::string FormatJob(const v1::Job& job, OutputFormat format);
// list: one row per job (table, CSV) or a JSON array of job objects (with their signature's
// summary once SUCCEEDED); `statistics` adds the summary's columns to the table and CSV.
std::string FormatJobs(const std::vector<v1::Job>& jobs, OutputFormat format, bool statistics);
// result: the signature's entries (table, then its statistics; CSV), or the job object with its
// `summary` and a `signature` array (JSON).
std::string FormatResult(const v1::Signature& signature, OutputFormat format);
std::string FormatModels(const std::vector<v1::Blob>& models, OutputFormat format);
std::string FormatServerInfo(const v1::ServerInfo& info, OutputFormat format);

// The entries of a signature message.
Signature EntriesFromProto(const v1::Signature& proto);

}  // namespace affsig::client

#endif  // AFFSIG_CLIENT_OUTPUT_FORMAT_H_
