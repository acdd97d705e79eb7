// A lab's load on the real server: many client processes at once, hundreds of open watches,
// submissions whose response is lost and retried, clients waiting across a server restart, and
// backpressure that refuses with a reason instead of dropping connections.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/error_reason.h"
#include "tests/api/open_watch.h"
#include "tests/api/service_test.h"
#include "tests/subprocess.h"

namespace affsig::api {
namespace {

using ::testing::HasSubstr;

// The threads of process `pid` now.
int ThreadCount(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  int threads = -1;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "Threads:")) {
      EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &threads));
    }
  }
  return threads;
}

class ServiceLoadTest : public testing::ServiceTest {
 protected:
  // `affsig submit --wait` of the golden MLP, its signature as CSV on stdout.
  testing::ProcessResult SubmitMlpThroughTheClient(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {AFFSIG_CLIENT_BINARY,
                                     "submit",
                                     "--server=" + server_->address(),
                                     "--model=" + mlp_->model_path,
                                     "--input=" + mlp_->input_path,
                                     "--wait",
                                     "--format=csv"};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::RunProcess(args);
  }

  // The golden scores, one CSV row per entry (header first).
  static bool IsExactMlpResult(const std::string& csv) {
    std::vector<std::string> rows = absl::StrSplit(csv, '\n', absl::SkipEmpty());
    if (rows.size() != mlp_->signature.size() + 1) return false;
    for (size_t i = 0; i < mlp_->signature.size(); ++i) {
      std::vector<std::string> cells = absl::StrSplit(rows[i + 1], ',');
      const testing::GoldenEntry& expected = mlp_->signature[i];
      if (cells.size() < 8 || cells[1] != expected.module || cells[7] != expected.status) {
        return false;
      }
      double score = 0.0;
      if (expected.status == "ok" &&
          (!absl::SimpleAtod(cells[6], &score) || std::abs(score - expected.score) > 1e-3)) {
        return false;
      }
    }
    return true;
  }
};

TEST_F(ServiceLoadTest, FiftyClientsSubmittingTwentyJobsEachAllGetTheirExactResults) {
  StartServer({"--devices=cpu,cpu"});
  constexpr int kClients = 50, kJobsEach = 20;
  std::atomic<int> failed{0}, inexact{0};
  std::vector<std::thread> clients;
  absl::Mutex mutex;
  std::string first_failure;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int j = 0; j < kJobsEach; ++j) {
        const testing::ProcessResult run = SubmitMlpThroughTheClient();
        if (run.exit_code != 0) {
          ++failed;
          absl::MutexLock lock(&mutex);
          if (first_failure.empty()) first_failure = run.err;
        } else if (!IsExactMlpResult(run.out)) {
          ++inexact;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(failed, 0) << first_failure;
  EXPECT_EQ(inexact, 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM jobs WHERE state = 'SUCCEEDED'"), kClients * kJobsEach);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM jobs"), kClients * kJobsEach);
}

TEST_F(ServiceLoadTest, FiveHundredOpenWatchesHoldNoServerThreadAndTheServerAnswersMeanwhile) {
  StartServer({"--devices=cpu"});
  const std::string forever = SubmitOrDie(ForeverModel(), DeepInput(8), {}, /*timeout=*/300);
  WaitUntilRunning(forever);
  const int threads_before = ThreadCount(server_->pid());
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::SignatureService::NewStub(channel);
  constexpr int kWatches = 500;
  // Opened through the callback client API: the test holds no thread per watch either.
  std::vector<std::unique_ptr<testing::OpenWatch>> watches;
  for (int i = 0; i < kWatches; ++i) {
    watches.push_back(std::make_unique<testing::OpenWatch>(*stub, forever));
  }
  for (auto& watch : watches) {
    ASSERT_TRUE(watch->WaitFor(
        [](int views, v1::JobState state, bool) { return views > 0 && state == v1::RUNNING; },
        absl::Seconds(60)));
  }
  const int threads_open = ThreadCount(server_->pid());
  EXPECT_LE(threads_open, threads_before + 16)
      << threads_before << " threads before the watches, " << threads_open << " with them";
  for (int i = 0; i < 5; ++i) {
    const absl::Time asked = absl::Now();
    ASSERT_TRUE(client_->GetServerInfo().ok());
    EXPECT_LT(absl::Now() - asked, absl::Seconds(1));
  }
  // One cancel: every watch gets the final state and ends cleanly.
  ASSERT_TRUE(client_->CancelJob(forever).ok());
  for (auto& watch : watches) {
    ASSERT_TRUE(watch->WaitFor(
        [](int, v1::JobState state, bool ended) { return ended && state == v1::CANCELLED; },
        absl::Seconds(60)));
    EXPECT_TRUE(watch->status().ok()) << watch->status().error_message();
  }
}

