#include "client/output_format.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/table_format.h"
#include "proto/proto_types.h"

namespace affsig::client {
namespace {

std::string StateName(v1::JobState state) { return v1::JobState_Name(state); }

// Local time to the second; "-" for a time that has not happened.
std::string TimeText(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms),
                          absl::LocalTimeZone());
}

std::string LabelsText(const v1::Job& job) {
  std::vector<std::string> labels;
  for (const auto& [key, value] : job.labels()) labels.push_back(absl::StrCat(key, "=", value));
  std::sort(labels.begin(), labels.end());
  return absl::StrJoin(labels, ",");
}

std::string ProgressText(const v1::Job& job) {
  if (!job.has_progress() || job.progress().total() == 0) return "-";
  return absl::StrCat(job.progress().done(), "/", job.progress().total());
}

std::string JsonObject(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : fields)
    parts.push_back(absl::StrCat(JsonQuote(name), ": ", value));
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

std::string JsonArray(const std::vector<std::string>& items) {
  if (items.empty()) return "[]";
  return absl::StrCat("[\n  ", absl::StrJoin(items, ",\n  "), "\n]");
}

std::string NumbersJson(const google::protobuf::RepeatedField<double>& values) {
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

std::string DataOptionsJson(const v1::DataOptions& options) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"batch_size", absl::StrCat(options.batch_size())},
      {"batches", absl::StrCat(options.batches())}};
  if (options.has_shuffle_seed()) {
    fields.emplace_back("shuffle_seed", absl::StrCat(options.shuffle_seed()));
  }
  if (options.has_resize()) fields.emplace_back("resize", absl::StrCat(options.resize()));
  if (options.has_crop()) fields.emplace_back("crop", absl::StrCat(options.crop()));
  fields.emplace_back("mean", NumbersJson(options.mean()));
  fields.emplace_back("std", NumbersJson(options.std()));
  fields.emplace_back("grayscale_to_rgb", options.grayscale_to_rgb() ? "true" : "false");
  return JsonObject(fields);
}

// Where the samples came from, for people: the source (or the upload) and the options.
std::string DataText(const v1::Job& job) {
  std::string text =
      job.data_source().empty() ? absl::StrCat("upload:", job.input_sha256()) : job.data_source();
  const v1::DataOptions& options = job.data_options();
  if (options.batch_size() > 0) absl::StrAppend(&text, " batch_size=", options.batch_size());
  if (options.batches() > 0) absl::StrAppend(&text, " batches=", options.batches());
  if (options.has_shuffle_seed()) absl::StrAppend(&text, " shuffle_seed=", options.shuffle_seed());
  if (options.resize() > 0) absl::StrAppend(&text, " resize=", options.resize());
  if (options.crop() > 0) absl::StrAppend(&text, " crop=", options.crop());
  if (options.mean_size() > 0) {
    absl::StrAppend(&text, " mean=", absl::StrJoin(options.mean(), "/"),
                    " std=", absl::StrJoin(options.std(), "/"));
  }
  return text;
}

std::string AttemptsJson(const v1::Job& job) {
  std::vector<std::string> attempts;
  for (const v1::JobAttempt& attempt : job.attempt_history()) {
    attempts.push_back(JsonObject({{"attempt", absl::StrCat(attempt.attempt())},
                                   {"worker", JsonQuote(attempt.worker())},
                                   {"device", JsonQuote(attempt.device())},
                                   {"started_at_ms", absl::StrCat(attempt.started_at_ms())},
                                   {"ended_at_ms", absl::StrCat(attempt.ended_at_ms())},
                                   {"outcome", JsonQuote(attempt.outcome())},
                                   {"reason", JsonQuote(attempt.reason())}}));
  }
  return absl::StrCat("[", absl::StrJoin(attempts, ", "), "]");
}

// The statistic fields are unset when no entry was scored: null, not 0.
std::string SummaryJson(const v1::SignatureSummary& summary) {
  const bool scored = summary.scored() > 0;
  auto number = [scored](double value) { return scored ? JsonNumber(value) : "null"; };
  return JsonObject({{"entries", absl::StrCat(summary.entries())},
                     {"scored", absl::StrCat(summary.scored())},
                     {"mean", number(summary.mean_score())},
                     {"median", number(summary.median_score())},
                     {"std", number(summary.std_score())},
                     {"min", number(summary.min_score())},
                     {"max", number(summary.max_score())},
                     {"range", number(summary.score_range())},
                     {"lowest_depth", number(summary.lowest_score_depth())}});
}

