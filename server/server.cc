#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/host_name.h"
#include "common/log_line.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "server/api/authentication.h"
#include "server/api/signature_service.h"
#include "server/api/worker_service.h"
#include "server/auth/token_registry.h"
#include "server/core/server_core.h"
#include "server/http/http_server.h"
#include "server/launchers/local_workers.h"
#include "server/launchers/slurm_workers.h"

namespace affsig {
namespace {

// How often leases, deadlines and cancel graces are checked.
constexpr absl::Duration kEnforceEvery = absl::Milliseconds(250);

std::string ThisProgramsFolder() {
  std::error_code error;
  return std::filesystem::read_symlink("/proc/self/exe", error).parent_path().string();
}

std::string HostOf(const std::string& address) { return address.substr(0, address.rfind(':')); }

bool IsWildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::";
}

}  // namespace

Server::Server() = default;

Server::~Server() {
  Shutdown();
  if (enforcer_.joinable()) enforcer_.join();
}

absl::Status Server::ResolveDevices() {
  if (options_.devices == "none") return absl::OkStatus();
  if (options_.devices != "auto") {
    devices_ = absl::StrSplit(options_.devices, ',', absl::SkipEmpty());
    return absl::OkStatus();
  }
  // The server links no LibTorch: the worker says which devices it sees.
  ASSIGN_OR_RETURN(CommandResult listed, RunCommand({options_.worker_binary, "--list-devices"}));
  if (listed.exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(options_.worker_binary,
                     " --list-devices failed: ", absl::StripAsciiWhitespace(listed.err)));
  }
  devices_ = absl::StrSplit(listed.out, '\n', absl::SkipWhitespace());
  return absl::OkStatus();
}

