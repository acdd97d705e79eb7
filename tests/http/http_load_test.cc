// A lab's dashboards at once: 50 clients poll /v1/jobs over their own kept-alive connections
// for 30 s while the worker runs jobs. Every answer must be a 200; the latencies (p50, p99, max)
// are printed for docs/benchmarks.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/http/http_test.h"

namespace affsig::testing {
namespace {

constexpr int kClients = 50;
constexpr absl::Duration kLoad = absl::Seconds(30);
// Each client asks again this long after an answer: a dashboard refreshing four times a second.
constexpr absl::Duration kPollInterval = absl::Milliseconds(250);

class HttpLoadTest : public HttpTest {};

TEST_F(HttpLoadTest, FiftyClientsPollingTheJobsWhileJobsRunAllGetAnswers) {
  StartHttpServer();
  WaitUntilReady();
  // Enough work for the worker to be busy throughout, and a page of jobs to list.
  const std::string input = DeepInput(256);
  std::vector<std::string> jobs;
  for (int i = 0; i < 12; ++i) jobs.push_back(SubmitOrDie(DeepModel(), input, {{"load", "yes"}}));
  for (int i = 0; i < 13; ++i) jobs.push_back(SubmitMlp({{"load", "yes"}}));
  WaitUntilScored(jobs[0], 1);

  std::atomic<int64_t> errors{0};
  absl::Mutex mutex;
  std::vector<double> latencies_ms;
  std::string first_error;
  const absl::Time end = absl::Now() + kLoad;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      httplib::Client http(HttpUrl());
      http.set_keep_alive(true);
      http.set_read_timeout(30);
      std::vector<double> mine;
      while (absl::Now() < end) {
        const absl::Time start = absl::Now();
        httplib::Result result = http.Get("/v1/jobs?page_size=25&labels=load=yes");
        mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
        if (!result || result->status != 200 || result->body.rfind("{\"jobs\":[{", 0) != 0) {
          ++errors;
          absl::MutexLock lock(&mutex);
          if (first_error.empty()) {
            first_error = result ? absl::StrFormat("%d %s", result->status, result->body)
                                 : httplib::to_string(result.error());
          }
        }
        absl::SleepFor(kPollInterval);
      }
      absl::MutexLock lock(&mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& client : clients) client.join();

  EXPECT_EQ(errors.load(), 0) << first_error;
  ASSERT_FALSE(latencies_ms.empty());
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto at = [&](double q) {
    return latencies_ms[std::min(
        latencies_ms.size() - 1,
        static_cast<size_t>(q * static_cast<double>(latencies_ms.size())))];
  };
  const std::string summary = absl::StrFormat(
      "%d clients, %d requests in %.0f s (%.0f/s): p50 %.1f ms, p99 %.1f ms, max %.1f ms", kClients,
      latencies_ms.size(), absl::ToDoubleSeconds(kLoad),
      static_cast<double>(latencies_ms.size()) / absl::ToDoubleSeconds(kLoad), at(0.5), at(0.99),
      latencies_ms.back());
  std::cout << summary << std::endl;
  RecordProperty("latency", summary);
  // Every client got answers throughout, not a few of them.
  EXPECT_GT(latencies_ms.size(), static_cast<size_t>(kClients * 30));

  // The jobs ran meanwhile.
  auto listed = client_->ListJobs([] {
    v1::ListJobsRequest request;
    request.set_state(v1::SUCCEEDED);
    return request;
  }());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_GT(listed->jobs_size(), 0);
}

}  // namespace
}  // namespace affsig::testing