// mean, median, std, min, max, range, lowest_depth: "-" before a job succeeds or when nothing
// was scored.
std::vector<std::string> SummaryCells(const v1::Job& job, const char* format) {
  const v1::SignatureSummary& summary = job.summary();
  if (!job.has_summary() || summary.scored() == 0) return std::vector<std::string>(7, "-");
  std::vector<std::string> cells;
  for (double value :
       {summary.mean_score(), summary.median_score(), summary.std_score(), summary.min_score(),
        summary.max_score(), summary.score_range(), summary.lowest_score_depth()}) {
    cells.push_back(absl::StrFormat(format, value));
  }
  return cells;
}

std::string SummaryText(const v1::SignatureSummary& summary) {
  std::string text = absl::StrCat(summary.scored(), " of ", summary.entries(), " entries scored");
  if (summary.scored() == 0) return text;
  return absl::StrCat(
      text, absl::StrFormat(": mean %.4f, median %.4f, std %.4f, min %.4f, max %.4f, range "
                            "%.4f, lowest at depth %.2f",
                            summary.mean_score(), summary.median_score(), summary.std_score(),
                            summary.min_score(), summary.max_score(), summary.score_range(),
                            summary.lowest_score_depth()));
}

const std::vector<std::string> kSummaryColumns = {"mean", "median", "std",         "min",
                                                  "max",  "range",  "lowest_depth"};

std::vector<std::pair<std::string, std::string>> JobJsonFields(const v1::Job& job) {
  std::vector<std::pair<std::string, std::string>> labels;
  for (const auto& [key, value] : job.labels()) labels.emplace_back(key, JsonQuote(value));
  std::sort(labels.begin(), labels.end());
  std::vector<std::pair<std::string, std::string>> fields = {
      {"job_id", JsonQuote(job.job_id())},
      {"state", JsonQuote(StateName(job.state()))},
      {"owner", JsonQuote(job.owner())},
      {"name", JsonQuote(job.name())},
      {"model_sha256", JsonQuote(job.model_sha256())},
      {"input_sha256", JsonQuote(job.input_sha256())},
      {"data_source", JsonQuote(job.data_source())},
      {"data_options", DataOptionsJson(job.data_options())},
      {"activations", JsonQuote(job.activations() == v1::ALL ? "all" : "modules")},
      {"optimize", JsonQuote(job.optimize() == v1::OPTIMIZE_OFF ? "off" : "auto")},
      {"labels", JsonObject(labels)},
      {"priority", absl::StrCat(job.priority())},
      {"timeout_seconds", absl::StrCat(job.timeout_seconds())},
      {"attempts", absl::StrCat(job.attempts())},
      {"attempt_history", AttemptsJson(job)},
      {"cancel_requested", job.cancel_requested() ? "true" : "false"},
      {"error", JsonQuote(job.error())},
      {"created_at_ms", absl::StrCat(job.created_at_ms())},
      {"started_at_ms", absl::StrCat(job.started_at_ms())},
      {"finished_at_ms", absl::StrCat(job.finished_at_ms())},
  };
  if (!job.worker().empty()) fields.emplace_back("worker", JsonQuote(job.worker()));
  if (job.has_progress()) {
    fields.emplace_back("progress",
                        JsonObject({{"done", absl::StrCat(job.progress().done())},
                                    {"total", absl::StrCat(job.progress().total())},
                                    {"activation", JsonQuote(job.progress().activation())},
                                    {"batch", absl::StrCat(job.progress().batch())},
                                    {"batches", absl::StrCat(job.progress().batches())}}));
    fields.emplace_back("device", JsonQuote(job.device()));
  }
  if (job.has_summary()) fields.emplace_back("summary", SummaryJson(job.summary()));
  if (job.measures_size() > 0) {
    std::vector<std::string> measures;
    for (const std::string& measure : job.measures()) measures.push_back(JsonQuote(measure));
    fields.emplace_back("measures", absl::StrCat("[", absl::StrJoin(measures, ", "), "]"));
  }
  return fields;
}

