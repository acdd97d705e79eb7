#include "server/launchers/slurm_workers.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log_line.h"
#include "common/status_macros.h"
#include "common/subprocess.h"

namespace affsig::launchers {
namespace {

// A Slurm controller that does not answer must not hold the server (its shutdown waits for us).
constexpr absl::Duration kCommandTimeout = absl::Seconds(30);

absl::Status CommandFailed(const std::string& what, const CommandResult& result) {
  return absl::UnavailableError(absl::StrCat(what, " failed (exit status ", result.exit_code,
                                             "): ", absl::StripAsciiWhitespace(result.err)));
}

}  // namespace

SlurmWorkers::SlurmWorkers(SlurmWorkersOptions options,
                           std::function<absl::StatusOr<int64_t>()> waiting_jobs)
    : options_(std::move(options)), waiting_jobs_(std::move(waiting_jobs)) {}

SlurmWorkers::~SlurmWorkers() { Stop(); }

void SlurmWorkers::Start() { thread_ = std::thread([this] { Loop(); }); }

void SlurmWorkers::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void SlurmWorkers::Loop() {
  std::string last_error;
  while (true) {
    // Errors (squeue unreachable, sbatch refused) are logged once each until they change.
    if (absl::Status scaled = Scale(); !scaled.ok() && scaled.message() != last_error) {
      last_error = std::string(scaled.message());
      LogLine(absl::StrCat("slurm: ", last_error));
    } else if (scaled.ok()) {
      last_error.clear();
    }
    absl::MutexLock lock(&mutex_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stopping_; };
    if (mutex_.AwaitWithTimeout(absl::Condition(&stopping), options_.poll)) return;
  }
}

absl::StatusOr<SlurmCount> SlurmWorkers::Count() {
  ASSIGN_OR_RETURN(CommandResult result,
                   RunCommand({"squeue", "--me", "--noheader", "--name=" + options_.job_name,
                               "--states=PENDING,CONFIGURING,RUNNING", "--format=%T"},
                              {}, kCommandTimeout));
  if (result.exit_code != 0) return CommandFailed("squeue", result);
  SlurmCount count;
  for (absl::string_view state : absl::StrSplit(result.out, '\n', absl::SkipWhitespace())) {
    if (absl::StripAsciiWhitespace(state) == "PENDING") {
      ++count.pending;
    } else {
      ++count.running;
    }
  }
  return count;
}

absl::Status SlurmWorkers::Submit() {
  std::string exported = "ALL,AFFSIG_SERVER=" + options_.server_address;
  for (const std::string& variable : options_.environment) {
    absl::StrAppend(&exported, ",", variable);
  }
  ASSIGN_OR_RETURN(CommandResult result,
                   RunCommand({"sbatch", "--parsable", "--job-name=" + options_.job_name,
                               "--export=" + exported, options_.sbatch_script},
                              {}, kCommandTimeout));
  if (result.exit_code != 0) return CommandFailed("sbatch", result);
  LogLine(absl::StrCat("slurm: submitted worker job ", absl::StripAsciiWhitespace(result.out)));
  return absl::OkStatus();
}

absl::Status SlurmWorkers::Scale() {
  ASSIGN_OR_RETURN(int64_t waiting, waiting_jobs_());
  if (waiting == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(SlurmCount count, Count());
  // Pending workers will take waiting jobs once they start; running ones are busy or about to
  // lease one.
  const int64_t room = options_.max_workers - count.pending - count.running;
  const int64_t wanted = std::min(room, waiting - count.pending);
  for (int64_t i = 0; i < wanted; ++i) RETURN_IF_ERROR(Submit());
  return absl::OkStatus();
}

}  // namespace affsig::launchers
