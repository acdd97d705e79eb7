// A job as the store keeps it, and the reading of jobs from the database that the job queue and
// the signature store share: one job by id, and filtered, paginated listings (newest first).
#ifndef AFFSIG_SERVER_STORE_JOB_RECORD_H_
#define AFFSIG_SERVER_STORE_JOB_RECORD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/database.h"
#include "server/store/page_token.h"

namespace affsig::store {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

absl::string_view JobStateName(JobState state);
absl::StatusOr<JobState> ParseJobState(absl::string_view name);
bool IsFinal(JobState state);

struct JobSpec {
  std::string name;
  std::string model_sha256;
  std::string input_sha256;             // the uploaded batch; "" when data_source names the data
  std::string data_source;              // KIND:LOCATION (common/data_spec.h); "" for input_sha256
  std::string data_options;             // preprocessing and batching, key=value,...
  std::string activations = "modules";  // "modules" or "all"
  int64_t priority = 0;                 // higher runs first
  std::map<std::string, std::string> labels;
};

struct Job {
  std::string id;
  JobSpec spec;
  JobState state = JobState::kQueued;
  int64_t attempts = 0;
  std::string error;
  int64_t created_at_ms = 0;
  int64_t started_at_ms = 0;   // 0 until a worker takes it
  int64_t finished_at_ms = 0;  // 0 until it ends
};

struct LabelFilter {
  std::string key;
  std::optional<std::string> value;  // nullopt: any value
};

// "key=value", or "key" for any value.
absl::StatusOr<LabelFilter> ParseLabelFilter(absl::string_view text);

// Conditions that combine with AND; empty fields do not filter.
struct JobFilter {
  std::optional<JobState> state;
  std::string model_sha256;
  std::string name;
  std::vector<LabelFilter> labels;
  int64_t created_after_ms = 0;   // inclusive
  int64_t created_before_ms = 0;  // exclusive
};

// The job `id`; NOT_FOUND when there is none.
absl::StatusOr<Job> ReadJob(Database& db, absl::string_view id);

// One page of the jobs that `filter` selects, newest first.
absl::StatusOr<Page<Job>> ReadJobs(Database& db, const JobFilter& filter, const PageRequest& page);

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_JOB_RECORD_H_