TextTable JobsTable(const std::vector<v1::Job>& jobs, bool statistics) {
  TextTable table;
  table.header = {"job_id", "state", "progress", "created", "owner", "name", "labels"};
  table.right_aligned = {false, false, true, false, false, false, false};
  if (statistics) {
    table.header.insert(table.header.end(), kSummaryColumns.begin(), kSummaryColumns.end());
    table.right_aligned.resize(table.header.size(), true);
  }
  for (const v1::Job& job : jobs) {
    std::vector<std::string> row = {job.job_id(),      StateName(job.state()),
                                    ProgressText(job), TimeText(job.created_at_ms()),
                                    job.owner(),       job.name(),
                                    LabelsText(job)};
    if (statistics) {
      std::vector<std::string> cells = SummaryCells(job, "%.4f");
      row.insert(row.end(), cells.begin(), cells.end());
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

TextTable JobsCsv(const std::vector<v1::Job>& jobs, bool statistics) {
  TextTable table;
  table.header = {"job_id",        "state",          "owner",    "name",
                  "model_sha256",  "activations",    "priority", "attempts",
                  "created_at_ms", "finished_at_ms", "labels",   "error"};
  if (statistics) {
    table.header.push_back("scored");
    table.header.insert(table.header.end(), kSummaryColumns.begin(), kSummaryColumns.end());
  }
  for (const v1::Job& job : jobs) {
    std::vector<std::string> row = {job.job_id(),
                                    StateName(job.state()),
                                    job.owner(),
                                    job.name(),
                                    job.model_sha256(),
                                    job.activations() == v1::ALL ? "all" : "modules",
                                    absl::StrCat(job.priority()),
                                    absl::StrCat(job.attempts()),
                                    absl::StrCat(job.created_at_ms()),
                                    absl::StrCat(job.finished_at_ms()),
                                    LabelsText(job),
                                    job.error()};
    if (statistics) {
      row.push_back(job.has_summary() ? absl::StrCat(job.summary().scored()) : "");
      std::vector<std::string> cells = SummaryCells(job, "%.17g");
      for (std::string& cell : cells) row.push_back(cell == "-" ? "" : std::move(cell));
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string DataRootsJson(const v1::ServerInfo& info) {
  std::vector<std::string> roots;
  for (const std::string& root : info.data_roots()) roots.push_back(JsonQuote(root));
  return absl::StrCat("[", absl::StrJoin(roots, ", "), "]");
}

}  // namespace

std::string JobJson(const v1::Job& job) { return JsonObject(JobJsonFields(job)); }

std::string FormatJob(const v1::Job& job, OutputFormat format) {
  if (format == OutputFormat::kJson) return JobJson(job) + "\n";
  if (format == OutputFormat::kCsv) return RenderCsv(JobsCsv({job}, job.has_summary()));
  TextTable table;
  table.header = {"job_id", job.job_id()};
  table.rows = {{"state", StateName(job.state())},
                {"owner", job.owner()},
                {"name", job.name()},
                {"model", job.model_sha256()},
                {"data", DataText(job)},
                {"activations", job.activations() == v1::ALL ? "all" : "modules"},
                {"optimize", job.optimize() == v1::OPTIMIZE_OFF ? "off" : "auto"},
                {"labels", LabelsText(job)},
                {"priority", absl::StrCat(job.priority())},
                {"timeout", absl::StrCat(job.timeout_seconds(), " s")},
                {"attempts", absl::StrCat(job.attempts())},
                {"created", TimeText(job.created_at_ms())},
                {"started", TimeText(job.started_at_ms())},
                {"finished", TimeText(job.finished_at_ms())}};
  if (job.measures_size() > 0) {
    table.rows.push_back({"measures", absl::StrJoin(job.measures(), ",")});
  }
  if (!job.worker().empty()) {
    table.rows.push_back({"worker", absl::StrCat(job.worker(), " (", job.device(), ")")});
  }
  if (job.has_progress()) {
    table.rows.push_back(
        {"progress", absl::StrCat(ProgressText(job), " ", job.progress().activation())});
  }
  if (job.cancel_requested()) table.rows.push_back({"cancel", "requested"});
  for (const v1::JobAttempt& attempt : job.attempt_history()) {
    table.rows.push_back(
        {absl::StrCat("attempt ", attempt.attempt()),
         absl::StrCat(attempt.worker(), " ", TimeText(attempt.started_at_ms()), " ",
                      attempt.outcome().empty() ? "RUNNING" : attempt.outcome(),
                      attempt.reason().empty() ? "" : ": " + attempt.reason())});
  }
  if (!job.error().empty()) table.rows.push_back({"error", job.error()});
  if (job.has_summary()) table.rows.push_back({"statistics", SummaryText(job.summary())});
  return RenderAligned(table);
}

std::string FormatJobs(const std::vector<v1::Job>& jobs, OutputFormat format, bool statistics) {
  if (format == OutputFormat::kJson) {
    std::vector<std::string> objects;
    for (const v1::Job& job : jobs) objects.push_back(JobJson(job));
    return JsonArray(objects) + "\n";
  }
  if (format == OutputFormat::kCsv) return RenderCsv(JobsCsv(jobs, statistics));
  return RenderAligned(JobsTable(jobs, statistics));
}

Signature EntriesFromProto(const v1::Signature& proto) {
  Signature signature;
  for (const v1::SignatureEntry& entry : proto.entries())
    signature.push_back(EntryFromProto(entry));
  return signature;
}

std::string FormatResult(const v1::Signature& signature, OutputFormat format) {
  const Signature entries = EntriesFromProto(signature);
  if (format == OutputFormat::kTable && signature.job().has_summary()) {
    return absl::StrCat(FormatSignature(entries, format), SummaryText(signature.job().summary()),
                        "\n");
  }
  if (format != OutputFormat::kJson) return FormatSignature(entries, format);
  auto fields = JobJsonFields(signature.job());
  fields.emplace_back("signature", FormatSignatureJson(entries));
  return JsonObject(fields) + "\n";
}

std::string FormatModels(const std::vector<v1::Blob>& models, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::vector<std::string> objects;
    for (const v1::Blob& model : models) {
      objects.push_back(JsonObject({{"sha256", JsonQuote(model.sha256())},
                                    {"size", absl::StrCat(model.size())},
                                    {"name", JsonQuote(model.name())},
                                    {"uploaded_at_ms", absl::StrCat(model.uploaded_at_ms())},
                                    {"job_count", absl::StrCat(model.job_count())}}));
    }
    return JsonArray(objects) + "\n";
  }
  TextTable table;
  table.header = {"sha256", "size", "jobs", "uploaded", "name"};
  table.right_aligned = {false, true, true};
  for (const v1::Blob& model : models) {
    table.rows.push_back({model.sha256(), absl::StrCat(model.size()),
                          absl::StrCat(model.job_count()),
                          format == OutputFormat::kCsv ? absl::StrCat(model.uploaded_at_ms())
                                                       : TimeText(model.uploaded_at_ms()),
                          model.name()});
  }
  return format == OutputFormat::kCsv ? RenderCsv(table) : RenderAligned(table);
}

std::string FormatServerInfo(const v1::ServerInfo& info, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::vector<std::string> workers;
    for (const v1::Worker& worker : info.workers()) {
      std::vector<std::string> roots;
      for (const std::string& root : worker.data_roots()) roots.push_back(JsonQuote(root));
      workers.push_back(
          JsonObject({{"name", JsonQuote(worker.name())},
                      {"device", JsonQuote(worker.device())},
                      {"job_id", JsonQuote(worker.job_id())},
                      {"host", JsonQuote(worker.host())},
                      {"pid", absl::StrCat(worker.pid())},
                      {"local", worker.local() ? "true" : "false"},
                      {"version", JsonQuote(worker.version())},
                      {"data_roots", absl::StrCat("[", absl::StrJoin(roots, ", "), "]")},
                      {"last_seen_ms", absl::StrCat(worker.last_seen_ms())}}));
    }
    return JsonObject({{"version", JsonQuote(info.version())},
                       {"workers", absl::StrCat("[", absl::StrJoin(workers, ", "), "]")},
                       {"queued_jobs", absl::StrCat(info.queued_jobs())},
                       {"running_jobs", absl::StrCat(info.running_jobs())},
                       {"max_upload_bytes", absl::StrCat(info.max_upload_bytes())},
                       {"started_at_ms", absl::StrCat(info.started_at_ms())},
                       {"data_roots", DataRootsJson(info)},
                       {"caller", JsonObject({{"user", JsonQuote(info.caller().user())},
                                              {"role", JsonQuote(info.caller().role())}})}}) +
           "\n";
  }
  TextTable table;
  table.header = {"version", info.version()};
  table.rows = {{"you are", absl::StrCat(info.caller().user(), " (", info.caller().role(), ")")},
                {"started", TimeText(info.started_at_ms())},
                {"queued jobs", absl::StrCat(info.queued_jobs())},
                {"running jobs", absl::StrCat(info.running_jobs())},
                {"max upload", absl::StrCat(info.max_upload_bytes() >> 20, " MiB")}};
  for (const v1::Worker& worker : info.workers()) {
    const std::string where = worker.last_seen_ms() == 0
                                  ? "starting"
                                  : absl::StrCat(worker.host(), " pid ", worker.pid());
    table.rows.push_back(
        {absl::StrCat("worker ", worker.name()),
         absl::StrCat(worker.device(), " ", worker.job_id().empty() ? "idle" : worker.job_id(), " ",
                      where)});
  }
  for (const std::string& root : info.data_roots()) table.rows.push_back({"data root", root});
  return format == OutputFormat::kCsv ? RenderCsv(table) : RenderAligned(table);
}

}  // namespace affsig::client
