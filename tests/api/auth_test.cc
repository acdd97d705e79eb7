// Identities end to end (issue 13): a real server with --auth-tokens, tokens made by
// `affsig-server add-user`, the client library, the CLI and a remote worker as users, admins and
// workers call them. The server's log is kept to check that no token ever appears in it.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "affsig/v1/worker_service.grpc.pb.h"
#include "common/error_reason.h"
#include "common/sha256.h"
#include "proto/grpc_status.h"
#include "tests/api/service_test.h"
#include "tests/api/worker_process.h"
#include "tests/subprocess.h"

namespace affsig::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class AuthTest : public testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    tokens_path_ = (dir_ / "tokens").string();
    log_path_ = (dir_ / "server.log").string();
    alice_ = AddUser("alice");
    bob_ = AddUser("bob");
    root_ = AddUser("root", "admin");
    gpu_ = AddUser("gpu-node-1", "worker");
  }

  void TearDown() override {
    // Whatever the test did, the log names users and never shows a token.
    const std::string log = ReadWhole(log_path_);
    for (const std::string& token : {alice_, bob_, root_, gpu_}) {
      EXPECT_THAT(log, Not(HasSubstr(token)));
      EXPECT_THAT(log, Not(HasSubstr(token.substr(7, 16))));  // nor a piece of one
    }
  }

  // `affsig-server add-user`: the token is its last line.
  std::string AddUser(const std::string& name, const std::string& role = "user") {
    const testing::ProcessResult added =
        testing::RunProcess({testing::ServerBinary(), "add-user", "--auth-tokens=" + tokens_path_,
                             name, "--role=" + role});
    EXPECT_EQ(added.exit_code, 0) << added.err;
    std::vector<std::string> lines = absl::StrSplit(added.out, '\n', absl::SkipEmpty());
    return lines.empty() ? "" : lines.back();
  }

  // The server with --auth-tokens and no local worker (jobs wait until a test starts one); the
  // fixture's client is root's.
  void StartAuthServer(std::vector<std::string> flags = {}) {
    client_.reset();
    server_.reset();
    std::vector<std::string> all = {"--db=" + db_path_, "--data-dir=" + DataDir(),
                                    "--auth-tokens=" + tokens_path_, "--devices=none"};
    all.insert(all.end(), flags.begin(), flags.end());
    auto server = testing::ServerProcess::Start(all, testing::ServerBinary(), log_path_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_.emplace(*std::move(server));
    client_ = As(root_);
  }

  std::unique_ptr<client::SignatureClient> As(const std::string& token) {
    client::ClientOptions options;
    options.connect_timeout = absl::Seconds(10);
    options.token = token;
    return std::make_unique<client::SignatureClient>(server_->address(), options);
  }

  // The golden MLP's job, its files uploaded by `client` where missing.
  v1::SubmitJobRequest MlpRequest(client::SignatureClient& client) {
    v1::SubmitJobRequest request;
    auto model = client.EnsureUploaded(mlp_->model_path, client::BlobKind::kModel);
    EXPECT_TRUE(model.ok()) << model.status();
    auto input = client.EnsureUploaded(mlp_->input_path, client::BlobKind::kInput);
    EXPECT_TRUE(input.ok()) << input.status();
    request.set_model_sha256(model.ok() ? model->sha256 : "");
    request.set_input_sha256(input.ok() ? input->sha256 : "");
    return request;
  }

  std::string SubmitAs(const std::string& token) {
    auto client = As(token);
    auto job = client->Submit(MlpRequest(*client));
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? job->job_id() : "";
  }

  testing::ProcessResult Cli(const std::vector<std::string>& args,
                             const std::vector<std::string>& environment = {}) {
    std::vector<std::string> argv = {AFFSIG_CLIENT_BINARY, "--server=" + server_->address(),
                                     "--connect-timeout=10"};
    argv.insert(argv.end(), args.begin(), args.end());
    // No token of the test's own environment: only what the test gives.
    std::vector<std::string> env = environment;
    env.push_back("HOME=" + dir_.string());
    const bool token_given = std::any_of(env.begin(), env.end(), [](const std::string& entry) {
      return absl::StartsWith(entry, "AFFSIG_TOKEN=");
    });
    if (!token_given) env.push_back("AFFSIG_TOKEN=");
    return testing::RunProcess(argv, env);
  }

  std::string ReadTokensFile() const { return ReadWhole(tokens_path_); }

  std::string tokens_path_, log_path_;
  std::string alice_, bob_, root_, gpu_;
};

