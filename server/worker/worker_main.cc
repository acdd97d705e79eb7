// affsig-worker: runs signature jobs that it leases from an affsig-server, on one device, on any
// machine that reaches the server — the server's own (it starts one per local device), a Slurm
// node (deploy/slurm/affsig-worker.sbatch) or a systemd unit (deploy/affsig-worker@.service).
//
//   affsig-worker --server=HOST:PORT --device=cpu|cuda:K [--data-root=DIR ...] [--threads=T]
//                 [--tls | --tls-ca=PEM] [--tls-cert=PEM --tls-key=PEM]
//                 [--data-threads=D] [--scoring-threads=S]
//                 [--name=NAME] [--cache-dir=DIR] [--cache-mb=MB] [--idle-exit=SECONDS]
//   affsig-worker --list-devices
//
// Exit status: 0 stopped (SIGTERM, --idle-exit); 1 bad flags or a refused request; 75 it stopped
// itself to drop a job it could not interrupt: start it again.
#include <torch/cuda.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth_token.h"
#include "common/command_line.h"
#include "common/host_name.h"
#include "common/log_line.h"
#include "common/termination_signals.h"
#include "proto/channel_credentials.h"
#include "server/datasets/data_roots.h"
#include "server/worker/worker.h"

ABSL_FLAG(std::string, server, "", "HOST:PORT of affsig-server (default $AFFSIG_SERVER)");
ABSL_FLAG(std::string, token, "",
          "a token of the worker role, for a server with --auth-tokens (default $AFFSIG_TOKEN, "
          "else the first line of ~/.config/affsig/token, mode 0600)");
ABSL_FLAG(bool, tls, false,
          "speak TLS, verifying the server with the system's roots (default $AFFSIG_TLS=1)");
ABSL_FLAG(std::string, tls_ca, "",
          "speak TLS, verifying the server with this PEM file's authority (default "
          "$AFFSIG_TLS_CA)");
ABSL_FLAG(std::string, tls_cert, "",
          "this worker's client certificate, PEM, for a server with --tls-client-ca; with "
          "--tls-key (default $AFFSIG_TLS_CERT)");
ABSL_FLAG(std::string, tls_key, "", "the key of --tls-cert, PEM (default $AFFSIG_TLS_KEY)");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or cuda:K");
ABSL_FLAG(std::string, name, "",
          "the worker's name, unique among the server's workers (default HOST/DEVICE/pid-PID, "
          "or HOST/DEVICE/slurm-JOBID in a Slurm job)");
ABSL_FLAG(int, threads, 0, "LibTorch intra-op threads (0: one per core)");
ABSL_FLAG(int, data_threads, 0,
          "threads that read, decode and preprocess a batch's samples (0: one per core on a CUDA "
          "device, whose forward leaves the cores free; 1 on the CPU, whose forward uses them)");
ABSL_FLAG(int, scoring_threads, -1,
          "threads that score activations while the forward pass goes on, at the lowest CPU "
          "priority (-1: one fewer than --threads, at least 1; 0: each after the forward)");
ABSL_FLAG(std::string, data_root, "",
          "a folder jobs may read data from (the lab's shared storage); repeat it for several");
ABSL_FLAG(std::string, cache_dir, "",
          "where fetched models and inputs are kept (default $XDG_CACHE_HOME/affsig-worker or "
          "~/.cache/affsig-worker)");
ABSL_FLAG(int64_t, cache_mb, 10240, "the cache's size in MiB; the least recently used go first");
ABSL_FLAG(std::string, server_data_dir, "",
          "the server's --data-dir when it is on this machine: its blobs are read in place");
ABSL_FLAG(int64_t, idle_exit, 0, "exit after this many seconds without a job (0: never)");
ABSL_FLAG(int64_t, stop_grace, 30,
          "on SIGTERM, seconds the running job may take to finish before it is returned");
ABSL_FLAG(bool, list_devices, false, "print the devices this worker can use, one per line");

namespace {

std::string DefaultCacheDir() {
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache != nullptr && *cache != '\0') {
    return absl::StrCat(cache, "/affsig-worker");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return absl::StrCat(home, "/.cache/affsig-worker");
  }
  return "affsig-worker-cache";
}

