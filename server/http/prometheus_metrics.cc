#include "server/http/prometheus_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace affsig::http {
namespace {

using Labels = std::vector<std::pair<absl::string_view, std::string>>;

// One metric family after another: HELP and TYPE, then its samples.
class Exposition {
 public:
  void Family(absl::string_view name, absl::string_view type, absl::string_view help) {
    absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  }
  void Sample(absl::string_view name, const Labels& labels, double value) {
    absl::StrAppend(&text_, name);
    if (!labels.empty()) {
      text_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        absl::StrAppend(&text_, i > 0 ? "," : "", labels[i].first, "=\"", Escaped(labels[i].second),
                        "\"");
      }
      text_ += '}';
    }
    absl::StrAppend(&text_, " ", absl::StrFormat("%.15g", value), "\n");
  }
  std::string Take() { return std::move(text_); }

 private:
  // Label values are workers' device names and versions: escaped as the format requires.
  static std::string Escaped(absl::string_view value) {
    std::string escaped;
    for (char c : value) {
      if (c == '\\' || c == '"') escaped += '\\';
      if (c == '\n') {
        escaped += "\\n";
      } else {
        escaped += c;
      }
    }
    return escaped;
  }

  std::string text_;
};

// A worker that never asked for work is starting; one with a job busy; else idle.
absl::string_view WorkerState(const core::WorkerStatus& worker) {
  if (worker.last_seen == absl::InfinitePast()) return "starting";
  return worker.job_id.empty() ? "idle" : "busy";
}

void AddServiceMetrics(const core::ServerStatus& status, Exposition& out) {
  out.Family("affsig_build_info", "gauge", "The server's version, as a label; always 1.");
  out.Sample("affsig_build_info", {{"version", status.version}}, 1);

  out.Family("affsig_jobs", "gauge", "Jobs in the database by state.");
  for (JobState state : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                         JobState::kFailed, JobState::kCancelled}) {
    const auto count = status.jobs_by_state.find(state);
    out.Sample("affsig_jobs", {{"state", std::string(JobStateName(state))}},
               count == status.jobs_by_state.end() ? 0 : count->second);
  }
  out.Family("affsig_queue_depth", "gauge", "Jobs waiting for a worker.");
  out.Sample("affsig_queue_depth", {}, status.queued_jobs);

  out.Family("affsig_workers", "gauge",
             "Workers the server knows, local and remote, by state (starting, idle, busy).");
  std::map<absl::string_view, int64_t> workers = {{"starting", 0}, {"idle", 0}, {"busy", 0}};
  for (const core::WorkerStatus& worker : status.workers) ++workers[WorkerState(worker)];
  for (const auto& [state, count] : workers) {
    out.Sample("affsig_workers", {{"state", std::string(state)}}, count);
  }

  const core::CounterValues& counters = status.counters;
  constexpr char kDuration[] = "affsig_job_attempt_duration_seconds";
  out.Family(kDuration, "histogram",
             "How long attempts at jobs ran on a worker, by its device and the attempt's outcome.");
  const std::vector<double>& bounds = core::AttemptDurationBucketsSeconds();
  for (const auto& [key, histogram] : counters.attempt_durations) {
    Labels labels = {{"device", key.first},
                     {"outcome", std::string(AttemptOutcomeName(key.second))}};
    int64_t cumulative = 0;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += histogram.buckets[i];
      Labels bucket = labels;
      bucket.emplace_back("le", i < bounds.size() ? absl::StrFormat("%g", bounds[i]) : "+Inf");
      out.Sample(absl::StrCat(kDuration, "_bucket"), bucket, cumulative);
    }
    out.Sample(absl::StrCat(kDuration, "_sum"), labels, histogram.sum_seconds);
    out.Sample(absl::StrCat(kDuration, "_count"), labels, histogram.count);
  }
  out.Family("affsig_activations_scored_total", "counter",
             "Activation calls scored by succeeded jobs, one per entry and batch.");
  out.Sample("affsig_activations_scored_total", {}, counters.activations_scored);
  out.Family("affsig_upload_bytes_total", "counter", "Bytes uploaded, by kind (model, input).");
  for (const auto& [kind, name] :
       {std::pair{BlobKind::kModel, "model"}, std::pair{BlobKind::kInput, "input"}}) {
    const auto bytes = counters.uploaded_bytes.find(kind);
    out.Sample("affsig_upload_bytes_total", {{"kind", name}},
               bytes == counters.uploaded_bytes.end() ? 0 : bytes->second);
  }
}

std::string ReadWhole(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The process_* metrics of Prometheus' client libraries, from /proc.
void AddProcessMetrics(Exposition& out) {
  // /proc/self/stat: the fields after the command name, which ends with the last ')'.
  const std::string stat = ReadWhole("/proc/self/stat");
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(stat.rfind(')') + 2), ' ');
  auto field = [&fields](size_t number) {  // numbered as in proc(5), from 1
    double value = 0;
    return number - 3 < fields.size() && absl::SimpleAtod(fields[number - 3], &value) ? value : 0.0;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double boot_time = 0;
  for (absl::string_view line : absl::StrSplit(ReadWhole("/proc/stat"), '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) (void)absl::SimpleAtod(line, &boot_time);
  }
  out.Family("process_cpu_seconds_total", "counter", "User and system CPU time, in seconds.");
  out.Sample("process_cpu_seconds_total", {}, (field(14) + field(15)) / ticks);
  out.Family("process_start_time_seconds", "gauge",
             "When the process started, in seconds since the Unix epoch.");
  out.Sample("process_start_time_seconds", {}, boot_time + field(22) / ticks);
  out.Family("process_virtual_memory_bytes", "gauge", "Virtual memory size, in bytes.");
  out.Sample("process_virtual_memory_bytes", {}, field(23));
  out.Family("process_resident_memory_bytes", "gauge", "Resident memory size, in bytes.");
  out.Sample("process_resident_memory_bytes", {},
             field(24) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  std::error_code error;
  int64_t open_fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++open_fds;
  }
  out.Family("process_open_fds", "gauge", "Open file descriptors.");
  out.Sample("process_open_fds", {}, open_fds);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.Family("process_max_fds", "gauge", "The most file descriptors the process may open.");
    out.Sample("process_max_fds", {}, static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace

std::string PrometheusMetrics(const core::ServerStatus& status) {
  Exposition out;
  AddServiceMetrics(status, out);
  AddProcessMetrics(out);
  return out.Take();
}

}  // namespace affsig::http