TEST_F(AuthTest, AddUserStoresOnlyTheHashOfANewRandomToken) {
  EXPECT_THAT(alice_, ::testing::MatchesRegex("affsig_[0-9a-f]{64}"));
  EXPECT_NE(alice_, bob_);
  const std::string file = ReadTokensFile();
  for (const std::string& token : {alice_, bob_, root_, gpu_}) {
    EXPECT_THAT(file, Not(HasSubstr(token)));
    EXPECT_THAT(file, Not(HasSubstr(token.substr(7))));
  }
  EXPECT_THAT(file, HasSubstr("root admin "));
  struct stat info;
  ASSERT_EQ(stat(tokens_path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  // A user once only; an unknown role refused.
  const testing::ProcessResult again = testing::RunProcess(
      {testing::ServerBinary(), "add-user", "--auth-tokens=" + tokens_path_, "alice"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("has a user 'alice' already"));
  const testing::ProcessResult bad_role = testing::RunProcess(
      {testing::ServerBinary(), "add-user", "--auth-tokens=" + tokens_path_, "eve", "--role=god"});
  EXPECT_EQ(bad_role.exit_code, 1);
  EXPECT_THAT(bad_role.err, HasSubstr("unknown role 'god'"));
}

TEST_F(AuthTest, NoTokenOrAWrongOneIsUnauthenticated) {
  StartAuthServer();
  auto anonymous = As("");
  EXPECT_EQ(anonymous->GetServerInfo().status().code(), absl::StatusCode::kUnauthenticated);
  auto wrong = As("affsig_" + std::string(64, '0'));
  EXPECT_EQ(wrong->ListJobs({}).status().code(), absl::StatusCode::kUnauthenticated);
  // Uploads and watches (callback calls) too.
  EXPECT_EQ(wrong->Upload(mlp_->model_path, client::BlobKind::kModel).status().code(),
            absl::StatusCode::kUnauthenticated);
  const std::string job = SubmitAs(alice_);
  EXPECT_EQ(wrong->Watch(job, nullptr).status().code(), absl::StatusCode::kUnauthenticated);

  // The CLI: exit 2 and one line.
  const testing::ProcessResult none = Cli({"list"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err, "affsig: no token: give --token, $AFFSIG_TOKEN or ~/.config/affsig/token\n");
  const testing::ProcessResult bad = Cli({"list", "--token=not-a-token"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "affsig: unknown token\n");
  EXPECT_EQ(Cli({"info"}, {"AFFSIG_TOKEN=" + alice_}).exit_code, 0);

  auto info = As(alice_)->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->caller().user(), "alice");
  EXPECT_EQ(info->caller().role(), "user");
  server_->Stop(SIGTERM);
  const std::string log = ReadWhole(log_path_);
  EXPECT_THAT(log, HasSubstr("audit: authentication failed for "
                             "/affsig.v1.SignatureService/ListJobs"));
}

TEST_F(AuthTest, TheTokenFileMustBeTheUsersAlone) {
  StartAuthServer();
  const std::filesystem::path file = dir_ / ".config" / "affsig" / "token";
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << alice_ << "\n";
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  const testing::ProcessResult open = Cli({"info"});
  EXPECT_EQ(open.exit_code, 2);
  EXPECT_THAT(open.err, HasSubstr("may be read by others (mode 0644): chmod 600"));
  std::filesystem::permissions(file, std::filesystem::perms(0600));
  const testing::ProcessResult ok = Cli({"info"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("alice (user)"));
}

TEST_F(AuthTest, OnlyTheOwnerOrAnAdminCancelsOrDeletesAJob) {
  StartAuthServer();
  const std::string first = SubmitAs(alice_);
  const std::string second = SubmitAs(alice_);
  auto bob = As(bob_);
  const auto cancelled = bob->CancelJob(first);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReason(cancelled.status()), reason::kNotOwner);
  EXPECT_THAT(cancelled.status().message(), HasSubstr("is alice's"));
  const absl::Status deleted = bob->DeleteJob(first);
  EXPECT_EQ(deleted.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReason(deleted), reason::kNotOwner);
  // Everyone reads everything.
  auto seen = bob->GetJob(first);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->state(), v1::QUEUED);
  EXPECT_EQ(seen->owner(), "alice");

  auto by_owner = As(alice_)->CancelJob(first);
  ASSERT_TRUE(by_owner.ok()) << by_owner.status();
  EXPECT_EQ(by_owner->state(), v1::CANCELLED);
  auto by_admin = As(root_)->CancelJob(second);
  ASSERT_TRUE(by_admin.ok()) << by_admin.status();
  EXPECT_TRUE(As(root_)->DeleteJob(second).ok());
  EXPECT_TRUE(As(alice_)->DeleteJob(first).ok());

  // --mine and the owner column.
  SubmitAs(bob_);
  const testing::ProcessResult mine = Cli({"list", "--mine", "--format=csv", "--token=" + bob_});
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  std::vector<std::string> rows = absl::StrSplit(mine.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 2u) << mine.out;
  EXPECT_THAT(rows[0], ::testing::StartsWith("job_id,state,owner,"));
  EXPECT_THAT(rows[1], HasSubstr(",QUEUED,bob,"));
  const testing::ProcessResult alices =
      Cli({"list", "--owner=alice", "--format=csv", "--token=" + bob_});
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(alices.out, '\n', absl::SkipEmpty())).size(),
            1u);
  server_->Stop(SIGTERM);
  const std::string log = ReadWhole(log_path_);
  EXPECT_THAT(log, HasSubstr("audit: bob (user) refused: cancel job " + first + " of alice"));
  EXPECT_THAT(log, HasSubstr(" QUEUED by alice "));
  EXPECT_THAT(log, HasSubstr("job " + second + " deleted by root"));
  EXPECT_THAT(log, HasSubstr("audit: alice uploaded model "));
}

TEST_F(AuthTest, RolesKeepWorkersAndUsersApart) {
  StartAuthServer();
  // A worker's token submits nothing.
  v1::SubmitJobRequest request;
  request.set_model_sha256(std::string(64, 'a'));
  auto submitted = As(gpu_)->Submit(request);
  EXPECT_EQ(submitted.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReason(submitted.status()), reason::kRoleNotAllowed);
  // A user's or an admin's token leases nothing.
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  auto workers = v1::WorkerService::NewStub(channel);
  for (const std::string& token : {alice_, root_}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    v1::LeaseJobRequest lease;
    lease.set_worker("sneaky");
    lease.set_device("cpu");
    v1::LeaseJobResponse response;
    const absl::Status leased = FromGrpcStatus(workers->LeaseJob(&context, lease, &response));
    EXPECT_EQ(leased.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(ErrorReason(leased), reason::kRoleNotAllowed);
  }
  // Above priority 0 only for admins.
  auto client = As(alice_);
  request = MlpRequest(*client);
  request.set_priority(5);
  auto raised = client->Submit(request);
  EXPECT_EQ(raised.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(raised.status().message(), HasSubstr("needs the admin role"));
  auto by_admin = As(root_)->Submit(request);
  ASSERT_TRUE(by_admin.ok()) << by_admin.status();
  EXPECT_EQ(by_admin->priority(), 5);
  EXPECT_EQ(by_admin->owner(), "root");
}

TEST_F(AuthTest, QuotasRefuseAndStoreNothing) {
  // alice has the server's limits (2 queued jobs, 1 MiB of uploads); bob's line raises his.
  {
    std::string file = ReadTokensFile();
    std::string edited;
    for (absl::string_view line : absl::StrSplit(file, '\n', absl::SkipEmpty())) {
      absl::StrAppend(&edited, line, absl::StartsWith(line, "bob ") ? " max_queued_jobs=3" : "",
                      "\n");
    }
    std::ofstream(tokens_path_, std::ios::trunc) << edited;
  }
  StartAuthServer({"--max-queued-per-user=2", "--max-upload-bytes-per-user=1048576"});
  SubmitAs(alice_);
  SubmitAs(alice_);
  auto alice = As(alice_);
  const v1::SubmitJobRequest request = MlpRequest(*alice);
  auto third = alice->Submit(request);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(third.status()), reason::kQuotaExceeded);
  EXPECT_THAT(third.status().message(),
              HasSubstr("quota max-queued-per-user: alice has 2 jobs queued, the limit is 2"));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM jobs WHERE owner = 'alice'"), 2);
  for (int i = 0; i < 3; ++i) SubmitAs(bob_);
  EXPECT_EQ(As(bob_)->Submit(request).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM jobs WHERE owner = 'bob'"), 3);

  // 2 MiB of bytes pass alice's 1 MiB: refused as they arrive, nothing stored.
  const std::string big = WriteFile("big.npy", std::string(2 << 20, 'x'));
  auto uploaded = alice->Upload(big, client::BlobKind::kInput);
  EXPECT_EQ(uploaded.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(uploaded.status()), reason::kQuotaExceeded);
  EXPECT_THAT(uploaded.status().message(), HasSubstr("quota max-upload-bytes-per-user: alice's"));
  auto sha = FileSha256(big);
  ASSERT_TRUE(sha.ok());
  auto missing = alice->FindMissingBlobs({*sha});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->size(), 1u);
}

TEST_F(AuthTest, FairShareServesTheUserWhoWaitedLongest) {
  StartAuthServer();
  std::vector<std::string> alices;
  for (int i = 0; i < 5; ++i) alices.push_back(SubmitAs(alice_));
  const std::string bobs = SubmitAs(bob_);
  // One worker, with a worker's token, started only now: the queue decides the order alone.
  auto worker =
      testing::WorkerProcess::Start(server_->address(),
                                    {"--name=gpu-node-1", "--threads=1",
                                     "--cache-dir=" + (dir_ / "cache").string(), "--token=" + gpu_},
                                    (dir_ / "worker.log").string());
  ASSERT_TRUE(worker.ok()) << worker.status();
  const v1::Job bob = WaitForEnd(bobs);
  ASSERT_EQ(bob.state(), v1::SUCCEEDED) << bob.error();
  // Bob's one job ran second, right after alice's first: at least 2 of alice's started after
  // it ended (they waited while it ran).
  int waited = 0;
  for (const std::string& id : alices) {
    const v1::Job alice = WaitForEnd(id);
    EXPECT_EQ(alice.state(), v1::SUCCEEDED);
    if (alice.started_at_ms() >= bob.finished_at_ms()) ++waited;
  }
  EXPECT_GE(waited, 2);
  const std::string log = ReadWhole((dir_ / "worker.log").string());
  EXPECT_THAT(log, Not(HasSubstr(gpu_)));
}

TEST_F(AuthTest, SighupReadsTheTokensFileAgain) {
  StartAuthServer();
  const std::string carol = AddUser("carol");
  EXPECT_EQ(As(carol)->GetServerInfo().status().code(), absl::StatusCode::kUnauthenticated);
  // bob leaves.
  std::string kept;
  for (absl::string_view line : absl::StrSplit(ReadTokensFile(), '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "bob ")) absl::StrAppend(&kept, line, "\n");
  }
  std::ofstream(tokens_path_, std::ios::trunc) << kept;
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!As(carol)->GetServerInfo().ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto info = As(carol)->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->caller().user(), "carol");
  EXPECT_EQ(As(bob_)->GetServerInfo().status().code(), absl::StatusCode::kUnauthenticated);
  // A file that no longer parses changes nobody.
  std::ofstream(tokens_path_, std::ios::app) << "mallory superuser deadbeef\n";
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(As(carol)->GetServerInfo().ok());
  server_->Stop(SIGTERM);
  const std::string log = ReadWhole(log_path_);
  EXPECT_THAT(log, HasSubstr("users; added carol; removed bob"));
  EXPECT_THAT(log, HasSubstr("tokens file not read again, the users stay as they were"));
}

TEST_F(AuthTest, TheHttpPortAsksForTheSameTokens) {
  StartAuthServer({"--http-listen=127.0.0.1:0"});
  const std::string job = SubmitAs(alice_);
  httplib::Client http("http://" + server_->http_address());
  const httplib::Headers as_bob = {{"Authorization", "Bearer " + bob_}};
  auto anonymous = http.Get("/v1/jobs");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), "Bearer realm=\"affsig\"");
  EXPECT_THAT(anonymous->body, HasSubstr("\"reason\":\"UNAUTHENTICATED\""));
  auto read = http.Get(("/v1/jobs/" + job).c_str(), as_bob);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200);
  EXPECT_THAT(read->body, HasSubstr("\"owner\":\"alice\""));
  auto info = http.Get("/v1/info", as_bob);
  ASSERT_TRUE(info);
  EXPECT_THAT(info->body, HasSubstr("\"caller\":{\"user\":\"bob\",\"role\":\"user\"}"));
  auto by_worker = http.Get("/v1/jobs", {{"Authorization", "Bearer " + gpu_}});
  ASSERT_TRUE(by_worker);
  EXPECT_EQ(by_worker->status, 403);
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
  metrics = http.Get("/metrics", as_bob);
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body, HasSubstr("affsig_build_info"));
  // Probes need no token.
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

}  // namespace
}  // namespace affsig::api
