#include "server/launchers/local_workers.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/exit_status.h"
#include "common/log_line.h"
#include "server/launchers/child_process.h"

namespace affsig::launchers {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Seconds(1);
constexpr absl::Duration kMaxBackoff = absl::Seconds(30);
// A worker that ran this long before dying starts again after the first backoff.
constexpr absl::Duration kStableAfter = absl::Minutes(1);

}  // namespace

LocalWorkers::LocalWorkers(LocalWorkersOptions options, ExitCallback on_exit)
    : options_(std::move(options)), names_(Names(options_.devices)), on_exit_(std::move(on_exit)) {
  absl::MutexLock lock(&mutex_);
  for (const std::string& device : options_.devices) slots_.push_back({device, -1});
}

LocalWorkers::~LocalWorkers() { Stop(); }

std::string LocalWorkers::SocketAddress() {
  absl::BitGen random;
  return absl::StrFormat("unix-abstract:affsig-server/%d/%016x", getpid(),
                         absl::Uniform<uint64_t>(random));
}

std::vector<std::string> LocalWorkers::Names(const std::vector<std::string>& devices) {
  std::vector<std::string> names;
  std::map<std::string, int> seen;
  for (const std::string& device : devices) {
    const int n = seen[device]++;
    names.push_back(n == 0 ? absl::StrCat("local/", device)
                           : absl::StrCat("local/", device, ".", n));
  }
  return names;
}

std::vector<std::string> LocalWorkers::Arguments(size_t index) const {
  const std::string& device = options_.devices[index];
  std::vector<std::string> args = {
      options_.worker_binary,
      "--server=" + options_.server_address,
      "--device=" + device,
      "--name=" + names_[index],
      absl::StrCat("--threads=", options_.threads),
      "--server-data-dir=" + options_.server_data_dir,
      absl::StrCat("--cache-dir=", options_.cache_dir, "/",
                   absl::StrReplaceAll(names_[index], {{"local/", ""}, {":", "-"}})),
      absl::StrCat("--stop-grace=", absl::ToInt64Seconds(options_.stop_grace))};
  for (const std::string& root : options_.data_roots) args.push_back("--data-root=" + root);
  return args;
}

void LocalWorkers::Start() {
  for (size_t i = 0; i < options_.devices.size(); ++i) {
    threads_.emplace_back([this, i] { Supervise(i); });
  }
}

void LocalWorkers::Supervise(size_t index) {
  const std::string& device = options_.devices[index];
  const std::string& name = names_[index];
  const std::string prefix = absl::StrCat("[", absl::StripPrefix(name, "local/"), "]");
  absl::Duration backoff = kFirstBackoff;
  while (true) {
    absl::StatusOr<Child> child;
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      // Spawned under the lock, so that Stop sees every pid it must signal.
      child = SpawnBoundChild(Arguments(index),
                              options_.token.empty()
                                  ? std::vector<std::string>()
                                  : std::vector<std::string>{"AFFSIG_TOKEN=" + options_.token});
      if (child.ok()) slots_[index].pid = child->pid;
    }
    const absl::Time started = absl::Now();
    int status = 0;
    if (child.ok()) {
      FILE* output = fdopen(child->output_fd, "r");
      char* line = nullptr;
      size_t capacity = 0;
      ssize_t length = 0;
      while ((length = getline(&line, &capacity, output)) > 0) {
        if (line[length - 1] == '\n') line[length - 1] = '\0';
        LogChildLine(prefix, line);
      }
      free(line);
      fclose(output);
      // Its end is known before it is reaped, so that its pid is forgotten while still its own:
      // Stop never signals a process that reused it.
      siginfo_t ended;
      waitid(P_PID, child->pid, &ended, WEXITED | WNOWAIT);
    } else {
      LogLine(absl::StrCat("cannot start the worker for ", device, ": ", child.status().message()));
    }
    bool stopping = false;
    {
      absl::MutexLock lock(&mutex_);
      slots_[index].pid = -1;
      stopping = stopping_;
    }
    if (child.ok()) waitpid(child->pid, &status, 0);
    if (stopping) return;
    if (child.ok()) {
      on_exit_(name, absl::StrCat("worker lost: ", DescribeExit(status)));
      if (WIFEXITED(status) && WEXITSTATUS(status) == kWorkerExitRestartMe) {
        LogLine(absl::StrCat(name,
                             " stopped itself to drop a job it could not interrupt; "
                             "starting it again"));
        backoff = kFirstBackoff;
        continue;
      }
      if (absl::Now() - started >= kStableAfter) backoff = kFirstBackoff;
      LogLine(absl::StrCat(name, " ended (", DescribeExit(status), "); starting it again in ",
                           absl::FormatDuration(backoff)));
    }
    absl::MutexLock lock(&mutex_);
    auto stop_requested = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stopping_; };
    mutex_.AwaitWithTimeout(absl::Condition(&stop_requested), backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void LocalWorkers::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (const Slot& slot : slots_) {
      if (slot.pid > 0) kill(slot.pid, SIGTERM);
    }
    // Workers finish or return their jobs within the grace; then they are killed.
    auto all_exited = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.pid < 0; });
    };
    if (!mutex_.AwaitWithTimeout(absl::Condition(&all_exited),
                                 options_.stop_grace + absl::Seconds(2))) {
      for (const Slot& slot : slots_) {
        if (slot.pid > 0) kill(slot.pid, SIGKILL);
      }
    }
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace affsig::launchers
