// affsig-server: the signature service. Jobs queue durably in SQLite (--db), uploads live in
// --data-dir, and affsig-worker processes run them: one per local device, started and supervised
// here, and any number elsewhere (Slurm, systemd) that lease jobs over gRPC.
//
//   affsig-server --listen=127.0.0.1:50051 --db=affsig.db --data-dir=data [--devices=auto]
//   affsig-server add-user --auth-tokens=FILE NAME [--role=user|admin|worker]
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/command_line.h"
#include "common/log_line.h"
#include "common/reload_signal.h"
#include "common/termination_signals.h"
#include "server/auth/tokens_file.h"
#include "server/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "HOST:PORT to serve on; port 0 picks one");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM file of the server's certificate (chain): TLS on the gRPC and HTTP ports, with "
          "--tls-key; without them a port off loopback needs --insecure");
ABSL_FLAG(std::string, tls_key, "", "PEM file of the private key of --tls-cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM file of the authority whose client certificates (workers') the gRPC port asks for "
          "and verifies; clients without one still connect");
ABSL_FLAG(bool, insecure, false,
          "allow plaintext on an address other machines reach (--listen, --http-listen); logs a "
          "warning");
ABSL_FLAG(std::string, db, "affsig.db", "SQLite database file");
ABSL_FLAG(std::string, data_dir, "affsig-data", "directory for uploaded models and inputs");
ABSL_FLAG(std::string, devices, "auto",
          "local workers, one child process each: auto (every CUDA device, else the CPU), cpu, "
          "a list such as cuda:0,cuda:1, or none (remote workers only)");
ABSL_FLAG(std::string, worker_binary, "",
          "the affsig-worker program for local workers (default: beside affsig-server)");
ABSL_FLAG(int, threads, 0,
          "LibTorch intra-op threads per local worker (0: the cores shared among them)");
ABSL_FLAG(int64_t, max_upload_mb, 2048, "largest accepted upload, MiB");
ABSL_FLAG(int64_t, max_queued_jobs, 100000,
          "the most jobs waiting at once; beyond, submissions get RESOURCE_EXHAUSTED");
// --data-root=DIR may repeat: main takes its values out before Abseil parses the rest.
ABSL_FLAG(std::string, data_root, "",
          "a folder whose files jobs may read (server:, imagefolder:, cifar10:, cifar100:, mnist: "
          "sources); repeat it for several");
ABSL_FLAG(std::string, auth_tokens, "",
          "the users who may call, one 'NAME ROLE SHA256-OF-TOKEN' per line (add-user writes "
          "it), read again on SIGHUP; default: none, every caller is the one local user");
ABSL_FLAG(int64_t, max_queued_per_user, 0,
          "the most jobs one user may have QUEUED at once (0: no limit); a user's line in the "
          "tokens file may say max_queued_jobs=N");
ABSL_FLAG(int64_t, max_upload_bytes_per_user, 0,
          "bytes of uploads one user may store (0: no limit); a user's line in the tokens file "
          "may say max_upload_bytes=N");
ABSL_FLAG(std::string, role, "user", "add-user: the new user's role, user, admin or worker");
ABSL_FLAG(int64_t, lease_seconds, 15,
          "a worker's lease on its job; it renews it every third, and a lease not renewed in time "
          "is lost (the job is retried)");
ABSL_FLAG(int64_t, job_timeout, 3600, "seconds a job may run when it sets no --timeout");
ABSL_FLAG(int64_t, max_attempts, 3,
          "attempts lost to a dead or silent worker after which a job ends FAILED");
ABSL_FLAG(int64_t, cancel_grace, 5,
          "seconds a running job's worker has to stop after a cancel before the job ends "
          "CANCELLED anyway");
ABSL_FLAG(int64_t, shutdown_grace, 30,
          "on SIGTERM, seconds running jobs have to finish before they return to the queue");
ABSL_FLAG(std::string, slurm_submit, "",
          "a Slurm batch script that runs affsig-worker (deploy/slurm/affsig-worker.sbatch): "
          "submitted with sbatch while jobs wait");
ABSL_FLAG(int, slurm_max_workers, 4, "at most this many Slurm worker jobs pending or running");
ABSL_FLAG(std::string, slurm_tls_ca, "",
          "with TLS: the PEM file (a path on the Slurm nodes) that Slurm workers verify this "
          "server with; default: the system's roots");
ABSL_FLAG(std::string, slurm_server_address, "",
          "HOST:PORT at which Slurm nodes reach this server (default: this host and port)");
ABSL_FLAG(std::string, http_listen, "",
          "HOST:PORT for the HTTP port: read-only JSON API, /metrics, /healthz, /readyz and the "
          "dashboard at /; port 0 picks one; default: none");
