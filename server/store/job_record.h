// How the store keeps a job (common/job.h) in its tables, and the reading of jobs that the job
// queue and the signature store share: one job by id, with its labels and attempts, and filtered,
// paginated listings (newest first). Only the store serialises a job's spec.
#ifndef AFFSIG_SERVER_STORE_JOB_RECORD_H_
#define AFFSIG_SERVER_STORE_JOB_RECORD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/job.h"
#include "common/listing.h"
#include "server/store/database.h"

namespace affsig::store {

// A spec's data as the jobs table keeps it: an upload in input_sha256, any other source in
// data_source (KIND:LOCATION), preprocessing and batching in data_options (key=value,...).
struct DataColumns {
  std::string input_sha256;
  std::string data_source;
  std::string data_options;
};
DataColumns DataToColumns(const DataSpec& data);

// The job `id`; NOT_FOUND when there is none.
absl::StatusOr<Job> ReadJob(Database& db, absl::string_view id);

// One page of the jobs that `filter` selects, newest first.
absl::StatusOr<Page<Job>> ReadJobs(Database& db, const JobFilter& filter, const PageRequest& page);

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_JOB_RECORD_H_
