// affsig-server as one object, after TensorFlow Serving's model_servers/server.h: main turns
// flags into Server::Options and calls BuildAndStart, then WaitForTermination; Shutdown (from the
// signal thread) stops it in order. The Server owns the core (store, monitor, leases), the gRPC
// services, the HTTP port, the local worker processes and the Slurm launcher.
#ifndef AFFSIG_SERVER_SERVER_H_
#define AFFSIG_SERVER_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/transport_security.h"

namespace grpc {
class Server;
}

namespace affsig {
namespace api {
class Authentication;
class SignatureServiceImpl;
class WorkerServiceImpl;
}  // namespace api
namespace auth {
class TokenRegistry;
}
namespace core {
class ServerCore;
}
namespace http {
class HttpServer;
}
namespace launchers {
class LocalWorkers;
class SlurmWorkers;
}  // namespace launchers

class Server {
 public:
  struct Options {
    std::string listen = "127.0.0.1:50051";  // port 0 picks one
    // TLS on the gRPC and HTTP ports; plaintext only on loopback or with `insecure`.
    TransportSecurity transport;
    std::string db_path = "affsig.db";
    std::string data_dir = "affsig-data";
    std::vector<std::string> data_roots;
    int64_t max_upload_bytes = int64_t{2048} << 20;
    int64_t max_queued_jobs = 100000;  // beyond, submissions get RESOURCE_EXHAUSTED

    // Identities: the tokens file (server/auth/tokens_file.h); "": none, every caller is the
    // one local user. Per-user quotas (0: none), which a user's line may override.
    std::string auth_tokens;
    int64_t max_queued_per_user = 0;
    int64_t max_upload_bytes_per_user = 0;
    std::string version;

    // Local workers: one child process per device ("auto": every CUDA device, else the CPU;
    // "none": no local worker, jobs wait for remote ones).
    std::string devices = "auto";
    std::string worker_binary;  // affsig-worker; "" finds it beside this program
    int threads = 0;            // LibTorch intra-op threads per local worker; 0: every core

    absl::Duration lease = absl::Seconds(15);
    absl::Duration job_timeout = absl::Hours(1);  // for jobs that set none
    int64_t max_attempts = 3;                     // lost attempts before a job FAILS
    absl::Duration cancel_grace = absl::Seconds(5);
    // On SIGTERM, how long running jobs may take to finish before they are returned.
    absl::Duration shutdown_grace = absl::Seconds(30);

    // Slurm: the batch script that starts workers, and how many of its jobs at most.
    std::string slurm_submit;
    int slurm_max_workers = 4;
    std::string slurm_server_address;  // as Slurm nodes reach this server; "" derives it
    // With TLS: the CA file (a path on the nodes) Slurm workers verify this server with; "":
    // the system's roots.
    std::string slurm_tls_ca;

    // The HTTP port (server/http/): JSON API, /metrics, health, dashboard. "": none.
    std::string http_listen;       // HOST:PORT; port 0 picks one
    std::string http_cors_origin;  // the origin allowed cross-origin reads; "": none
  };

  Server();
  ~Server();

  absl::Status BuildAndStart(const Options& options);
  // HOST:PORT the server listens on (the port picked when --listen asked for 0).
  const std::string& address() const { return address_; }
  // HOST:PORT of the HTTP port; "" without one.
  const std::string& http_address() const { return http_address_; }
  int local_workers() const { return static_cast<int>(devices_.size()); }
  // Blocks until Shutdown has stopped everything.
  void WaitForTermination();
  // Reads the tokens file again (SIGHUP) and logs who was added and removed; a file that does
  // not parse leaves the users as they were.
  void ReloadTokens();
  // Stops accepting jobs and leases, ends watches, lets local workers finish or return their
  // jobs within the shutdown grace, then stops gRPC and closes the database. Thread-safe; once.
  void Shutdown();

 private:
  absl::Status ResolveDevices();
  void EnforceLeases();

  Options options_;
  std::vector<std::string> devices_;
  std::string address_;
  std::string http_address_;
  std::unique_ptr<auth::TokenRegistry> tokens_;
  std::unique_ptr<api::Authentication> authentication_;
  std::unique_ptr<core::ServerCore> core_;
  std::unique_ptr<api::SignatureServiceImpl> signature_service_;
  std::unique_ptr<api::WorkerServiceImpl> worker_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<http::HttpServer> http_server_;
  std::unique_ptr<launchers::LocalWorkers> local_workers_;
  std::unique_ptr<launchers::SlurmWorkers> slurm_workers_;
  std::thread enforcer_;

  absl::Mutex mutex_;
  bool shutting_down_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace affsig

#endif  // AFFSIG_SERVER_SERVER_H_