ABSL_FLAG(std::string, http_cors_origin, "",
          "an origin (https://grafana.lab) allowed to read the JSON API from its pages, or *; "
          "default: none");

namespace {

// affsig-server add-user: a new user with a new token, of which only the hash is stored. The
// token is printed once, as the last line, for the admin to hand over.
int AddUser(const std::vector<char*>& args) {
  const std::string tokens = absl::GetFlag(FLAGS_auth_tokens);
  if (args.size() != 3 || tokens.empty()) {
    std::cerr << "affsig-server: usage: affsig-server add-user --auth-tokens=FILE NAME "
                 "[--role=user|admin|worker]\n";
    return 2;
  }
  absl::StatusOr<affsig::core::Role> role = affsig::core::ParseRole(absl::GetFlag(FLAGS_role));
  absl::StatusOr<std::string> token =
      role.ok() ? affsig::auth::AddUser(tokens, args[2], *role) : role.status();
  if (!token.ok()) {
    std::cerr << "affsig-server: " << token.status().message() << "\n";
    return 1;
  }
  std::cout << "added " << args[2] << " (" << affsig::core::RoleName(*role) << ") to " << tokens
            << "; a running server reads it at SIGHUP. Their token, shown only now:\n"
            << *token << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  affsig::SetVersionFlag("affsig-server", AFFSIG_VERSION);
  absl::SetProgramUsageMessage(
      "Serves non-linearity signature jobs over gRPC.\n"
      "  affsig-server [flags]\n"
      "  affsig-server add-user --auth-tokens=FILE NAME [--role=user|admin|worker]");
  affsig::BlockTerminationSignals();
  affsig::BlockReloadSignal();
  affsig::DashesToUnderscoresInFlagNames(argc, argv);
  const std::vector<std::string> data_roots = affsig::TakeRepeatedFlag(argc, argv, "data_root");
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() > 1 && std::string(args[1]) == "add-user") return AddUser(args);
  if (args.size() > 1) {
    std::cerr << "affsig-server: unknown command '" << args[1] << "' (see --help)\n";
    return 2;
  }

  affsig::Server::Options options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.transport.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.transport.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.transport.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.transport.insecure = absl::GetFlag(FLAGS_insecure);
  options.db_path = absl::GetFlag(FLAGS_db);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.data_roots = data_roots;
  options.max_upload_bytes = absl::GetFlag(FLAGS_max_upload_mb) << 20;
  options.max_queued_jobs = absl::GetFlag(FLAGS_max_queued_jobs);
  options.auth_tokens = absl::GetFlag(FLAGS_auth_tokens);
  options.max_queued_per_user = absl::GetFlag(FLAGS_max_queued_per_user);
  options.max_upload_bytes_per_user = absl::GetFlag(FLAGS_max_upload_bytes_per_user);
  options.version = AFFSIG_VERSION;
  options.devices = absl::GetFlag(FLAGS_devices);
  options.worker_binary = absl::GetFlag(FLAGS_worker_binary);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.lease = absl::Seconds(absl::GetFlag(FLAGS_lease_seconds));
  options.job_timeout = absl::Seconds(absl::GetFlag(FLAGS_job_timeout));
  options.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  options.cancel_grace = absl::Seconds(absl::GetFlag(FLAGS_cancel_grace));
  options.shutdown_grace = absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace));
  options.slurm_submit = absl::GetFlag(FLAGS_slurm_submit);
  options.slurm_max_workers = absl::GetFlag(FLAGS_slurm_max_workers);
  options.slurm_server_address = absl::GetFlag(FLAGS_slurm_server_address);
  options.slurm_tls_ca = absl::GetFlag(FLAGS_slurm_tls_ca);
  options.http_listen = absl::GetFlag(FLAGS_http_listen);
  options.http_cors_origin = absl::GetFlag(FLAGS_http_cors_origin);

  affsig::Server server;
  if (absl::Status started = server.BuildAndStart(options); !started.ok()) {
    std::cerr << "affsig-server: " << started.message() << "\n";
    return 1;
  }
  // Taken only now: a SIGTERM during the start waits, blocked, until the server can stop.
  affsig::OnTerminationSignal([&server](int signal) {
    affsig::LogLine(absl::StrCat("signal ", signal));
    server.Shutdown();
  });
  // Declared after `server`, so destroyed before it.
  const affsig::ReloadSubscription reload([&server] { server.ReloadTokens(); });
  // Scripts and tests read the addresses from these lines, the gRPC one last.
  if (!server.http_address().empty()) {
    std::cout << "affsig-server serving HTTP on " << server.http_address() << std::endl;
  }
  std::cout << "affsig-server listening on " << server.address() << " with "
            << server.local_workers() << " local worker(s)" << std::endl;
  server.WaitForTermination();
  return 0;
}
