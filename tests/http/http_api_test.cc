// The JSON API on the real server: each endpoint answers what its gRPC call answers — jobs,
// signatures, pages, analyses and errors — in protobuf's JSON mapping with the proto's field
// names; finished signatures revalidate by ETag; CORS only when asked; health and readiness; the
// dashboard's files served from the binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/http/http_test.h"

namespace affsig::testing {
namespace {

using ::testing::HasSubstr;

class HttpApiTest : public HttpTest {
 protected:
  // The JSON at `path`, parsed into `Message`, after a 200.
  template <typename Message>
  Message GetMessage(const std::string& path) {
    Message message;
    httplib::Result result = Get(path);
    if (!result) return message;
    EXPECT_EQ(result->status, 200) << path << ": " << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
    EXPECT_TRUE(ParseJson(result->body, message).ok()) << result->body;
    return message;
  }

  // The google.rpc.Status of an error at `path`, after `http_status`.
  google::rpc::Status GetError(const std::string& path, int http_status) {
    google::rpc::Status status;
    httplib::Result result = Get(path);
    if (!result) return status;
    EXPECT_EQ(result->status, http_status) << path << ": " << result->body;
    EXPECT_TRUE(ParseJson(result->body, status).ok()) << result->body;
    return status;
  }

  static std::string Reason(const google::rpc::Status& status) {
    for (const auto& detail : status.details()) {
      google::rpc::ErrorInfo info;
      if (detail.UnpackTo(&info)) return info.reason();
    }
    return "";
  }

  // The jobs the tests share: three MLP jobs, labelled arch=mlp and seed=0, 1, 2.
  void RunThreeJobs() {
    for (int i = 0; i < 3; ++i) {
      job_ids_.push_back(
          RunMlpJob(absl::StrCat("mlp-", i), {{"arch", "mlp"}, {"seed", absl::StrCat(i)}}));
    }
  }

  std::vector<std::string> job_ids_;
};

TEST_F(HttpApiTest, JobsSignaturesModelsAndInfoAreWhatGrpcAnswers) {
  StartHttpServer();
  RunThreeJobs();

  auto jobs = client_->ListJobs({});
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ExpectSameMessage(GetMessage<v1::ListJobsResponse>("/v1/jobs"), *jobs);

  v1::ListJobsRequest filtered;
  filtered.set_state(v1::SUCCEEDED);
  filtered.add_labels("arch=mlp");
  filtered.add_labels("seed=1");
  auto one = client_->ListJobs(filtered);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->jobs_size(), 1);
  ExpectSameMessage(
      GetMessage<v1::ListJobsResponse>("/v1/jobs?state=SUCCEEDED&labels=arch=mlp&labels=seed=1"),
      *one);

  // Pages: the HTTP token continues the listing as the gRPC one does.
  v1::ListJobsRequest paged;
  paged.set_page_size(2);
  auto first = client_->ListJobs(paged);
  ASSERT_TRUE(first.ok()) << first.status();
  const auto http_first = GetMessage<v1::ListJobsResponse>("/v1/jobs?page_size=2");
  ExpectSameMessage(http_first, *first);
  ASSERT_FALSE(http_first.next_page_token().empty());
  paged.set_page_token(first->next_page_token());
  auto second = client_->ListJobs(paged);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->jobs_size(), 1);
  ExpectSameMessage(GetMessage<v1::ListJobsResponse>(absl::StrCat(
                        "/v1/jobs?page_size=2&page_token=", http_first.next_page_token())),
                    *second);

  auto job = client_->GetJob(job_ids_[0]);
  ASSERT_TRUE(job.ok()) << job.status();
  ExpectSameMessage(GetMessage<v1::Job>("/v1/jobs/" + job_ids_[0]), *job);

  auto signature = client_->GetSignature(job_ids_[0]);
  ASSERT_TRUE(signature.ok()) << signature.status();
  ExpectSameMessage(GetMessage<v1::Signature>("/v1/jobs/" + job_ids_[0] + "/signature"),
                    *signature);

  v1::ListSignaturesRequest full;
  full.add_labels("arch=mlp");
  full.set_view(v1::FULL);
  auto signatures = client_->ListSignatures(full);
  ASSERT_TRUE(signatures.ok()) << signatures.status();
  EXPECT_EQ(signatures->signatures_size(), 3);
  ExpectSameMessage(
      GetMessage<v1::ListSignaturesResponse>("/v1/signatures?labels=arch=mlp&view=FULL"),
      *signatures);

  auto models = client_->ListModels({});
  ASSERT_TRUE(models.ok()) << models.status();
  ExpectSameMessage(GetMessage<v1::ListModelsResponse>("/v1/models"), *models);

