#include "client/output_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace affsig::client {
namespace {

using ::testing::HasSubstr;

v1::Job SampleJob() {
  v1::Job job;
  job.set_job_id("job-1");
  job.set_state(v1::RUNNING);
  job.set_name("resnet, \"seed 0\"");
  (*job.mutable_labels())["arch"] = "resnet18";
  (*job.mutable_labels())["acc1"] = "69.8";
  job.set_attempts(2);
  job.set_created_at_ms(1795779388970);
  job.mutable_progress()->set_done(3);
  job.mutable_progress()->set_total(17);
  job.mutable_progress()->set_activation("layer1.0.relu");
  job.set_device("cpu");
  return job;
}

TEST(OutputFormatTest, JobJsonHasNumbersNamesAndProgress) {
  const std::string json = JobJson(SampleJob());
  EXPECT_THAT(json, HasSubstr("\"job_id\": \"job-1\""));
  EXPECT_THAT(json, HasSubstr("\"state\": \"RUNNING\""));
  EXPECT_THAT(json, HasSubstr("\"name\": \"resnet, \\\"seed 0\\\"\""));
  EXPECT_THAT(json, HasSubstr("\"labels\": {\"acc1\": \"69.8\", \"arch\": \"resnet18\"}"));
  EXPECT_THAT(json, HasSubstr("\"attempts\": 2,"));
  EXPECT_THAT(json, HasSubstr("\"progress\": {\"done\": 3, \"total\": 17"));
}

TEST(OutputFormatTest, JobListsAlignForPeopleAndQuoteForCsv) {
  v1::Job other = SampleJob();
  other.set_job_id("job-22");
  other.set_state(v1::SUCCEEDED);
  other.clear_progress();
  const std::string table = FormatJobs({SampleJob(), other}, OutputFormat::kTable);
  EXPECT_THAT(table, HasSubstr("job_id  state      progress"));
  EXPECT_THAT(table, HasSubstr("job-1   RUNNING        3/17"));
  EXPECT_THAT(table, HasSubstr("job-22  SUCCEEDED         -"));
  const std::string csv = FormatJobs({SampleJob()}, OutputFormat::kCsv);
  EXPECT_THAT(csv, HasSubstr("job-1,RUNNING,\"resnet, \"\"seed 0\"\"\","));
  EXPECT_THAT(csv, HasSubstr("\"acc1=69.8,arch=resnet18\""));
  EXPECT_EQ(FormatJobs({}, OutputFormat::kJson), "[]\n");
}

TEST(OutputFormatTest, ResultJsonCarriesTheJobAndItsSignature) {
  v1::Signature signature;
  *signature.mutable_job() = SampleJob();
  v1::SignatureEntry* entry = signature.add_entries();
  entry->set_module("relu");
  entry->set_op("ReLU");
  entry->set_score(0.25);
  entry->set_status("ok");
  v1::SignatureEntry* skipped = signature.add_entries();
  skipped->set_index(1);
  skipped->set_status("too_few_samples");
  const std::string json = FormatResult(signature, OutputFormat::kJson);
  EXPECT_THAT(json, HasSubstr("\"job_id\": \"job-1\""));
  EXPECT_THAT(json, HasSubstr("\"signature\": [\n  {\"index\": 0, \"module\": \"relu\""));
  EXPECT_THAT(json, HasSubstr("\"score\": 0.25"));
  EXPECT_THAT(json, HasSubstr("\"score\": null, \"status\": \"too_few_samples\""));
}

}  // namespace
}  // namespace affsig::client
