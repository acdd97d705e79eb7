// affsig-server: the signature service. Jobs queue durably in SQLite (--db), uploads live in
// --data-dir, one worker per device runs them.
//
//   affsig-server --listen=127.0.0.1:50051 --db=affsig.db --data-dir=data [--devices=auto]
//                 [--threads=T] [--max-upload-mb=2048]
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/command_line.h"
#include "common/log_line.h"
#include "server/api/signature_service.h"
#include "server/core/server_core.h"
#include "server/workers/worker_pool.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "HOST:PORT to serve on; port 0 picks one");
ABSL_FLAG(std::string, db, "affsig.db", "SQLite database file");
ABSL_FLAG(std::string, data_dir, "affsig-data", "directory for uploaded models and inputs");
ABSL_FLAG(std::string, devices, "auto",
          "auto (every CUDA device, else the CPU), cpu, or a list such as cuda:0,cuda:1");
ABSL_FLAG(int, threads, 0,
          "LibTorch intra-op threads (0: one per core; Debian's LibTorch would otherwise use one)");
ABSL_FLAG(int64_t, max_upload_mb, 2048, "largest accepted upload, MiB");
// --data-root=DIR may repeat: main takes its values out before Abseil parses the rest.
ABSL_FLAG(std::string, data_root, "",
          "a folder whose files jobs may read (server:, imagefolder:, cifar10:, cifar100:, mnist: "
          "sources); repeat it for several");

namespace {

int Fail(const std::string& message) {
  std::cerr << "affsig-server: " << message << "\n";
  return 1;
}

std::vector<std::string> Devices(const std::string& flag) {
  if (flag != "auto") return absl::StrSplit(flag, ',', absl::SkipEmpty());
  std::vector<std::string> devices;
  for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
    devices.push_back(absl::StrCat("cuda:", i));
  }
  if (devices.empty()) devices.push_back("cpu");
  return devices;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Serves non-linearity signature jobs over gRPC.");
  affsig::DashesToUnderscoresInFlagNames(argc, argv);
  const std::vector<std::string> data_roots = affsig::TakeRepeatedFlag(argc, argv, "data_root");
  absl::ParseCommandLine(argc, argv);

  // SIGINT and SIGTERM are taken by one thread below, not by whichever thread they hit.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  affsig::core::ServerOptions options;
  options.db_path = absl::GetFlag(FLAGS_db);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.max_upload_bytes = absl::GetFlag(FLAGS_max_upload_mb) << 20;
  options.devices = Devices(absl::GetFlag(FLAGS_devices));
  options.version = AFFSIG_VERSION;
  options.data_roots = data_roots;
  for (const std::string& root : data_roots) {
    if (!std::filesystem::is_directory(root)) {
      return Fail(absl::StrCat("--data-root=", root, " is not a folder"));
    }
  }
  if (options.max_upload_bytes <= 0) return Fail("--max-upload-mb must be positive");
  auto core = affsig::core::ServerCore::Open(options);
  if (!core.ok()) return Fail(std::string(core.status().message()));
  if ((*core)->queue().requeued_at_open() > 0) {
    affsig::LogLine(absl::StrCat("requeued ", (*core)->queue().requeued_at_open(),
                                 " job(s) left RUNNING by an earlier run"));
  }

  // LibTorch's thread count is process-wide; Debian's LibTorch starts with a single thread.
  const int threads = absl::GetFlag(FLAGS_threads) > 0
                          ? absl::GetFlag(FLAGS_threads)
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<affsig::workers::WorkerOptions> workers;
  for (const std::string& device : options.devices) {
    workers.push_back({device, threads, options.data_roots});
  }
  affsig::core::JobMonitor& monitor = (*core)->monitor();
  affsig::workers::WorkerEvents events;
  events.on_start = [&](const std::string& device, const affsig::store::Job& job) {
    monitor.JobStarted(device, job.id);
  };
  events.on_progress = [&](const affsig::workers::JobProgress& progress) {
    monitor.JobProgressed(progress.job_id, progress.done, progress.total, progress.activation,
                          progress.batch, progress.batches);
  };
  events.on_end = [&](const std::string& device, const affsig::store::Job& job) {
    monitor.JobEnded(device, job.id);
  };
  affsig::workers::WorkerPool pool((*core)->queue(), (*core)->blobs(), workers, events);
  (*core)->set_on_submit([&pool] { pool.WakeUp(); });
  affsig::api::SignatureServiceImpl service(**core);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::StrCat("cannot listen on ", absl::GetFlag(FLAGS_listen)));
  }
  pool.Start();
  const std::string host =
      absl::GetFlag(FLAGS_listen).substr(0, absl::GetFlag(FLAGS_listen).rfind(':'));
  // Scripts and tests read the address from this line.
  std::cout << "affsig-server listening on " << host << ":" << port << " with " << workers.size()
            << " worker(s)" << std::endl;

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  affsig::LogLine(absl::StrCat("signal ", signal_number, ": stopping; running jobs finish first"));
  server->GetHealthCheckService()->SetServingStatus(false);
  (*core)->Close();  // watchers end now rather than at the shutdown deadline
  // Calls in flight get a second to finish. The deadline also bounds the wait for idle client
  // connections, which gRPC keeps open until the client closes them after the GOAWAY.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  pool.Stop();
  affsig::LogLine("stopped");
  return 0;
}
