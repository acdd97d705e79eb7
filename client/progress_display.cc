#include "client/progress_display.h"

#include "absl/strings/str_cat.h"

namespace affsig::client {

std::string ProgressDisplay::Bar(int64_t done, int64_t total) const {
  const int64_t filled = total > 0 ? done * width_ / total : 0;
  return absl::StrCat("[", std::string(filled, '#'), std::string(width_ - filled, '.'), "]");
}

void ProgressDisplay::Update(const v1::Job& job) {
  const bool has_total = job.has_progress() && job.progress().total() > 0;
  const int64_t done = has_total ? job.progress().done() : 0;
  const int64_t total = has_total ? job.progress().total() : 0;
  std::string line = absl::StrCat("job ", job.job_id(), " ", v1::JobState_Name(job.state()));
  // Jobs of several batches say which one runs.
  const std::string batch =
      has_total && job.progress().batches() > 1
          ? absl::StrCat(" batch ", job.progress().batch(), "/", job.progress().batches())
          : "";
  if (has_total) {
    absl::StrAppend(&line, batch, " ", done, "/", total, " activations");
    if (!job.progress().activation().empty()) {
      absl::StrAppend(&line, " (", job.progress().activation(), ")");
    }
  }
  if (terminal_) {
    if (has_total) {
      line = absl::StrCat("job ", job.job_id(), " ", Bar(done, total), batch, " ", done, "/", total,
                          " ", job.progress().activation());
    }
    const size_t length = line.size();
    if (line.size() < drawn_) line += std::string(drawn_ - line.size(), ' ');
    out_ << "\r" << line << std::flush;
    drawn_ = length;
    return;
  }
  const int64_t tenth = total > 0 ? done * 10 / total : -1;
  if (job.state() == last_state_ && tenth == last_tenth_) return;
  last_state_ = job.state();
  last_tenth_ = tenth;
  out_ << line << "\n" << std::flush;
}

void ProgressDisplay::Finish() {
  if (terminal_ && drawn_ > 0) out_ << "\n" << std::flush;
  drawn_ = 0;
}

}  // namespace affsig::client
