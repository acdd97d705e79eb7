#include "server/store/job_record.h"

#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/error_reason.h"
#include "common/status_macros.h"
#include "server/store/page_token.h"
#include "server/store/signature_record.h"

namespace affsig::store {
namespace {

constexpr char kJobColumns[] =
    "id, name, model_sha256, input_sha256, activations, priority, state, attempts, error, "
    "created_at, COALESCE(started_at, 0), COALESCE(finished_at, 0), seq, data_source, "
    "data_options, timeout_ms, cancel_requested, request_id, optimize, measures, owner";
constexpr int kSeqColumn = 12;

// Written by this server (or an older one), so the columns parse; a row that does not is shown
// with what could be read rather than hiding the job.
DataSpec DataFromColumns(const std::string& input_sha256, const std::string& data_source,
                         const std::string& data_options) {
  DataSpec data;
  if (data_source.empty()) {
    data.kind = DataKind::kUpload;
    data.location = input_sha256;
  } else if (auto parsed = ParseDataSource(data_source); parsed.ok()) {
    data = *std::move(parsed);
  }
  ParseDataOptions(data_options, data).IgnoreError();
  return data;
}

Job JobFromRow(const Statement& row) {
  Job job;
  job.id = row.Text(0);
  job.spec.name = row.Text(1);
  job.spec.model_sha256 = row.Text(2);
  job.spec.activations = ParseActivationMode(row.Text(4)).value_or(ActivationMode::kModules);
  job.spec.priority = row.Int(5);
  job.state = ParseJobState(row.Text(6)).value_or(JobState::kFailed);
  job.attempts = row.Int(7);
  job.error = row.Text(8);
  job.created_at_ms = row.Int(9);
  job.started_at_ms = row.Int(10);
  job.finished_at_ms = row.Int(11);
  job.spec.data = DataFromColumns(row.Text(3), row.Text(13), row.Text(14));
  job.spec.timeout = absl::Milliseconds(row.Int(15));
  job.cancel_requested = row.Int(16) != 0;
  job.spec.request_id = row.Text(17);
  job.spec.optimize = ParseForwardOptimization(row.Text(18)).value_or(ForwardOptimization::kAuto);
  job.spec.measures = ParseMeasureList(row.Text(19)).value_or(MeasureSelection());
  job.owner = row.Text(20);
  return job;
}

// The labels, attempts and signature summary of a job read from the jobs table.
absl::Status ReadDetails(Database& db, Job& job) {
  ASSIGN_OR_RETURN(auto labels,
                   db.Prepare("SELECT key, value FROM job_labels WHERE job_id = ? ORDER BY key"));
  labels->Bind(1, job.id);
  while (labels->Step()) job.spec.labels[labels->Text(0)] = labels->Text(1);
  RETURN_IF_ERROR(labels->status());
  ASSIGN_OR_RETURN(auto attempts,
                   db.Prepare("SELECT attempt, worker, device, started_at, COALESCE(ended_at, 0), "
                              "outcome, reason FROM job_attempts WHERE job_id = ? ORDER BY "
                              "attempt"));
  attempts->Bind(1, job.id);
  while (attempts->Step()) {
    JobAttempt& attempt = job.history.emplace_back();
    attempt.number = attempts->Int(0);
    attempt.worker = attempts->Text(1);
    attempt.device = attempts->Text(2);
    attempt.started_at_ms = attempts->Int(3);
    attempt.ended_at_ms = attempts->Int(4);
    if (!attempts->IsNull(5)) {
      if (auto outcome = ParseAttemptOutcome(attempts->Text(5)); outcome.ok()) {
        attempt.outcome = *outcome;
      }
    }
    attempt.reason = attempts->Text(6);
  }
  RETURN_IF_ERROR(attempts->status());
  if (job.state != JobState::kSucceeded) return absl::OkStatus();
  ASSIGN_OR_RETURN(job.summary, ReadSignatureSummary(db, job.id));
  return absl::OkStatus();
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
  if (!filter.owner.empty()) conditions.Add("owner = ?", filter.owner);
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
  // Only when set: tokens of listings from before owners existed stay valid.
  if (!filter.owner.empty()) absl::StrAppend(&key, "\nowner=", filter.owner);
  for (const LabelFilter& label : filter.labels) {
    absl::StrAppend(&key, "\nlabel=", label.key, label.value ? "=" + *label.value : "");
  }
  return key;
}

}  // namespace

DataColumns DataToColumns(const DataSpec& data) {
  DataColumns columns;
  if (data.kind == DataKind::kUpload) {
    columns.input_sha256 = data.location;
  } else {
    columns.data_source = FormatDataSource(data);
  }
  columns.data_options = FormatDataOptions(data);
  return columns;
}

absl::StatusOr<Job> ReadJob(Database& db, absl::string_view id) {
  ASSIGN_OR_RETURN(auto select,
                   db.Prepare(absl::StrCat("SELECT ", kJobColumns, " FROM jobs WHERE id = ?")));
  select->Bind(1, id);
  if (!select->Step()) {
    RETURN_IF_ERROR(select->status());
    return WithReason(absl::NotFoundError(absl::StrCat("no job '", id, "' on this server")),
                      reason::kJobNotFound);
  }
  Job job = JobFromRow(*select);
  RETURN_IF_ERROR(ReadDetails(db, job));
  return job;
}

absl::StatusOr<Page<Job>> ReadJobs(Database& db, const JobFilter& filter, const PageRequest& page) {
  const std::string filter_key = FilterKey(filter);
  ASSIGN_OR_RETURN(PageStart start, StartPage(page, filter_key));
  Conditions conditions = FilterConditions(filter);
  if (start.before_seq) conditions.Add("seq < ?", *start.before_seq);
  ASSIGN_OR_RETURN(auto select,
                   db.Prepare(absl::StrCat("SELECT ", kJobColumns, " FROM jobs", conditions.Sql(),
                                           " ORDER BY seq DESC LIMIT ?")));
  // One row more than the page tells whether another page follows.
  select->Bind(conditions.Bind(*select), static_cast<int64_t>(start.size) + 1);
  ASSIGN_OR_RETURN(Page<Job> result,
                   ReadPage<Job>(*select, start, kSeqColumn, filter_key, JobFromRow));
  for (Job& job : result.items) RETURN_IF_ERROR(ReadDetails(db, job));
  return result;
}

}  // namespace affsig::store
