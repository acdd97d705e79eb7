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

#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/command_line.h"
#include "server/api/signature_service.h"
#include "server/store/blob_store.h"
#include "server/store/job_queue.h"
#include "server/workers/worker_pool.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "HOST:PORT to serve on; port 0 picks one");
ABSL_FLAG(std::string, db, "affsig.db", "SQLite database file");
ABSL_FLAG(std::string, data_dir, "affsig-data", "directory for uploaded models and inputs");
ABSL_FLAG(std::string, devices, "auto",
          "auto (every CUDA device, else the CPU), cpu, or a list such as cuda:0,cuda:1");
ABSL_FLAG(int, threads, 0, "LibTorch intra-op threads per worker (0: LibTorch's default)");
ABSL_FLAG(int64_t, max_upload_mb, 2048, "largest accepted upload, MiB");

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
  absl::ParseCommandLine(argc, argv);

  // SIGINT and SIGTERM are taken by one thread below, not by whichever thread they hit.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto queue = affsig::store::JobQueue::Open(absl::GetFlag(FLAGS_db));
  if (!queue.ok()) return Fail(std::string(queue.status().message()));
  auto blobs = affsig::store::BlobStore::Open(absl::GetFlag(FLAGS_data_dir),
                                              absl::GetFlag(FLAGS_max_upload_mb) << 20);
  if (!blobs.ok()) return Fail(std::string(blobs.status().message()));
  if ((*queue)->requeued_at_open() > 0) {
    std::cerr << "requeued " << (*queue)->requeued_at_open()
              << " job(s) left running by an earlier run\n";
  }

  std::vector<affsig::workers::WorkerOptions> devices;
  for (const std::string& device : Devices(absl::GetFlag(FLAGS_devices))) {
    devices.push_back({device, absl::GetFlag(FLAGS_threads)});
  }
  affsig::workers::WorkerPool pool(**queue, **blobs, devices);
  affsig::api::SignatureServiceImpl service(**queue, **blobs, [&pool] { pool.WakeUp(); });

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
  std::cout << "affsig-server listening on " << host << ":" << port << " with " << devices.size()
            << " worker(s)" << std::endl;

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::cerr << "affsig-server: signal " << signal_number
            << ": stopping; running jobs finish first\n";
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pool.Stop();
  return 0;
}
