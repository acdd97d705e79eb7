// The server under a lab's load, against a baseline server in the same run (another
// affsig-server binary, e.g. commit 8717cc7's, whose watches each held a thread):
//  - SubmitJob's latency (p50, p99) and jobs per second — submitted, run by two local workers and
//    watched to their end — with 1, 10 and 50 clients at once, each a thread with a connection
//    of its own;
//  - the server's memory per open watch: its resident memory with 1 000 watches open on one
//    running job, less without, over 1 000; and its thread count meanwhile.
//
//   build/bench/load_benchmark [--baseline_server=PATH] [--jobs=300] [--watches=1000]
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "bench/bench_util.h"
#include "client/signature_client.h"
#include "tests/api/open_watch.h"
#include "tests/api/server_process.h"

ABSL_FLAG(std::string, baseline_server, "", "another affsig-server to compare with");
ABSL_FLAG(int, jobs, 300, "jobs per round of clients");
ABSL_FLAG(int, watches, 1000, "watches open at once for the memory measurement");

namespace affsig::bench {
namespace {

constexpr char kModel[] = AFFSIG_SOURCE_DIR "/tests/fixtures/golden/mlp_mixed.pt";
constexpr char kInput[] = AFFSIG_SOURCE_DIR "/tests/fixtures/golden/mlp_mixed.input.npy";
constexpr char kLongModel[] = AFFSIG_SOURCE_DIR "/tests/fixtures/service/deep_loop.pt";

// A field of /proc/PID/status, in its own unit (kB for memory).
long StatusField(pid_t pid, const std::string& field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  long value = -1;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, field + ":")) continue;
    std::string number = line.substr(field.size() + 1);
    number.erase(std::remove_if(number.begin(), number.end(),
                                [](char c) { return !absl::ascii_isdigit(static_cast<unsigned char>(c)); }),
                 number.end());
    if (!absl::SimpleAtoi(number, &value)) value = -1;
  }
  return value;
}

struct RoundResult {
  double p50_ms = 0, p99_ms = 0, jobs_per_second = 0;
  int failures = 0;
};