TEST_F(ServiceLoadTest, ASubmissionWhoseResponseWasLostIsRetriedIntoOneJob) {
  const std::vector<std::string> flags = {"--devices=none"};
  StartServer(flags);
  auto model = client_->EnsureUploaded(mlp_->model_path, client::BlobKind::kModel);
  auto input = client_->EnsureUploaded(mlp_->input_path, client::BlobKind::kInput);
  ASSERT_TRUE(model.ok() && input.ok());
  v1::SubmitJobRequest request;
  request.set_model_sha256(model->sha256);
  request.set_input_sha256(input->sha256);
  auto stub = v1::SignatureService::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  // A deadline so short that the client gives up while the server stores the job: found when the
  // call failed DEADLINE_EXCEEDED and the job is there all the same.
  std::string lost_id;
  for (int attempt = 0; attempt < 200 && lost_id.empty(); ++attempt) {
    request.set_request_id(absl::StrCat("lost-response-", attempt));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::microseconds(200 * (1 + attempt % 20)));
    v1::Job response;
    const grpc::Status status = stub->SubmitJob(&context, request, &response);
    if (status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) continue;
    const std::string count = absl::StrCat("SELECT COUNT(*) FROM jobs WHERE request_id = '",
                                           request.request_id(), "'");
    for (int i = 0; i < 100 && QueryInt(count) == 0; ++i) absl::SleepFor(absl::Milliseconds(20));
    if (QueryInt(count) == 1) lost_id = request.request_id();
  }
  ASSERT_FALSE(lost_id.empty()) << "no submission was stored after its caller gave up";
  // The retry, then another after a server restart: the same job each time.
  request.set_request_id(lost_id);
  auto retried = client_->Submit(request);
  ASSERT_TRUE(retried.ok()) << retried.status();
  const std::string address = server_->address();
  EXPECT_EQ(server_->Stop(SIGKILL), 128 + SIGKILL);
  StartServer({"--devices=none", "--listen=" + address});
  auto after_restart = client_->Submit(request);
  ASSERT_TRUE(after_restart.ok()) << after_restart.status();
  EXPECT_EQ(after_restart->job_id(), retried->job_id());
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT COUNT(*) FROM jobs WHERE request_id = '", lost_id, "'")),
            1);
  request.set_request_id("not a request id!");
  EXPECT_EQ(ErrorReason(client_->Submit(request).status()), reason::kInvalidRequestId);
}

TEST_F(ServiceLoadTest, ClientsWaitingOnTheirJobsRideOutAServerRestart) {
  const std::vector<std::string> flags = {"--devices=cpu,cpu"};
  StartServer(flags);
  const std::string address = server_->address();
  const std::string input = DeepInput(128);
  constexpr int kClients = 20;
  std::vector<testing::ProcessResult> results(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      results[c] = testing::RunProcess({AFFSIG_CLIENT_BINARY, "submit", "--server=" + address,
                                        "--model=" + DeepModel(), "--input=" + input, "--wait",
                                        "--format=csv", absl::StrCat("--label=client=", c)});
    });
  }
  // Once every client has submitted, the server dies and comes back.
  for (int i = 0; i < 3000 && QueryInt("SELECT COUNT(*) FROM jobs") < kClients; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(QueryInt("SELECT COUNT(*) FROM jobs"), kClients);
  EXPECT_EQ(server_->Stop(SIGKILL), 128 + SIGKILL);
  std::vector<std::string> again = flags;
  again.push_back("--listen=" + address);
  StartServer(again);
  for (std::thread& client : clients) client.join();
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(results[c].exit_code, 0) << "client " << c << ": " << results[c].err;
    EXPECT_EQ(std::count(results[c].out.begin(), results[c].out.end(), '\n'), 401) << c;
  }
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM jobs WHERE state = 'SUCCEEDED'"), kClients);
}

TEST_F(ServiceLoadTest, AFullQueueRefusesWithAReasonAndTheConnectionStays) {
  StartServer({"--devices=none", "--max-queued-jobs=2"});
  SubmitMlp();
  SubmitMlp();
  auto refused = Submit(*client_, mlp_->model_path, mlp_->input_path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(refused.status()), reason::kQueueFull);
  EXPECT_THAT(refused.status().message(), HasSubstr("--max-queued-jobs"));
  const testing::ProcessResult cli = SubmitMlpThroughTheClient();
  EXPECT_EQ(cli.exit_code, 2);
  EXPECT_EQ(std::count(cli.err.begin(), cli.err.end(), '\n'), 1) << cli.err;
  EXPECT_THAT(cli.err, HasSubstr("queue is full"));
  EXPECT_TRUE(client_->GetServerInfo().ok());  // the same connection serves on
}

}  // namespace
}  // namespace affsig::api
