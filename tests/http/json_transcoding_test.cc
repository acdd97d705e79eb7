// The HTTP/JSON mapping on its own: query parameters into request messages (nested, repeated,
// enums, numbers, percent-encoding, a label filter's '='), the HTTP status of each gRPC code, and
// errors as google.rpc.Status JSON.
#include "server/http/json_transcoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "affsig/v1/signature_service.pb.h"
#include "common/error_reason.h"
#include "proto/grpc_status.h"

namespace affsig::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(JsonTranscodingTest, AQueryFillsTheRequestAsGrpcTranscodingDoes) {
  v1::ListJobsRequest jobs;
  ASSERT_TRUE(
      SetFieldsFromQuery(
          "state=succeeded&labels=arch=resnet18&labels=seed&page_size=20&pageToken=abc", jobs)
          .ok());
  EXPECT_EQ(jobs.state(), v1::SUCCEEDED);
  EXPECT_THAT(jobs.labels(), ElementsAre("arch=resnet18", "seed"));
  EXPECT_EQ(jobs.page_size(), 20);
  EXPECT_EQ(jobs.page_token(), "abc");

  v1::ClusterSignaturesRequest cluster;
  ASSERT_TRUE(SetFieldsFromQuery("comparison.signatures.job_ids=a&comparison.signatures.job_ids=b"
                                 "&comparison.resample=64&linkage=LINKAGE_WARD&threshold=0.25",
                                 cluster)
                  .ok());
  EXPECT_THAT(cluster.comparison().signatures().job_ids(), ElementsAre("a", "b"));
  EXPECT_EQ(cluster.comparison().resample(), 64);
  EXPECT_EQ(cluster.linkage(), v1::LINKAGE_WARD);
  EXPECT_DOUBLE_EQ(cluster.threshold(), 0.25);
}

TEST(JsonTranscodingTest, ValuesArePercentDecoded) {
  v1::ListJobsRequest jobs;
  ASSERT_TRUE(SetFieldsFromQuery("name=my+run%2F1&labels=note%3Dtwo%20words&state=2&", jobs).ok());
  EXPECT_EQ(jobs.name(), "my run/1");
  EXPECT_THAT(jobs.labels(), ElementsAre("note=two words"));
  EXPECT_EQ(jobs.state(), v1::RUNNING);  // an enum by number too
}

TEST(JsonTranscodingTest, UnknownParametersAndBadValuesAreInvalidArguments) {
  v1::ListJobsRequest jobs;
  for (const char* query :
       {"colour=red", "page_size=lots", "state=FINISHED", "name=%zz", "state.x=1"}) {
    const absl::Status status = SetFieldsFromQuery(query, jobs);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << query;
  }
  EXPECT_THAT(SetFieldsFromQuery("colour=red", jobs).message(), HasSubstr("colour"));
  v1::CompareSignaturesRequest compare;
  EXPECT_THAT(SetFieldsFromQuery("signatures=x", compare).message(), HasSubstr("signatures.FIELD"));
}

TEST(JsonTranscodingTest, ErrorsHaveTheHttpStatusOfTheirCodeAndAGoogleRpcStatusBody) {
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::OK), 200);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::FAILED_PRECONDITION), 400);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::DATA_LOSS), 500);

  const std::string json = ErrorJson(ToGrpcStatus(
      WithReason(absl::NotFoundError("no job 'x' on this server"), reason::kJobNotFound)));
  EXPECT_EQ(json,
            "{\"code\":5,\"message\":\"no job 'x' on this server\",\"details\":[{\"@type\":"
            "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"JOB_NOT_FOUND\","
            "\"domain\":\"affsig.v1\",\"metadata\":{}}]}");
}

TEST(JsonTranscodingTest, JsonHasTheProtoNamesAndEveryFieldButUnsetOptionalOnes) {
  v1::SignatureEntry entry;
  entry.set_status("dim_mismatch");
  const std::string json = ToJson(entry);
  EXPECT_THAT(json, HasSubstr("\"batch_scores\":[]"));
  EXPECT_THAT(json, HasSubstr("\"index\":\"0\""));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("score\":")));
  entry.set_score(0.5);
  EXPECT_THAT(ToJson(entry), HasSubstr("\"score\":0.5"));
}

}  // namespace
}  // namespace affsig::http