// `clients` threads submit `jobs` jobs in all, each watching its job to its end.
RoundResult RunRound(const std::string& address, int clients, int jobs,
                     const client::EnsuredBlob& model, const client::EnsuredBlob& input) {
  std::vector<double> latencies_ms;
  absl::Mutex mutex;
  std::atomic<int> next{0}, failures{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      client::SignatureClient client(address);
      while (next.fetch_add(1) < jobs) {
        v1::SubmitJobRequest request;
        request.set_model_sha256(model.sha256);
        request.set_input_sha256(input.sha256);
        const Clock::time_point asked = Clock::now();
        auto job = client.Submit(request);
        const double ms = SecondsSince(asked) * 1000.0;
        if (!job.ok() || !client.Watch(job->job_id(), nullptr).ok()) {
          ++failures;
          continue;
        }
        absl::MutexLock lock(&mutex);
        latencies_ms.push_back(ms);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  RoundResult result;
  result.jobs_per_second = jobs / SecondsSince(start);
  result.failures = failures;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  if (!latencies_ms.empty()) {
    result.p50_ms = latencies_ms[latencies_ms.size() / 2];
    result.p99_ms = latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
  }
  return result;
}

struct WatchResult {
  double kib_per_watch = 0;
  long threads_idle = 0, threads_watched = 0;
};

WatchResult MeasureWatches(const testing::ServerProcess& server, const client::EnsuredBlob& model,
                           const client::EnsuredBlob& long_input, int count) {
  client::SignatureClient client(server.address());
  v1::SubmitJobRequest request;
  request.set_model_sha256(model.sha256);
  request.set_input_sha256(long_input.sha256);
  auto job = client.Submit(request);
  WatchResult result;
  if (!job.ok()) return result;
  absl::SleepFor(absl::Seconds(1));
  result.threads_idle = StatusField(server.pid(), "Threads");
  const long rss_before = StatusField(server.pid(), "VmRSS");
  auto stub = v1::SignatureService::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  std::vector<std::unique_ptr<testing::OpenWatch>> watches;
  for (int i = 0; i < count; ++i) {
    watches.push_back(std::make_unique<testing::OpenWatch>(*stub, job->job_id()));
  }
  for (auto& watch : watches) {
    watch->WaitFor([](int views, v1::JobState, bool) { return views > 0; }, absl::Seconds(60));
  }
  absl::SleepFor(absl::Seconds(1));
  result.threads_watched = StatusField(server.pid(), "Threads");
  result.kib_per_watch =
      static_cast<double>(StatusField(server.pid(), "VmRSS") - rss_before) / count;
  for (auto& watch : watches) watch->Cancel();
  absl::SleepFor(absl::Seconds(1));
  return result;
}

struct ServerResult {
  RoundResult rounds[3];
  WatchResult watches;
};

ServerResult Measure(const std::string& binary, int jobs, int watches) {
  ServerResult result;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("affsig-load-", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto server = testing::ServerProcess::Start(
      {"--db=" + (dir / "affsig.db").string(), "--data-dir=" + (dir / "data").string(),
       "--devices=cpu,cpu", "--threads=1"},
      binary);
  if (!server.ok()) {
    std::cerr << binary << ": " << server.status() << "\n";
    std::exit(1);
  }
  client::SignatureClient client(server->address());
  auto model = client.EnsureUploaded(kModel, client::BlobKind::kModel);
  auto input = client.EnsureUploaded(kInput, client::BlobKind::kInput);
  auto long_model = client.EnsureUploaded(kLongModel, client::BlobKind::kModel);
  if (!model.ok() || !input.ok() || !long_model.ok()) std::exit(1);
  const int clients[3] = {1, 10, 50};
  for (int i = 0; i < 3; ++i) result.rounds[i] = RunRound(server->address(), clients[i], jobs, *model, *input);
  // The deep loop model on a batch of random-looking rows: seconds per job, long enough to watch.
  const std::string long_input = (dir / "long.npy").string();
  {
    auto made = RunCommand(absl::StrCat(
        "/usr/bin/python3 -c \"import numpy as np; np.save('", long_input,
        "', np.random.default_rng(0).standard_normal((2048, 128)).astype(np.float32))\""));
    if (!made.ok()) std::exit(1);
  }
  auto long_blob = client.EnsureUploaded(long_input, client::BlobKind::kInput);
  if (long_blob.ok()) result.watches = MeasureWatches(*server, *long_model, *long_blob, watches);
  server->Stop(SIGKILL);
  std::filesystem::remove_all(dir);
  return result;
}

void Print(const std::string& name, const ServerResult& result) {
  const int clients[3] = {1, 10, 50};
  for (int i = 0; i < 3; ++i) {
    const RoundResult& round = result.rounds[i];
    std::cout << absl::StrFormat("%-10s %2d clients: submit p50 %6.1f ms  p99 %7.1f ms  %6.1f jobs/s%s\n",
                                 name, clients[i], round.p50_ms, round.p99_ms,
                                 round.jobs_per_second,
                                 round.failures > 0 ? absl::StrCat("  (", round.failures, " failed)") : "");
  }
  std::cout << absl::StrFormat("%-10s watches: %.1f KiB per open watch, threads %ld idle, %ld watched\n",
                               name, result.watches.kib_per_watch, result.watches.threads_idle,
                               result.watches.threads_watched);
}

}  // namespace
}  // namespace affsig::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace affsig::bench;
  const int jobs = absl::GetFlag(FLAGS_jobs);
  const int watches = absl::GetFlag(FLAGS_watches);
  const ServerResult ours = Measure(affsig::testing::ServerBinary(), jobs, watches);
  Print("this build", ours);
  const std::string baseline = absl::GetFlag(FLAGS_baseline_server);
  if (baseline.empty()) return 0;
  const ServerResult theirs = Measure(baseline, jobs, watches);
  Print("baseline", theirs);
  const int clients[3] = {1, 10, 50};
  for (int i = 0; i < 3; ++i) {
    std::cout << absl::StrFormat("ratio      %2d clients: p99 latency %.2fx, jobs/s %.2fx\n", clients[i],
                                 ours.rounds[i].p99_ms / theirs.rounds[i].p99_ms,
                                 ours.rounds[i].jobs_per_second / theirs.rounds[i].jobs_per_second);
  }
  std::cout << absl::StrFormat("ratio      memory per watch %.2fx, threads with %d watches %.2fx\n",
                               ours.watches.kib_per_watch / theirs.watches.kib_per_watch, watches,
                               static_cast<double>(ours.watches.threads_watched) /
                                   theirs.watches.threads_watched);
  return 0;
}
