#include "server/http/http_server.h"

#include <grpcpp/channel.h>
#include <httplib.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "proto/grpc_status.h"
#include "server/http/dashboard_assets.h"
#include "server/http/json_transcoding.h"
#include "server/http/prometheus_metrics.h"

namespace affsig::http {
namespace {

constexpr char kJson[] = "application/json";
// Requests are served by a pool of threads, one per open connection (httplib's model): enough
// for a lab's browsers (six connections each) and pollers. A kept-alive connection is closed
// after a few idle seconds or 100 requests, so that waiting connections get their turn.
constexpr int kThreads = 64;
constexpr int kKeepAliveRequests = 100;
constexpr time_t kKeepAliveSeconds = 2;
// Every request is a GET: a larger body is refused unread.
constexpr size_t kMaxBodyBytes = 64 << 10;

// A call of the API can be long (a clustering of many signatures), never endless.
constexpr absl::Duration kCallDeadline = absl::Minutes(5);

using Stub = v1::SignatureService::Stub;
template <typename Request, typename Response>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

void WriteError(const grpc::Status& status, httplib::Response& response) {
  response.status = HttpStatusOf(status.error_code());
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    response.set_header("WWW-Authenticate", "Bearer realm=\"affsig\"");
  }
  response.set_content(ErrorJson(status), kJson);
}

// The HTTP port's own errors carry an ErrorInfo too, as the gRPC adapters' do.
void WriteError(const absl::Status& status, httplib::Response& response) {
  WriteError(ToGrpcStatus(status), response);
}

// The request message from the query (the raw one: httplib's parameters cut a value at its
// second '='), and from the path's one parameter when `path_field` names its field (the path
// wins over the query).
template <typename Request>
absl::Status ParseRequest(const httplib::Request& http, const char* path_field, Request& request) {
  const size_t question = http.target.find('?');
  if (question != std::string::npos) {
    RETURN_IF_ERROR(
        SetFieldsFromQuery(absl::string_view(http.target).substr(question + 1), request));
  }
  if (path_field == nullptr) return absl::OkStatus();
  return SetField(path_field, http.matches[1].str(), request);
}

// Calls `method` of the gRPC API on the server's in-process channel, with the HTTP request's
// Authorization header as the call's metadata: the call meets the same authentication,
// permissions and handlers as any gRPC client's.
template <typename Request, typename Response>
grpc::Status Call(Stub& stub, Method<Request, Response> method, const httplib::Request& http,
                  const Request& request, Response& response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  if (http.has_header("Authorization")) {
    context.AddMetadata("authorization", http.get_header_value("Authorization"));
  }
  return (stub.*method)(&context, request, &response);
}

template <typename Request, typename Response>
httplib::Server::Handler Transcoded(Stub& stub, Method<Request, Response> method,
                                    const char* path_field = nullptr) {
  return [&stub, method, path_field](const httplib::Request& http, httplib::Response& out) {
    Request request;
    if (absl::Status parsed = ParseRequest(http, path_field, request); !parsed.ok()) {
      return WriteError(parsed, out);
    }
    Response response;
    const grpc::Status status = Call(stub, method, http, request, response);
    if (!status.ok()) return WriteError(status, out);
    out.set_content(ToJson(response), kJson);
  };
}

// A job that ended (finished_at_ms is set) has its signature for good: its ETag names the job,
// when it ended and the server version that writes it.
std::string SignatureEtag(const v1::Job& job, const std::string& version) {
  return absl::StrCat("\"", job.job_id(), ".", job.finished_at_ms(), ".", version, "\"");
}

void ServeAsset(absl::string_view name, const httplib::Request& request,
                httplib::Response& response) {
  const auto& assets = DashboardAssets();
  const auto asset = std::find_if(assets.begin(), assets.end(),
                                  [&name](const DashboardAsset& a) { return a.name == name; });
  if (asset == assets.end()) {
    response.status = 404;
    response.set_content("not found\n", "text/plain");
    return;
  }
  // Revalidated at every load, so that a new server's dashboard shows at once.
  response.set_header("Cache-Control", "no-cache");
  response.set_header("ETag", std::string(asset->etag));
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Content-Security-Policy", "default-src 'self'");
  if (request.get_header_value("If-None-Match") == asset->etag) {
    response.status = 304;
    return;
  }
  response.set_content(std::string(asset->content), std::string(asset->content_type));
}

// What no route answers: under /v1/, a google.rpc.Status like every other error of the API.
httplib::Server::HandlerResponse AnswerUnrouted(const httplib::Request& request,
                                                httplib::Response& response) {
  if (response.status != 404 || !response.body.empty()) {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  if (absl::StartsWith(request.path, "/v1/")) {
    WriteError(absl::NotFoundError(absl::StrCat("no such resource: ", request.method, " ",
                                                request.path, " (the HTTP API is read-only)")),
               response);
  } else {
    response.set_content("not found\n", "text/plain");
  }
  return httplib::Server::HandlerResponse::Handled;
}

void AnswerException(const httplib::Request&, httplib::Response& response,
                     std::exception_ptr error) {
  std::string message = "internal error";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {  // not a std::exception: the generic message
  }
  WriteError(absl::InternalError(message), response);
}

std::unique_ptr<httplib::Server> NewServer(const HttpOptions& options) {
  if (options.tls_cert.empty()) return std::make_unique<httplib::Server>();
  return std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
}

}  // namespace

HttpServer::HttpServer(core::ServerCore& core, std::shared_ptr<grpc::Channel> api_channel,
                       const api::Authentication& authentication, HttpOptions options)
    : core_(core),
      stub_(v1::SignatureService::NewStub(api_channel)),
      authentication_(authentication),
      options_(std::move(options)),
      server_(NewServer(options_)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::AddRoutes() {
  httplib::Server& server = *server_;
  server.Get("/v1/jobs", Transcoded(*stub_, &Stub::ListJobs));
  server.Get("/v1/jobs/([^/]+)", Transcoded(*stub_, &Stub::GetJob, "job_id"));
  server.Get("/v1/jobs/([^/]+)/signature",
             [this](const httplib::Request& request, httplib::Response& response) {
               Signature(request, response);
             });
  server.Get("/v1/signatures", Transcoded(*stub_, &Stub::ListSignatures));
  server.Get("/v1/signatures:compare", Transcoded(*stub_, &Stub::CompareSignatures));
  server.Get("/v1/signatures:cluster", Transcoded(*stub_, &Stub::ClusterSignatures));
  server.Get("/v1/signatures:correlate", Transcoded(*stub_, &Stub::CorrelateSignatures));
  server.Get("/v1/models", Transcoded(*stub_, &Stub::ListModels));
  server.Get("/v1/info", Transcoded(*stub_, &Stub::GetServerInfo));

  // Prometheus sends its bearer token (authorization: credentials_file in its scrape config).
  server.Get("/metrics", [this](const httplib::Request& request, httplib::Response& response) {
    if (auto caller = authentication_.Authenticate(request.get_header_value("Authorization"));
        !caller.ok()) {
      return WriteError(caller.status(), response);
    }
    auto status = core_.GetStatus();
    if (!status.ok()) return WriteError(status.status(), response);
    response.set_content(PrometheusMetrics(*status), kPrometheusContentType);
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz",
             [this](const httplib::Request&, httplib::Response& response) { Ready(response); });

  // The dashboard is one page that routes by its URL: the jobs, a job, an overlay.
  for (const char* page : {"/", "/jobs/[^/]+", "/overlay"}) {
    server.Get(page, [](const httplib::Request& request, httplib::Response& response) {
      ServeAsset("index.html", request, response);
    });
  }
  server.Get("/assets/([^/]+)", [](const httplib::Request& request, httplib::Response& response) {
    ServeAsset(request.matches[1].str(), request, response);
  });

  server.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        return CrossOrigin(request, response) ? httplib::Server::HandlerResponse::Handled
                                              : httplib::Server::HandlerResponse::Unhandled;
      });
  server.set_error_handler(httplib::Server::HandlerWithResponse(AnswerUnrouted));
  server.set_exception_handler(AnswerException);
}

void HttpServer::Signature(const httplib::Request& request, httplib::Response& response) {
  v1::GetSignatureRequest signature_request;
  if (absl::Status parsed = ParseRequest(request, "job_id", signature_request); !parsed.ok()) {
    return WriteError(parsed, response);
  }
  // A conditional request is answered from the job alone when its signature is unchanged.
  if (request.has_header("If-None-Match")) {
    v1::GetJobRequest job_request;
    job_request.set_job_id(signature_request.job_id());
    v1::Job job;
    if (Call(*stub_, &Stub::GetJob, request, job_request, job).ok() && job.finished_at_ms() != 0 &&
        request.get_header_value("If-None-Match") == SignatureEtag(job, options_.version)) {
      response.status = 304;
      response.set_header("ETag", SignatureEtag(job, options_.version));
      return;
    }
  }
  v1::Signature signature;
  const grpc::Status status =
      Call(*stub_, &Stub::GetSignature, request, signature_request, signature);
  if (!status.ok()) return WriteError(status, response);
  if (signature.job().finished_at_ms() != 0) {
    response.set_header("ETag", SignatureEtag(signature.job(), options_.version));
  }
  response.set_content(ToJson(signature), kJson);
}

void HttpServer::Ready(httplib::Response& response) {
  if (!ready_) return WriteError(core::ServerStoppingError(), response);
  auto status = core_.GetStatus();  // reads the database
  if (!status.ok()) return WriteError(status.status(), response);
  int64_t workers = 0;
  for (const core::WorkerStatus& worker : status->workers) {
    if (worker.last_seen != absl::InfinitePast()) ++workers;
  }
  if (workers == 0) {
    return WriteError(absl::UnavailableError("no worker has asked for work yet: jobs would wait"),
                      response);
  }
  response.set_content(absl::StrCat("ready: ", workers, " worker(s)\n"), "text/plain");
}

bool HttpServer::CrossOrigin(const httplib::Request& request, httplib::Response& response) const {
  if (options_.cors_origin.empty() || !absl::StartsWith(request.path, "/v1/")) return false;
  response.set_header("Access-Control-Allow-Origin", options_.cors_origin);
  response.set_header("Vary", "Origin");
  response.set_header("Access-Control-Expose-Headers", "ETag");
  if (request.method != "OPTIONS") return false;
  // A preflight: GETs, conditional ones too.
  response.set_header("Access-Control-Allow-Methods", "GET");
  response.set_header("Access-Control-Allow-Headers", "Authorization, If-None-Match");
  response.set_header("Access-Control-Max-Age", "600");
  response.status = 204;
  return true;
}

absl::Status HttpServer::Start() {
  if (!server_->is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the HTTP port cannot serve HTTPS with --tls-cert=", options_.tls_cert,
                     " and --tls-key=", options_.tls_key, " (does the key fit the certificate?)"));
  }
  AddRoutes();
  server_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  server_->set_keep_alive_max_count(kKeepAliveRequests);
  server_->set_keep_alive_timeout(kKeepAliveSeconds);
  server_->set_payload_max_length(kMaxBodyBytes);
  const size_t colon = options_.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(options_.listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-listen must be HOST:PORT, got '", options_.listen, "'"));
  }
  const std::string host = options_.listen.substr(0, colon);
  // "[::1]" names an IPv6 host in an address; getaddrinfo wants it bare.
  std::string bare_host(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
  const int bound = port == 0 ? server_->bind_to_any_port(bare_host)
                              : (server_->bind_to_port(bare_host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen, " (HTTP)"));
  }
  address_ = absl::StrCat(host, ":", bound);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace affsig::http
