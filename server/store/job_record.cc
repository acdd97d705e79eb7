#include "server/store/job_record.h"

#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/enum_names.h"
#include "common/error_reason.h"

namespace affsig::store {
namespace {

constexpr EnumNames<JobState, 5> kStateNames = {{
    {JobState::kQueued, "QUEUED"},
    {JobState::kRunning, "RUNNING"},
    {JobState::kSucceeded, "SUCCEEDED"},
    {JobState::kFailed, "FAILED"},
    {JobState::kCancelled, "CANCELLED"},
}};

constexpr char kJobColumns[] =
    "id, name, model_sha256, input_sha256, activations, priority, state, attempts, error, "
    "created_at, COALESCE(started_at, 0), COALESCE(finished_at, 0), seq, data_source, data_options";

Job JobFromRow(const Statement& row) {
  Job job;
  job.id = row.Text(0);
  job.spec.name = row.Text(1);
  job.spec.model_sha256 = row.Text(2);
  job.spec.input_sha256 = row.Text(3);
  job.spec.activations = row.Text(4);
  job.spec.priority = row.Int(5);
  job.state = ParseJobState(row.Text(6)).value_or(JobState::kFailed);
  job.attempts = row.Int(7);
  job.error = row.Text(8);
  job.created_at_ms = row.Int(9);
  job.started_at_ms = row.Int(10);
  job.finished_at_ms = row.Int(11);
  job.spec.data_source = row.Text(13);
  job.spec.data_options = row.Text(14);
  return job;
}

absl::Status ReadLabels(Database& db, Job& job) {
  auto labels = db.Prepare("SELECT key, value FROM job_labels WHERE job_id = ? ORDER BY key");
  if (!labels.ok()) return labels.status();
  (*labels)->Bind(1, job.id);
  while ((*labels)->Step()) job.spec.labels[(*labels)->Text(0)] = (*labels)->Text(1);
  return (*labels)->status();
}

// A WHERE clause and the values of its placeholders, in order.
struct Conditions {
  std::vector<std::string> clauses;
  std::vector<std::variant<std::string, int64_t>> values;

  void Add(std::string clause, std::variant<std::string, int64_t> value) {
    clauses.push_back(std::move(clause));
    values.push_back(std::move(value));
  }
  std::string Sql() const {
    return clauses.empty() ? "" : absl::StrCat(" WHERE ", absl::StrJoin(clauses, " AND "));
  }
  // Binds from position 1 on; returns the next free position.
  int Bind(Statement& statement) const {
    int position = 1;
    for (const auto& value : values) {
      std::visit([&](const auto& v) { statement.Bind(position++, v); }, value);
    }
    return position;
  }
};

Conditions FilterConditions(const JobFilter& filter) {
  Conditions conditions;
  if (filter.state) conditions.Add("state = ?", std::string(JobStateName(*filter.state)));
  if (!filter.model_sha256.empty()) conditions.Add("model_sha256 = ?", filter.model_sha256);
  if (!filter.name.empty()) conditions.Add("name = ?", filter.name);
  if (filter.created_after_ms > 0) conditions.Add("created_at >= ?", filter.created_after_ms);
  if (filter.created_before_ms > 0) conditions.Add("created_at < ?", filter.created_before_ms);
  for (const LabelFilter& label : filter.labels) {
    if (label.value) {
      conditions.clauses.push_back(
          "EXISTS (SELECT 1 FROM job_labels l WHERE l.job_id = jobs.id AND l.key = ? AND "
          "l.value = ?)");
      conditions.values.push_back(label.key);
      conditions.values.push_back(*label.value);
    } else {
      conditions.Add("EXISTS (SELECT 1 FROM job_labels l WHERE l.job_id = jobs.id AND l.key = ?)",
                     label.key);
    }
  }
  return conditions;
}

// The filter in a canonical text form, for page tokens.
std::string FilterKey(const JobFilter& filter) {
  std::string key =
      absl::StrCat("state=", filter.state ? JobStateName(*filter.state) : "",
                   "\nmodel=", filter.model_sha256, "\nname=", filter.name,
                   "\nafter=", filter.created_after_ms, "\nbefore=", filter.created_before_ms);
  for (const LabelFilter& label : filter.labels) {
    absl::StrAppend(&key, "\nlabel=", label.key, label.value ? "=" + *label.value : "");
  }
  return key;
}

}  // namespace

absl::string_view JobStateName(JobState state) { return NameOf(kStateNames, state, "UNKNOWN"); }

absl::StatusOr<JobState> ParseJobState(absl::string_view name) {
  if (auto state = ValueNamed(kStateNames, name)) return *state;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown job state '", name, "': use QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED"));
}

bool IsFinal(JobState state) { return state != JobState::kQueued && state != JobState::kRunning; }

absl::StatusOr<LabelFilter> ParseLabelFilter(absl::string_view text) {
  const size_t equals = text.find('=');
  LabelFilter filter;
  filter.key = std::string(text.substr(0, equals));
  if (filter.key.empty()) {
    return WithReason(absl::InvalidArgumentError(
                          absl::StrCat("a label filter is key=value or key, got '", text, "'")),
                      reason::kInvalidLabel);
  }
  if (equals != absl::string_view::npos) filter.value = std::string(text.substr(equals + 1));
  return filter;
}

absl::StatusOr<Job> ReadJob(Database& db, absl::string_view id) {
  auto select = db.Prepare(absl::StrCat("SELECT ", kJobColumns, " FROM jobs WHERE id = ?"));
  if (!select.ok()) return select.status();
  (*select)->Bind(1, id);
  if (!(*select)->Step()) {
    if (!(*select)->status().ok()) return (*select)->status();
    return WithReason(absl::NotFoundError(absl::StrCat("no job '", id, "' on this server")),
                      reason::kJobNotFound);
  }
  Job job = JobFromRow(**select);
  if (absl::Status labels = ReadLabels(db, job); !labels.ok()) return labels;
  return job;
}

absl::StatusOr<Page<Job>> ReadJobs(Database& db, const JobFilter& filter, const PageRequest& page) {
  const std::string filter_key = FilterKey(filter);
  auto start = StartPage(page, filter_key);
  if (!start.ok()) return start.status();
  Conditions conditions = FilterConditions(filter);
  if (start->before_seq) conditions.Add("seq < ?", *start->before_seq);
  auto select = db.Prepare(absl::StrCat("SELECT ", kJobColumns, " FROM jobs", conditions.Sql(),
                                        " ORDER BY seq DESC LIMIT ?"));
  if (!select.ok()) return select.status();
  // One row more than the page tells whether another page follows.
  (*select)->Bind(conditions.Bind(**select), static_cast<int64_t>(start->size) + 1);
  auto result = ReadPage<Job>(**select, *start, 12, filter_key, JobFromRow);
  if (!result.ok()) return result.status();
  for (Job& job : result->items) {
    if (absl::Status labels = ReadLabels(db, job); !labels.ok()) return labels;
  }
  return result;
}

}  // namespace affsig::store
