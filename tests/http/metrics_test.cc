// /metrics on the real server after real jobs: Debian's promtool accepts it (format and naming
// conventions), its numbers are the jobs that ran, and a real Prometheus scrapes it and answers a
// PromQL query with them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/api/logged_process.h"
#include "tests/http/http_test.h"
#include "tests/subprocess.h"

namespace affsig::testing {
namespace {

using ::testing::HasSubstr;

class MetricsTest : public HttpTest {
 protected:
  std::string Metrics() {
    httplib::Result result = Get("/metrics");
    if (!result) return "";
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return result->body;
  }

  // The value of the sample written exactly as `series` (name and labels); -1 when absent.
  static double Sample(const std::string& metrics, const std::string& series) {
    for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
      if (absl::ConsumePrefix(&line, series + " ")) {
        double value = 0;
        if (absl::SimpleAtod(line, &value)) return value;
      }
    }
    return -1;
  }

  void RunThreeJobs() {
    for (int i = 0; i < 3; ++i) RunMlpJob(absl::StrCat("mlp-", i), {{"arch", "mlp"}});
  }
};

TEST_F(MetricsTest, PromtoolAcceptsTheMetricsAndTheyCountTheJobsThatRan) {
  StartHttpServer();
  WaitUntilReady();
  RunThreeJobs();
  const std::string metrics = Metrics();

  const std::string file = (dir_ / "metrics.txt").string();
  std::ofstream(file) << metrics;
  // promtool reads the exposition on stdin; lint problems are printed and fail it.
  ProcessResult checked =
      RunProcess({"/bin/sh", "-c", absl::StrCat("promtool check metrics < '", file, "'")});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_EQ(checked.out + checked.err, "") << metrics;

  EXPECT_EQ(Sample(metrics, "affsig_jobs{state=\"SUCCEEDED\"}"), 3);
  EXPECT_EQ(Sample(metrics, "affsig_jobs{state=\"FAILED\"}"), 0);
  EXPECT_EQ(Sample(metrics, "affsig_queue_depth"), 0);
  EXPECT_EQ(Sample(metrics, "affsig_workers{state=\"idle\"}") +
                Sample(metrics, "affsig_workers{state=\"busy\"}"),
            1);
  EXPECT_EQ(Sample(metrics,
                   "affsig_job_attempt_duration_seconds_count{device=\"cpu\","
                   "outcome=\"SUCCEEDED\"}"),
            3);
  EXPECT_EQ(Sample(metrics,
                   "affsig_job_attempt_duration_seconds_bucket{device=\"cpu\","
                   "outcome=\"SUCCEEDED\",le=\"+Inf\"}"),
            3);
  // 10 of the MLP's 11 entries are scored, in 2 batches each.
  EXPECT_EQ(Sample(metrics, "affsig_activations_scored_total"), 3 * 10 * 2);
  EXPECT_EQ(Sample(metrics, "affsig_upload_bytes_total{kind=\"model\"}"),
            std::filesystem::file_size(mlp_->model_path));
  EXPECT_EQ(Sample(metrics, "affsig_upload_bytes_total{kind=\"input\"}"),
            std::filesystem::file_size(mlp_->input_path));
  EXPECT_THAT(metrics, HasSubstr("affsig_build_info{version=\""));
  EXPECT_GT(Sample(metrics, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(Sample(metrics, "process_cpu_seconds_total"), 0);
  EXPECT_GT(Sample(metrics, "process_start_time_seconds"), absl::ToUnixSeconds(absl::Now()) - 3600);
}

TEST_F(MetricsTest, PrometheusScrapesTheJobCounts) {
  StartHttpServer();
  RunThreeJobs();

  const std::string config = (dir_ / "prometheus.yml").string();
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n"
                        << "scrape_configs:\n  - job_name: affsig\n    static_configs:\n"
                        << "      - targets: ['" << server_->http_address() << "']\n";
  const std::string prometheus_address = absl::StrCat("127.0.0.1:", FreePort());
  auto prometheus = LoggedProcess::Start({"/usr/bin/prometheus", "--config.file=" + config,
                                          "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                                          "--web.listen-address=" + prometheus_address},
                                         (dir_ / "prometheus.log").string());
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  // The query through Prometheus' HTTP API, until its first scrape is in.
  httplib::Client query("http://" + prometheus_address);
  const std::string promql = "/api/v1/query?query=affsig_jobs%7Bstate%3D%22SUCCEEDED%22%7D";
  std::string answer;
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while (absl::Now() < deadline) {
    httplib::Result result = query.Get(promql.c_str());
    if (result && result->status == 200 &&
        result->body.find("\"result\":[]") == std::string::npos) {
      answer = result->body;
      break;
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_FALSE(answer.empty()) << prometheus->Log();
  // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},
  //  "value":[<time>,"3"]}]}}
  google::protobuf::Struct response;
  ASSERT_TRUE(ParseJson(answer, response).ok());
  EXPECT_EQ(response.fields().at("status").string_value(), "success");
  const auto& result = response.fields().at("data").struct_value().fields().at("result");
  ASSERT_EQ(result.list_value().values_size(), 1) << answer;
  const auto& sample = result.list_value().values(0).struct_value();
  EXPECT_EQ(sample.fields().at("metric").struct_value().fields().at("job").string_value(),
            "affsig");
  EXPECT_EQ(sample.fields().at("value").list_value().values(1).string_value(), "3") << answer;
}

}  // namespace
}  // namespace affsig::testing