  auto info = client_->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  v1::ServerInfo http_info = GetMessage<v1::ServerInfo>("/v1/info");
  // When each worker was last seen moves on between the two reads.
  for (auto* listed : {&*info, &http_info}) {
    for (v1::Worker& worker : *listed->mutable_workers()) worker.clear_last_seen_ms();
  }
  ExpectSameMessage(http_info, *info);
}

TEST_F(HttpApiTest, JsonHasTheProtoFieldNamesEveryFieldAndNoScoreWhereNoneWasComputed) {
  StartHttpServer();
  const std::string job_id = RunMlpJob("mlp", {});
  httplib::Result result = Get("/v1/jobs/" + job_id + "/signature");
  ASSERT_TRUE(result);
  // The proto's names (job_id, not jobId); a zero still shown ("call":"0"); int64 as strings.
  EXPECT_THAT(result->body, HasSubstr(absl::StrCat("\"job_id\":\"", job_id, "\"")));
  EXPECT_THAT(result->body, HasSubstr("\"call\":\"0\""));
  EXPECT_THAT(result->body, HasSubstr("\"batch_scores\":["));
  v1::Signature signature;
  ASSERT_TRUE(ParseJson(result->body, signature).ok());
  ASSERT_EQ(signature.entries_size(), 11);
  const v1::SignatureEntry& glu = signature.entries(9);
  EXPECT_EQ(glu.status(), "dim_mismatch");
  EXPECT_FALSE(glu.has_score());  // absent, not 0
  EXPECT_EQ(signature.entries(0).batches(), 2);
  EXPECT_GT(signature.summary().scored(), 0);
}

TEST_F(HttpApiTest, AnalysesAreWhatGrpcAnswers) {
  StartHttpServer();
  RunThreeJobs();

  v1::CompareSignaturesRequest compare;
  for (const std::string& id : job_ids_) compare.mutable_signatures()->add_job_ids(id);
  compare.set_distance(v1::DISTANCE_EUCLIDEAN);
  auto comparison = client_->CompareSignatures(compare);
  ASSERT_TRUE(comparison.ok()) << comparison.status();
  ExpectSameMessage(GetMessage<v1::SignatureComparison>(absl::StrCat(
                        "/v1/signatures:compare?signatures.job_ids=", job_ids_[0],
                        "&signatures.job_ids=", job_ids_[1], "&signatures.job_ids=", job_ids_[2],
                        "&distance=DISTANCE_EUCLIDEAN")),
                    *comparison);

  v1::ClusterSignaturesRequest cluster;
  cluster.mutable_comparison()->mutable_signatures()->add_labels("arch=mlp");
  cluster.set_linkage(v1::LINKAGE_AVERAGE);
  cluster.set_clusters(2);
  auto clustering = client_->ClusterSignatures(cluster);
  ASSERT_TRUE(clustering.ok()) << clustering.status();
  ExpectSameMessage(GetMessage<v1::SignatureClustering>(
                        "/v1/signatures:cluster?comparison.signatures.labels=arch=mlp"
                        "&linkage=LINKAGE_AVERAGE&clusters=2"),
                    *clustering);

  v1::CorrelateSignaturesRequest correlate;
  correlate.set_label("seed");
  correlate.set_statistic(v1::STATISTIC_MEDIAN);
  correlate.add_filters("arch=mlp");
  auto correlation = client_->CorrelateSignatures(correlate);
  ASSERT_TRUE(correlation.ok()) << correlation.status();
  ExpectSameMessage(
      GetMessage<v1::SignatureCorrelation>(
          "/v1/signatures:correlate?label=seed&statistic=STATISTIC_MEDIAN&filters=arch=mlp"),
      *correlation);
}