int Fail(absl::string_view message) {
  std::cerr << "affsig-worker: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  affsig::SetVersionFlag("affsig-worker", AFFSIG_VERSION);
  absl::SetProgramUsageMessage("Runs signature jobs leased from an affsig-server.");
  affsig::BlockTerminationSignals();
  affsig::DashesToUnderscoresInFlagNames(argc, argv);
  const std::vector<std::string> data_roots = affsig::TakeRepeatedFlag(argc, argv, "data_root");
  absl::ParseCommandLine(argc, argv);

  if (absl::GetFlag(FLAGS_list_devices)) {
    const int64_t gpus = static_cast<int64_t>(torch::cuda::device_count());
    for (int64_t i = 0; i < gpus; ++i) std::cout << "cuda:" << i << "\n";
    if (gpus == 0) std::cout << "cpu\n";
    return 0;
  }

  affsig::worker::Worker::Options options;
  options.server = absl::GetFlag(FLAGS_server);
  if (options.server.empty()) {
    const char* env = std::getenv("AFFSIG_SERVER");
    if (env == nullptr || *env == '\0')
      return Fail("--server=HOST:PORT (or $AFFSIG_SERVER) is needed");
    options.server = env;
  }
  absl::StatusOr<std::string> token = affsig::FindAuthToken(absl::GetFlag(FLAGS_token));
  if (!token.ok()) return Fail(std::string(token.status().message()));
  options.token = *std::move(token);
  auto credentials = affsig::GrpcChannelCredentials(
      affsig::ChannelSecurityFromFlags(absl::GetFlag(FLAGS_tls), absl::GetFlag(FLAGS_tls_ca),
                                       absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key)),
      options.server);
  if (!credentials.ok()) return Fail(credentials.status().message());
  options.credentials = *std::move(credentials);
  options.host = affsig::HostName();
  options.runner.device = absl::GetFlag(FLAGS_device);
  options.runner.intra_op_threads =
      absl::GetFlag(FLAGS_threads) > 0
          ? absl::GetFlag(FLAGS_threads)
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.runner.scoring_threads = absl::GetFlag(FLAGS_scoring_threads);
  if (absl::GetFlag(FLAGS_data_threads) < 0) return Fail("--data-threads must not be negative");
  options.runner.data_threads =
      absl::GetFlag(FLAGS_data_threads) > 0 ? absl::GetFlag(FLAGS_data_threads)
      : absl::StartsWith(options.runner.device, "cuda")
          ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
          : 1;
  // Roots in canonical form, checked once: jobs' paths are compared against these.
  for (const std::string& root : data_roots) {
    std::error_code error;
    const std::filesystem::path canonical = std::filesystem::canonical(root, error);
    if (error || !std::filesystem::is_directory(canonical)) {
      return Fail(absl::StrCat("--data-root=", root, " is not a folder"));
    }
    options.runner.data_roots.push_back(canonical.string());
  }
  options.name = absl::GetFlag(FLAGS_name);
  if (options.name.empty()) {
    const char* slurm_job = std::getenv("SLURM_JOB_ID");
    options.name = absl::StrCat(
        options.host, "/", options.runner.device, "/",
        slurm_job != nullptr ? absl::StrCat("slurm-", slurm_job) : absl::StrCat("pid-", getpid()));
  }
  options.cache.dir =
      absl::GetFlag(FLAGS_cache_dir).empty() ? DefaultCacheDir() : absl::GetFlag(FLAGS_cache_dir);
  options.cache.max_bytes = absl::GetFlag(FLAGS_cache_mb) << 20;
  options.cache.server_data_dir = absl::GetFlag(FLAGS_server_data_dir);
  options.idle_exit = absl::Seconds(absl::GetFlag(FLAGS_idle_exit));
  options.stop_grace = absl::Seconds(absl::GetFlag(FLAGS_stop_grace));
  options.version = AFFSIG_VERSION;
  if (options.cache.max_bytes <= 0) return Fail("--cache-mb must be positive");

  auto worker = affsig::worker::Worker::Create(options);
  if (!worker.ok()) return Fail(worker.status().message());
  affsig::worker::Worker& running = **worker;
  affsig::OnTerminationSignal([&running](int signal) {
    affsig::LogLine(absl::StrCat("signal ", signal, ": stopping"));
    running.Stop();
  });
  if (absl::Status ran = (*worker)->Run(); !ran.ok()) return Fail(ran.message());
  return 0;
}