absl::Status Server::BuildAndStart(const Options& options) {
  options_ = options;
  if (options_.max_upload_bytes <= 0) {
    return absl::InvalidArgumentError("--max-upload-mb must be positive");
  }
  for (const std::string& root : options_.data_roots) {
    if (!std::filesystem::is_directory(root)) {
      return absl::InvalidArgumentError(absl::StrCat("--data-root=", root, " is not a folder"));
    }
  }
  if (options_.max_queued_per_user < 0 || options_.max_upload_bytes_per_user < 0) {
    return absl::InvalidArgumentError("per-user quotas must not be negative (0: no limit)");
  }
  if (options_.lease <= absl::ZeroDuration() || options_.max_attempts < 1) {
    return absl::InvalidArgumentError("--lease-seconds and --max-attempts must be positive");
  }
  // The ports' security, checked before anything is opened.
  ASSIGN_OR_RETURN(const std::shared_ptr<grpc::ServerCredentials> credentials,
                   GrpcServerCredentials(options_.transport));
  RETURN_IF_ERROR(CheckListenAddress(options_.transport, "--listen", options_.listen));

  if (!options_.http_listen.empty()) {
    RETURN_IF_ERROR(CheckListenAddress(options_.transport, "--http-listen", options_.http_listen));
  }
  // Without identities every caller may cancel, delete and run anyone's jobs: off loopback that
  // is anyone on the network. A lab's server names its users; only --insecure (a network trusted
  // as a whole, plaintext) goes without.
  for (const auto& [flag, address] :
       {std::pair<const char*, const std::string&>{"--listen", options_.listen},
        {"--http-listen", options_.http_listen}}) {
    if (options_.auth_tokens.empty() && !options_.transport.insecure && !address.empty() &&
        !IsLoopbackAddress(address)) {
      return absl::FailedPreconditionError(absl::StrCat(
          flag, "=", address,
          " is reachable from other machines, and without --auth-tokens "
          "anyone there could cancel, delete or run anyone's jobs: give --auth-tokens=FILE "
          "(affsig-server add-user writes it)"));
    }
  }
  if (!options_.slurm_tls_ca.empty() && !options_.transport.tls()) {
    return absl::InvalidArgumentError("--slurm-tls-ca needs TLS: give --tls-cert and --tls-key");
  }
  if (options_.worker_binary.empty()) {
    options_.worker_binary = ThisProgramsFolder() + "/affsig-worker";
  }
  if (options_.devices != "none" && !std::filesystem::exists(options_.worker_binary)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no worker program at ", options_.worker_binary,
                     " (--worker-binary; --devices=none runs no local worker)"));
  }
  RETURN_IF_ERROR(ResolveDevices());

  core::ServerOptions core_options;
  core_options.db_path = options_.db_path;
  core_options.data_dir = options_.data_dir;
  core_options.max_upload_bytes = options_.max_upload_bytes;
  core_options.max_queued_jobs = options_.max_queued_jobs;
  core_options.max_queued_per_user = options_.max_queued_per_user;
  core_options.max_upload_bytes_per_user = options_.max_upload_bytes_per_user;
  core_options.data_roots = options_.data_roots;
  core_options.version = options_.version;
  core_options.default_timeout = options_.job_timeout;
  core_options.leases.lease = options_.lease;
  core_options.leases.cancel_grace = options_.cancel_grace;
  core_options.leases.retry.max_attempts = options_.max_attempts;
  ASSIGN_OR_RETURN(core_, core::ServerCore::Open(core_options));
  for (const std::string& line : core_->RecoverySummary()) LogLine(line);

  const std::vector<std::string> names = launchers::LocalWorkers::Names(devices_);
  for (size_t i = 0; i < names.size(); ++i) core_->leases().AddLocalWorker(names[i], devices_[i]);

  // The local workers' token: made now, known to this process and its children only.
  std::string local_worker_token;
  if (!options_.auth_tokens.empty()) {
    ASSIGN_OR_RETURN(tokens_, auth::TokenRegistry::Open(options_.auth_tokens));
    local_worker_token = auth::NewToken();
    tokens_->AddBuiltIn(core::Caller{core::kLocalWorkersUser, core::Role::kWorker, {}},
                        local_worker_token);
  }
  authentication_ = std::make_unique<api::Authentication>(tokens_.get());
  signature_service_ = std::make_unique<api::SignatureServiceImpl>(*core_, *authentication_);
  worker_service_ = std::make_unique<api::WorkerServiceImpl>(*core_, *authentication_);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options_.listen, credentials, &port);
  std::string workers_socket;
  int workers_socket_bound = 0;
  if (!devices_.empty()) {
    workers_socket = launchers::LocalWorkers::SocketAddress();
    builder.AddListeningPort(workers_socket, grpc::InsecureServerCredentials(),
                             &workers_socket_bound);
  }
  // A whole signature arrives in one CompleteJob; uploads come in 1 MiB chunks.
  builder.SetMaxReceiveMessageSize(256 << 20);
  // Connections. An idle client is pinged every minute and dropped when it does not answer
  // within 20 s; clients may ping every 10 s, also between calls (a watcher keeping its
  // connection alive through NATs). One connection carries up to 1000 calls at once (a
  // dashboard's watches). A connection lives an hour at most, then its calls get 10 minutes to
  // end — a watch reconnects by itself — so that clients spread over servers behind a balancer.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 60 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 10 * 60 * 1000);
  builder.RegisterService(signature_service_.get());
  builder.RegisterService(worker_service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(authentication_->InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen));
  }
  if (!workers_socket.empty() && workers_socket_bound == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", workers_socket));
  }
  const std::string host = HostOf(options_.listen);
  address_ = absl::StrCat(host, ":", port);
  if (!options_.http_listen.empty()) {
    grpc::ChannelArguments api_channel;
    api_channel.SetMaxReceiveMessageSize(-1);  // a whole signature, however large
    http_server_ = std::make_unique<http::HttpServer>(
        *core_, grpc_server_->InProcessChannel(api_channel), *authentication_,
        http::HttpOptions{options_.http_listen, options_.http_cors_origin, options_.version,
                          options_.transport.tls_cert, options_.transport.tls_key});
    RETURN_IF_ERROR(http_server_->Start());
    http_address_ = http_server_->address();
  }

  enforcer_ = std::thread([this] { EnforceLeases(); });

  if (!devices_.empty()) {
    launchers::LocalWorkersOptions local;
    local.worker_binary = options_.worker_binary;
    local.server_address = workers_socket;
    local.devices = devices_;
    local.threads = options_.threads > 0
                        ? options_.threads
                        : std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) /
                                          static_cast<int>(devices_.size()));
    local.data_roots = options_.data_roots;
    local.server_data_dir = options_.data_dir;
    local.cache_dir = (std::filesystem::path(options_.data_dir) / "worker-caches").string();
    local.stop_grace = options_.shutdown_grace;
    local.token = local_worker_token;
    local_workers_ = std::make_unique<launchers::LocalWorkers>(
        local, [this](const std::string& worker, const std::string& reason) {
          core_->leases().WorkerLost(worker, reason);
        });
    local_workers_->Start();
  }
  if (!options_.slurm_submit.empty()) {
    launchers::SlurmWorkersOptions slurm;
    slurm.sbatch_script = options_.slurm_submit;
    slurm.max_workers = options_.slurm_max_workers;
    slurm.server_address = !options_.slurm_server_address.empty()
                               ? options_.slurm_server_address
                               : absl::StrCat(IsWildcard(host) ? HostName() : host, ":", port);
    // Workers on Slurm nodes speak TLS to a TLS server, verifying it with the CA (a path on the
    // nodes) or the system's roots. A client certificate of theirs comes from the script's
    // AFFSIG_WORKER_ARGS or the server's environment (--export=ALL).
    if (options_.transport.tls()) slurm.environment.push_back("AFFSIG_TLS=1");
    if (!options_.slurm_tls_ca.empty()) {
      slurm.environment.push_back("AFFSIG_TLS_CA=" + options_.slurm_tls_ca);
    }
    slurm_workers_ =
        std::make_unique<launchers::SlurmWorkers>(slurm, [this]() -> absl::StatusOr<int64_t> {
          ASSIGN_OR_RETURN(core::ServerStatus status, core_->GetStatus());
          return status.queued_jobs;
        });
    slurm_workers_->Start();
  }
  return absl::OkStatus();
}