TEST_F(HttpApiTest, ErrorsAreGoogleRpcStatusesWithTheirCodesHttpStatus) {
  StartHttpServer();

  // The error gRPC gives, with its reason.
  auto missing = client_->GetJob("no-such-job");
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  google::rpc::Status not_found = GetError("/v1/jobs/no-such-job", 404);
  EXPECT_EQ(not_found.code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(not_found.message(), missing.status().message());
  EXPECT_EQ(Reason(not_found), "JOB_NOT_FOUND");
  EXPECT_EQ(Reason(GetError("/v1/jobs/no-such-job/signature", 404)), "JOB_NOT_FOUND");

  EXPECT_EQ(Reason(GetError("/v1/jobs?page_token=garbage", 400)), "INVALID_PAGE_TOKEN");
  EXPECT_EQ(Reason(GetError("/v1/signatures?labels==x", 400)), "INVALID_LABEL");
  // What the transcoding itself refuses: an unknown parameter, a value that does not parse.
  EXPECT_THAT(GetError("/v1/jobs?colour=red", 400).message(), HasSubstr("colour"));
  EXPECT_THAT(GetError("/v1/jobs?state=FINISHED", 400).message(), HasSubstr("JobState"));
  EXPECT_THAT(GetError("/v1/jobs?page_size=many", 400).message(), HasSubstr("page_size"));
  EXPECT_EQ(Reason(GetError("/v1/signatures:compare?signatures.job_ids=no-such-job"
                            "&signatures.job_ids=other",
                            404)),
            "JOB_NOT_FOUND");

  // Read-only: nothing else is served, and says so in the same form.
  for (const char* method : {"POST", "DELETE"}) {
    httplib::Result result = Send(method, "/v1/jobs");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 404);
    google::rpc::Status status;
    ASSERT_TRUE(ParseJson(result->body, status).ok()) << result->body;
    EXPECT_THAT(status.message(), HasSubstr("read-only"));
  }
  EXPECT_EQ(GetError("/v1/nothing", 404).code(), static_cast<int>(absl::StatusCode::kNotFound));
}

TEST_F(HttpApiTest, AFinishedJobsSignatureRevalidatesByEtag) {
  StartHttpServer();
  const std::string job_id = RunMlpJob("mlp", {});
  const std::string path = "/v1/jobs/" + job_id + "/signature";
  httplib::Result first = Get(path);
  ASSERT_TRUE(first);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());

  httplib::Result unchanged = Get(path, {{"If-None-Match", etag}});
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->status, 304);
  EXPECT_TRUE(unchanged->body.empty());
  EXPECT_EQ(unchanged->get_header_value("ETag"), etag);

  httplib::Result other = Get(path, {{"If-None-Match", "\"something-else\""}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_EQ(other->body, first->body);

  // A job not yet ended has no ETag: its signature is still to come.
  const std::string queued = SubmitOrDie(ForeverModel(), DeepInput(8));
  httplib::Result pending = Get("/v1/jobs/" + queued + "/signature");
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->status, 200);
  EXPECT_FALSE(pending->has_header("ETag"));
  httplib::Result conditional = Get("/v1/jobs/" + queued + "/signature", {{"If-None-Match", "*"}});
  ASSERT_TRUE(conditional);
  EXPECT_EQ(conditional->status, 200);
}

TEST_F(HttpApiTest, CrossOriginReadsOnlyForTheOriginNamed) {
  StartHttpServer();
  httplib::Result closed = Get("/v1/jobs", {{"Origin", "https://grafana.lab"}});
  ASSERT_TRUE(closed);
  EXPECT_FALSE(closed->has_header("Access-Control-Allow-Origin"));

  StartHttpServer({"--http-cors-origin=https://grafana.lab"});
  httplib::Result open = Get("/v1/jobs", {{"Origin", "https://grafana.lab"}});
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, 200);
  EXPECT_EQ(open->get_header_value("Access-Control-Allow-Origin"), "https://grafana.lab");
  EXPECT_EQ(open->get_header_value("Access-Control-Expose-Headers"), "ETag");
  httplib::Result preflight = Send("OPTIONS", "/v1/jobs");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Methods"), "GET");
  EXPECT_THAT(preflight->get_header_value("Access-Control-Allow-Headers"),
              HasSubstr("If-None-Match"));
  // Not the metrics or the dashboard: only the API.
  httplib::Result metrics = Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_FALSE(metrics->has_header("Access-Control-Allow-Origin"));
}

TEST_F(HttpApiTest, HealthAndReadiness) {
  StartHttpServer({"--devices=none"});
  httplib::Result alive = Get("/healthz");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);
  // No worker: alive, but jobs would wait.
  google::rpc::Status waiting = GetError("/readyz", 503);
  EXPECT_EQ(waiting.code(), static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_THAT(waiting.message(), HasSubstr("worker"));

  StartHttpServer();
  WaitUntilReady();
  httplib::Result ready = Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_THAT(ready->body, HasSubstr("1 worker"));
}

TEST_F(HttpApiTest, TheDashboardIsServedFromTheBinary) {
  StartHttpServer({"--devices=none"});
  for (const char* page : {"/", "/jobs/some-job", "/overlay"}) {
    httplib::Result result = Get(page);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200) << page;
    EXPECT_EQ(result->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_THAT(result->body, HasSubstr("/assets/dashboard.js"));
  }
  httplib::Result script = Get("/assets/dashboard.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_THAT(script->body, HasSubstr("function signaturePlot"));
  const std::string etag = script->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  httplib::Result again = Get("/assets/dashboard.js", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  httplib::Result missing = Get("/assets/nothing.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

}  // namespace
}  // namespace affsig::testing
