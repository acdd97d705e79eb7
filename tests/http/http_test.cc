#include "tests/http/http_test.h"

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/time/clock.h"

namespace affsig::testing {

void HttpTest::StartHttpServer(const std::vector<std::string>& flags) {
  std::vector<std::string> all = {"--devices=cpu", "--http-listen=127.0.0.1:0"};
  all.insert(all.end(), flags.begin(), flags.end());
  StartServer(all);
  ASSERT_FALSE(server_->http_address().empty()) << "no HTTP address printed";
  http_ = std::make_unique<httplib::Client>(HttpUrl());
  http_->set_read_timeout(60);
}

httplib::Result HttpTest::Get(const std::string& path, const httplib::Headers& headers) {
  httplib::Result result = http_->Get(path.c_str(), headers);
  EXPECT_TRUE(result) << "GET " << path << ": " << httplib::to_string(result.error());
  return result;
}

httplib::Result HttpTest::Send(const std::string& method, const std::string& path) {
  httplib::Request request;
  request.method = method;
  request.path = path;
  httplib::Result result = http_->send(request);
  EXPECT_TRUE(result) << method << " " << path << ": " << httplib::to_string(result.error());
  return result;
}

std::string HttpTest::RunJob(const std::string& model_path, const std::string& input_path,
                             const std::string& name, std::map<std::string, std::string> labels,
                             int64_t batch_size, v1::ActivationsMode activations) {
  auto model = client_->EnsureUploaded(model_path, client::BlobKind::kModel);
  auto input = client_->EnsureUploaded(input_path, client::BlobKind::kInput);
  EXPECT_TRUE(model.ok() && input.ok());
  if (!model.ok() || !input.ok()) return "";
  v1::SubmitJobRequest request;
  request.set_model_sha256(model->sha256);
  request.set_input_sha256(input->sha256);
  request.set_name(name);
  request.mutable_labels()->insert(labels.begin(), labels.end());
  request.mutable_data_options()->set_batch_size(batch_size);
  request.set_activations(activations);
  auto job = client_->Submit(request);
  EXPECT_TRUE(job.ok()) << job.status();
  if (!job.ok()) return "";
  EXPECT_EQ(WaitForEnd(job->job_id()).state(), v1::SUCCEEDED);
  return job->job_id();
}

void HttpTest::WaitUntilReady() {
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    httplib::Result ready = http_->Get("/readyz");
    if (ready && ready->status == 200) return;
    absl::SleepFor(absl::Milliseconds(100));
  }
  FAIL() << "/readyz never answered 200";
}

absl::Status ParseJson(const std::string& json, google::protobuf::Message& message) {
  const auto parsed = google::protobuf::util::JsonStringToMessage(json, &message);
  if (parsed.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(parsed.message()) + ": " + json);
}

void ExpectSameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  // NaN stands where a batch did not score an entry: equal to itself here.
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(a, b)) << differences;
}

int FreePort() {
  const int socket_fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(socket_fd);
  return port;
}

}  // namespace affsig::testing
