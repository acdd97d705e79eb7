// What the HTTP port's integration tests share: the real affsig-server with --http-listen on a
// kernel-picked port (and its local CPU worker), an HTTP client (httplib, as any other client),
// JSON read into protos the way protobuf's JSON mapping defines, jobs of the golden MLP, and a
// free port for the other programs they start (Prometheus, chromedriver).
#ifndef AFFSIG_TESTS_HTTP_HTTP_TEST_H_
#define AFFSIG_TESTS_HTTP_HTTP_TEST_H_

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>
#include <httplib.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/api/service_test.h"

namespace affsig::testing {

class HttpTest : public ServiceTest {
 protected:
  // The server with --http-listen=127.0.0.1:0, one CPU worker, and `flags`.
  void StartHttpServer(const std::vector<std::string>& flags = {});
  std::string HttpUrl() const { return "http://" + server_->http_address(); }

  // GET (or another method) of `path` on the HTTP port; fails the test when nothing answered.
  httplib::Result Get(const std::string& path, const httplib::Headers& headers = {});
  httplib::Result Send(const std::string& method, const std::string& path);

  // Submits `model` on `input`, named and labelled, in batches of `batch_size` (0: one batch) with
  // `activations`, and waits for it to end; its id.
  std::string RunJob(const std::string& model, const std::string& input, const std::string& name,
                     std::map<std::string, std::string> labels, int64_t batch_size,
                     v1::ActivationsMode activations = v1::MODULES);
  // The golden MLP on its own input in batches of 32: two batches, an std per entry.
  std::string RunMlpJob(const std::string& name, std::map<std::string, std::string> labels) {
    return RunJob(mlp_->model_path, mlp_->input_path, name, std::move(labels), 32);
  }
  // Until /readyz answers 200: the local worker has asked for work.
  void WaitUntilReady();

  std::unique_ptr<httplib::Client> http_;
};

// `json` into `message` by protobuf's JSON mapping; unknown fields are an error.
absl::Status ParseJson(const std::string& json, google::protobuf::Message& message);
// Fails the test, showing the difference, unless `a` and `b` are equal field for field.
void ExpectSameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b);
// A port that was free a moment ago (the kernel picked it), for programs that cannot be told to
// pick one themselves and print it.
int FreePort();

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_HTTP_HTTP_TEST_H_
