// affsig-server's HTTP port (--http-listen), for browsers, Grafana, notebooks and Prometheus:
//   GET /v1/...        the read calls of the gRPC API, transcoded (json_transcoding.h): each
//                      request becomes the call's request message, sent with the request's
//                      Authorization header on the gRPC server's in-process channel, and is
//                      answered by the gRPC API itself, its response in protobuf's JSON
//                      mapping. One code path, so HTTP and gRPC clients cannot be told different
//                      things nor pass different checks. Finished jobs' signatures carry an
//                      ETag (If-None-Match: 304).
//   GET /metrics       Prometheus (prometheus_metrics.h); with --auth-tokens, a bearer token
//   GET /healthz       the process answers; /readyz: the database answers, a worker has asked
//                      for work and the server is not stopping
//   GET /              the dashboard (dashboard/, compiled in: no CDN, works offline)
// Read-only: nothing here submits, cancels or deletes. Cross-origin reads only for the origin
// --http-cors-origin names. HTTPS when the server has --tls-cert and --tls-key.
#ifndef AFFSIG_SERVER_HTTP_HTTP_SERVER_H_
#define AFFSIG_SERVER_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "affsig/v1/signature_service.grpc.pb.h"
#include "server/api/authentication.h"
#include "server/core/server_core.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace affsig::http {

struct HttpOptions {
  std::string listen;       // HOST:PORT; port 0 picks a free one
  std::string cors_origin;  // "": no cross-origin reads; else that origin (or "*")
  std::string version;      // part of signatures' ETags: a new server may write them otherwise
  // HTTPS with the gRPC port's certificate and key (PEM files); "": plain HTTP. Clients are
  // asked for no certificate: browsers have none, and nothing here changes anything.
  std::string tls_cert;
  std::string tls_key;
};

class HttpServer {
 public:
  // `api_channel`: the gRPC server's in-process channel, which the API's reads go through.
  HttpServer(core::ServerCore& core, std::shared_ptr<grpc::Channel> api_channel,
             const api::Authentication& authentication, HttpOptions options);
  ~HttpServer();

  // Binds (connections are accepted from now on) and serves on threads of its own.
  absl::Status Start();
  // HOST:PORT it listens on (the port picked when asked for 0).
  const std::string& address() const { return address_; }
  // /readyz says UNAVAILABLE from now on: the server is stopping.
  void StopReadiness() { ready_ = false; }
  // Stops accepting, ends the connections and waits for the requests in progress.
  void Stop();

 private:
  void AddRoutes();
  void Signature(const httplib::Request& request, httplib::Response& response);
  void Ready(httplib::Response& response);
  // Adds the CORS headers to /v1/ responses; answers preflight requests.
  bool CrossOrigin(const httplib::Request& request, httplib::Response& response) const;

  core::ServerCore& core_;
  std::unique_ptr<v1::SignatureService::Stub> stub_;
  const api::Authentication& authentication_;
  const HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string address_;
  std::atomic<bool> ready_{true};
};

}  // namespace affsig::http

#endif  // AFFSIG_SERVER_HTTP_HTTP_SERVER_H_