void Server::EnforceLeases() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stopped_; };
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopped), kEnforceEvery)) return;
    }
    core_->leases().Enforce();
  }
}

void Server::WaitForTermination() {
  absl::MutexLock lock(&mutex_);
  auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stopped_; };
  mutex_.Await(absl::Condition(&stopped));
}

void Server::ReloadTokens() {
  if (tokens_ == nullptr) {
    LogLine("SIGHUP: no --auth-tokens to read again");
    return;
  }
  absl::StatusOr<std::string> reloaded = tokens_->Reload();
  LogLine(reloaded.ok() ? *reloaded
                        : absl::StrCat("tokens file not read again, the users stay as they were: ",
                                       reloaded.status().message()));
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&mutex_);
    if (shutting_down_) return;
    shutting_down_ = true;
    if (grpc_server_ == nullptr) {  // it never started
      stopped_ = true;
      return;
    }
  }
  LogLine("stopping: no new jobs or leases; running jobs finish or return to the queue");
  grpc_server_->GetHealthCheckService()->SetServingStatus(false);
  if (http_server_) http_server_->StopReadiness();
  core_->Close();  // watchers end now rather than at the shutdown deadline
  core_->leases().StopLeasing();
  if (slurm_workers_) slurm_workers_->Stop();
  // Local workers finish or return their jobs through the gRPC server, which still serves them.
  if (local_workers_) local_workers_->Stop();
  core_->leases().ReturnLocalLeases("the server stopped");
  // Dashboards and Prometheus were answered while jobs finished; no longer.
  if (http_server_) http_server_->Stop();
  // Calls in flight get a second to finish. The deadline also bounds the wait for idle client
  // connections, which gRPC keeps open until the client closes them after the GOAWAY.
  grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  absl::MutexLock lock(&mutex_);
  stopped_ = true;
  LogLine("stopped");
}

}  // namespace affsig
