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
  job.set_owner("alice");
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
  EXPECT_THAT(json, HasSubstr("\"state\": \"RUNNING\", \"owner\": \"alice\""));
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
  const std::string table = FormatJobs({SampleJob(), other}, OutputFormat::kTable, false);
  EXPECT_THAT(table, HasSubstr("job_id  state      progress"));
  EXPECT_THAT(table, HasSubstr("job-1   RUNNING        3/17"));
  EXPECT_THAT(table, HasSubstr("job-22  SUCCEEDED         -"));
  const std::string csv = FormatJobs({SampleJob()}, OutputFormat::kCsv, false);
  EXPECT_THAT(csv, HasSubstr("job-1,RUNNING,alice,\"resnet, \"\"seed 0\"\"\","));
  EXPECT_THAT(csv, HasSubstr("\"acc1=69.8,arch=resnet18\""));
  EXPECT_EQ(FormatJobs({}, OutputFormat::kJson, false), "[]\n");
}

TEST(OutputFormatTest, StatisticsOfSucceededJobsInListsAndJson) {
  v1::Job done = SampleJob();
  done.set_state(v1::SUCCEEDED);
  done.clear_progress();
  v1::SignatureSummary* summary = done.mutable_summary();
  summary->set_entries(4);
  summary->set_scored(3);
  summary->set_mean_score(0.7);
  summary->set_median_score(0.75);
  summary->set_std_score(0.1);
  summary->set_min_score(0.5);
  summary->set_max_score(0.9);
  summary->set_score_range(0.4);
  summary->set_lowest_score_depth(1.0 / 3);
  v1::Job nothing = done;
  nothing.set_job_id("job-2");
  nothing.mutable_summary()->Clear();
  nothing.mutable_summary()->set_entries(2);
  const std::string table = FormatJobs({done, nothing, SampleJob()}, OutputFormat::kTable, true);
  EXPECT_THAT(table, HasSubstr("mean  median     std     min     max   range  lowest_depth"));
  EXPECT_THAT(table, HasSubstr("0.7000  0.7500  0.1000  0.5000  0.9000  0.4000  0.3333\n"));
  EXPECT_THAT(table, HasSubstr("     -       -       -       -       -       -  -\n"));
  const std::string csv = FormatJobs({done, nothing}, OutputFormat::kCsv, true);
  EXPECT_THAT(csv, HasSubstr(",scored,mean,median,std,min,max,range,lowest_depth\n"));
  EXPECT_THAT(
      csv, HasSubstr(",3,0.69999999999999996,0.75,0.10000000000000001,0.5,0.90000000000000002,"));
  EXPECT_THAT(csv, HasSubstr(",0,,,,,,,\n"));
  EXPECT_THAT(JobJson(done), HasSubstr("\"summary\": {\"entries\": 4, \"scored\": 3, \"mean\": "
                                       "0.69999999999999996, \"median\": 0.75"));
  EXPECT_THAT(JobJson(nothing), HasSubstr("\"scored\": 0, \"mean\": null"));
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

TEST(OutputFormatTest, AJobsMeasuresShowOnlyWhenItAskedForThem) {
  v1::Signature signature;
  *signature.mutable_job() = SampleJob();
  signature.mutable_job()->add_measures("cka");
  v1::SignatureEntry* entry = signature.add_entries();
  entry->set_module("relu");
  entry->set_score(0.25);
  entry->set_status("ok");
  entry->set_cka(0.5);
  entry->set_cka_std(0.0);
  const std::string json = FormatResult(signature, OutputFormat::kJson);
  EXPECT_THAT(json, HasSubstr("\"measures\": [\"cka\"]"));
  EXPECT_THAT(json, HasSubstr("\"cka\": 0.5, \"cka_std\": 0}"));
  EXPECT_THAT(FormatJob(signature.job(), OutputFormat::kTable), HasSubstr("\nmeasures     cka\n"));
  EXPECT_THAT(FormatResult(signature, OutputFormat::kCsv), HasSubstr(",cka,cka_std\n"));

  const v1::Job plain = SampleJob();
  EXPECT_THAT(JobJson(plain), ::testing::Not(HasSubstr("measures")));
  EXPECT_THAT(FormatJob(plain, OutputFormat::kTable), ::testing::Not(HasSubstr("measures")));
}

}  // namespace
}  // namespace affsig::client
