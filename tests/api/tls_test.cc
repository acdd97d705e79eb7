// TLS end to end (issue 13): the real server with --tls-cert and --tls-key, the `affsig` CLI, a
// remote affsig-worker with a client certificate and the HTTPS port, against certificates that
// the openssl command makes for each test: a lab CA, the server's certificate from it (for
// 127.0.0.1 and localhost), a worker's, and an unrelated CA with a worker certificate of its own.
// Also the rule for plaintext: loopback only, unless --insecure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/api/logged_process.h"
#include "tests/api/server_process.h"
#include "tests/api/worker_process.h"
#include "tests/golden_cases.h"
#include "tests/scratch_dir.h"
#include "tests/subprocess.h"

namespace affsig::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::string LastLine(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(absl::StripSuffix(text, "\n"), '\n');
  return lines.back();
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshScratchDir();
    MakeCertificate("ca", "/CN=affsig test CA", "");
    MakeCertificate("other-ca", "/CN=another CA", "");
    MakeCertificate("server", "/CN=localhost", "ca",
                    {"-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
    MakeCertificate("worker", "/CN=gpu-node-1", "ca");
    MakeCertificate("rogue-worker", "/CN=gpu-node-1", "other-ca");
    auto golden = ReadGoldenSet(CommittedFixtureDir());
    ASSERT_TRUE(golden.ok()) << golden.status();
    for (const GoldenModel& model : golden->models) {
      if (model.name == "mlp_mixed/modules") mlp_ = model;
    }
    ASSERT_FALSE(mlp_.model_path.empty());
  }

  // NAME.pem and NAME.key: a CA's (`issuer` "") or one that `issuer` signs, as the README's
  // recipe makes them (elliptic-curve keys: made in milliseconds).
  void MakeCertificate(const std::string& name, const std::string& subject,
                       const std::string& issuer, const std::vector<std::string>& more = {}) {
    std::vector<std::string> args = absl::StrSplit(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1", ' ');
    args.insert(args.end(), {"-subj", subject, "-keyout", Key(name), "-out", Pem(name)});
    if (!issuer.empty()) {
      args.insert(args.end(), {"-CA", Pem(issuer), "-CAkey", Key(issuer), "-addext",
                               "basicConstraints=critical,CA:FALSE"});
    }
    args.insert(args.end(), more.begin(), more.end());
    const ProcessResult made = RunProcess(args);
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  std::string Pem(const std::string& name) const { return (dir_ / (name + ".pem")).string(); }
  std::string Key(const std::string& name) const { return (dir_ / (name + ".key")).string(); }

  // The server on this test's database and data folder with `flags`, serving TLS.
  ServerProcess StartTlsServer(std::vector<std::string> flags) {
    flags.push_back("--tls-cert=" + Pem("server"));
    flags.push_back("--tls-key=" + Key("server"));
    return StartServer(std::move(flags));
  }
  ServerProcess StartServer(std::vector<std::string> flags) {
    flags.push_back("--db=" + (dir_ / "affsig.db").string());
    flags.push_back("--data-dir=" + (dir_ / "data").string());
    auto server = ServerProcess::Start(flags);
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }
  // affsig-server with `flags` run to its end (it refuses to start).
  ProcessResult RunServer(std::vector<std::string> flags) {
    flags.insert(flags.begin(),
                 {ServerBinary(), "--devices=none", "--db=" + (dir_ / "affsig.db").string(),
                  "--data-dir=" + (dir_ / "data").string()});
    return RunProcess(flags);
  }

  static ProcessResult Affsig(std::vector<std::string> args,
                              const std::vector<std::string>& environment = {}) {
    args.insert(args.begin(), AFFSIG_CLIENT_BINARY);
    return RunProcess(args, environment);
  }
  ProcessResult SubmitMlp(const ServerProcess& server, const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"submit", "--server=" + server.address(),
                                     "--model=" + mlp_.model_path, "--input=" + mlp_.input_path};
    args.insert(args.end(), flags.begin(), flags.end());
    return Affsig(args);
  }

  std::filesystem::path dir_;
  GoldenModel mlp_;
};

TEST_F(TlsTest, TheRightCaSubmitsAJobThatALocalWorkerRuns) {
  // The local worker reaches the server through its Unix socket, which needs no certificate.
  ServerProcess server = StartTlsServer({"--devices=cpu"});
  const ProcessResult run = SubmitMlp(server, {"--tls-ca=" + Pem("ca"), "--wait", "--format=json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"state\": \"SUCCEEDED\""));

  // $AFFSIG_TLS_CA when there is no --tls-ca; the certificate names localhost too.
  const std::string port = server.address().substr(server.address().rfind(':') + 1);
  const ProcessResult health =
      Affsig({"health"}, {"AFFSIG_SERVER=localhost:" + port, "AFFSIG_TLS_CA=" + Pem("ca")});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
}

TEST_F(TlsTest, TheWrongCaIsRefusedAtOnceInOneLine) {
  ServerProcess server = StartTlsServer({"--devices=none"});
  const absl::Time start = absl::Now();
  // The system's roots (--tls) do not know the test CA either.
  for (const std::string& tls : {"--tls-ca=" + Pem("other-ca"), std::string("--tls")}) {
    const ProcessResult refused = Affsig({"info", "--server=" + server.address(), tls});
    EXPECT_EQ(refused.exit_code, 2) << tls;
    EXPECT_EQ(refused.out, "");
    EXPECT_EQ(CountLines(refused.err), 1) << refused.err;
    EXPECT_THAT(refused.err, StartsWith("affsig: cannot connect to " + server.address() +
                                        " over TLS: Ssl handshake failed"));
    EXPECT_THAT(refused.err, HasSubstr("certificate verify failed"));
  }
  // Not after the 20 s connect timeout: a certificate does not verify on a retry either.
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
}

TEST_F(TlsTest, PlaintextAndTlsDoNotMeet) {
  ServerProcess tls_server = StartTlsServer({"--devices=none"});
  const ProcessResult plaintext =
      Affsig({"info", "--server=" + tls_server.address(), "--connect-timeout=1"});
  EXPECT_EQ(plaintext.exit_code, 3);
  EXPECT_EQ(CountLines(plaintext.err), 1) << plaintext.err;
  EXPECT_THAT(plaintext.err, HasSubstr("cannot reach " + tls_server.address()));
  tls_server.Stop(SIGTERM);

  ServerProcess plain_server = StartServer({"--devices=none"});
  const ProcessResult tls =
      Affsig({"info", "--server=" + plain_server.address(), "--tls-ca=" + Pem("ca")});
  EXPECT_EQ(tls.exit_code, 2);
  EXPECT_EQ(CountLines(tls.err), 1) << tls.err;
  EXPECT_THAT(tls.err, HasSubstr("wrong version number"));
}

TEST_F(TlsTest, AWorkerCertificateFromTheClientCaLeasesOneFromAnotherCaDoesNot) {
  ServerProcess server = StartTlsServer({"--devices=none", "--tls-client-ca=" + Pem("ca")});
  // Users go without a client certificate.
  const ProcessResult submitted = SubmitMlp(server, {"--tls-ca=" + Pem("ca")});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string job_id = LastLine(submitted.out);

  const std::vector<std::string> worker_flags = {"--tls-ca=" + Pem("ca"),
                                                 "--cache-dir=" + (dir_ / "cache").string()};
  std::vector<std::string> rogue_flags = worker_flags;
  rogue_flags.insert(rogue_flags.end(),
                     {"--tls-cert=" + Pem("rogue-worker"), "--tls-key=" + Key("rogue-worker")});
  auto rogue = WorkerProcess::Start(server.address(), rogue_flags, (dir_ / "rogue.log").string());
  ASSERT_TRUE(rogue.ok()) << rogue.status();
  // Its handshakes fail (the server closes them): it never gets as far as asking for a job.
  absl::SleepFor(absl::Seconds(3));
  const ProcessResult waiting = Affsig(
      {"status", job_id, "--server=" + server.address(), "--tls-ca=" + Pem("ca"), "--format=json"});
  ASSERT_EQ(waiting.exit_code, 0) << waiting.err;
  EXPECT_THAT(waiting.out, HasSubstr("\"state\": \"QUEUED\""));
  EXPECT_THAT(rogue->Log(), Not(HasSubstr("leased")));
  rogue->Stop(SIGKILL);

  std::vector<std::string> good_flags = worker_flags;
  good_flags.insert(good_flags.end(),
                    {"--tls-cert=" + Pem("worker"), "--tls-key=" + Key("worker")});
  auto worker = WorkerProcess::Start(server.address(), good_flags, (dir_ / "worker.log").string());
  ASSERT_TRUE(worker.ok()) << worker.status();
  const ProcessResult result = Affsig({"result", job_id, "--wait", "--server=" + server.address(),
                                       "--tls-ca=" + Pem("ca"), "--format=json"});
  EXPECT_EQ(result.exit_code, 0) << result.err << worker->Log();
  EXPECT_THAT(result.out, HasSubstr("\"state\": \"SUCCEEDED\""));
  EXPECT_THAT(worker->Log(), HasSubstr("job " + job_id + " leased"));
  worker->Stop(SIGTERM);
}

// With --auth-tokens, a verified client certificate is a worker's identity (its common name):
// a worker machine needs no token, and a user's token still names the user.
TEST_F(TlsTest, AWorkerCertificateIsAWorkersIdentityWhereTokensAreChecked) {
  const std::string tokens = (dir_ / "tokens").string();
  const ProcessResult added =
      RunProcess({ServerBinary(), "add-user", "--auth-tokens=" + tokens, "alice"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string alice = LastLine(added.out);
  // The worker machine's line: its certificate's common name, its token never used.
  ASSERT_EQ(RunProcess({ServerBinary(), "add-user", "--auth-tokens=" + tokens, "gpu-node-1",
                        "--role=worker"})
                .exit_code,
            0);
  ServerProcess server =
      StartTlsServer({"--devices=none", "--tls-client-ca=" + Pem("ca"), "--auth-tokens=" + tokens});
  EXPECT_EQ(SubmitMlp(server, {"--tls-ca=" + Pem("ca")}).exit_code, 2);  // no token: refused
  const ProcessResult submitted = SubmitMlp(server, {"--tls-ca=" + Pem("ca"), "--token=" + alice});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string job_id = LastLine(submitted.out);
  auto worker =
      WorkerProcess::Start(server.address(),
                           {"--tls-ca=" + Pem("ca"), "--cache-dir=" + (dir_ / "cache").string(),
                            "--tls-cert=" + Pem("worker"), "--tls-key=" + Key("worker")},
                           (dir_ / "worker.log").string());
  ASSERT_TRUE(worker.ok()) << worker.status();
  const ProcessResult result =
      Affsig({"result", job_id, "--wait", "--server=" + server.address(), "--tls-ca=" + Pem("ca"),
              "--token=" + alice, "--format=json"});
  EXPECT_EQ(result.exit_code, 0) << result.err << worker->Log();
  EXPECT_THAT(result.out, HasSubstr("\"owner\": \"alice\""));
  worker->Stop(SIGTERM);
}

TEST_F(TlsTest, TheHttpPortServesHttpsWithTheSameCertificate) {
  ServerProcess server = StartTlsServer({"--devices=none", "--http-listen=127.0.0.1:0"});
  ASSERT_FALSE(server.http_address().empty());
  const size_t colon = server.http_address().rfind(':');
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(server.http_address().substr(colon + 1), &port));

  httplib::SSLClient verified("127.0.0.1", port);
  verified.set_ca_cert_path(Pem("ca").c_str());
  verified.enable_server_certificate_verification(true);
  const httplib::Result health = verified.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");

  httplib::SSLClient wrong_ca("127.0.0.1", port);
  wrong_ca.set_ca_cert_path(Pem("other-ca").c_str());
  wrong_ca.enable_server_certificate_verification(true);
  EXPECT_FALSE(wrong_ca.Get("/healthz"));

  httplib::Client plaintext("127.0.0.1", port);
  plaintext.set_read_timeout(5, 0);
  EXPECT_FALSE(plaintext.Get("/healthz"));
}

TEST_F(TlsTest, PlaintextOffLoopbackNeedsInsecure) {
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--listen=0.0.0.0:0"},
        {"--listen=[::]:0"},
        {"--listen=127.0.0.1:0", "--http-listen=0.0.0.0:0"}}) {
    const ProcessResult refused = RunServer(flags);
    EXPECT_EQ(refused.exit_code, 1) << flags.back();
    EXPECT_EQ(CountLines(refused.err), 1) << refused.err;
    EXPECT_THAT(refused.err, HasSubstr("--insecure"));
    EXPECT_THAT(refused.err, HasSubstr(flags.back().substr(0, flags.back().find('='))));
  }
  // Loopback needs nothing.
  for (const std::string& listen : {"--listen=localhost:0", "--listen=127.0.0.2:0"}) {
    LoggedProcess loopback = *LoggedProcess::Start(
        {ServerBinary(), listen, "--devices=none", "--db=" + (dir_ / "loopback.db").string(),
         "--data-dir=" + (dir_ / "data").string()},
        (dir_ / "loopback.log").string());
    EXPECT_TRUE(loopback.WaitForLog("affsig-server listening on", absl::Seconds(30)))
        << listen << loopback.Log();
    EXPECT_THAT(loopback.Log(), Not(HasSubstr("warning")));
    EXPECT_EQ(loopback.Stop(SIGTERM), 0);
  }

  LoggedProcess insecure = *LoggedProcess::Start(
      {ServerBinary(), "--listen=0.0.0.0:0", "--insecure", "--devices=none",
       "--db=" + (dir_ / "affsig.db").string(), "--data-dir=" + (dir_ / "data").string()},
      (dir_ / "insecure.log").string());
  ASSERT_TRUE(insecure.WaitForLog("affsig-server listening on", absl::Seconds(30)))
      << insecure.Log();
  EXPECT_THAT(insecure.Log(), HasSubstr("warning: --listen=0.0.0.0:0 serves plaintext"));
  EXPECT_EQ(insecure.Stop(SIGTERM), 0);

  // TLS off loopback still wants to know who calls: anyone who reaches it could do anything.
  const ProcessResult anonymous = RunServer(
      {"--listen=0.0.0.0:0", "--tls-cert=" + Pem("server"), "--tls-key=" + Key("server")});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_EQ(CountLines(anonymous.err), 1) << anonymous.err;
  EXPECT_THAT(anonymous.err, HasSubstr("without --auth-tokens"));
}

TEST_F(TlsTest, BadTlsFlagsAreOneLineAtStart) {
  const std::string missing = (dir_ / "missing.pem").string();
  const std::string tls = "--tls-cert=" + Pem("server");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{tls}, "--tls-cert and --tls-key go together"},
      {{"--tls-cert=" + missing, "--tls-key=" + Key("server")}, "--tls-cert=" + missing},
      {{tls, "--tls-key=" + mlp_.input_path}, "not a PEM file"},
      {{tls, "--tls-key=" + Pem("ca")}, "no private key in it"},
      {{tls, "--tls-key=" + Key("worker")}, "is not the key of --tls-cert"},
      {{"--tls-client-ca=" + Pem("ca")}, "--tls-client-ca needs TLS"},
      {{tls, "--tls-key=" + Key("server"), "--insecure"}, "give one or the other"},
      {{"--slurm-tls-ca=" + Pem("ca")}, "--slurm-tls-ca needs TLS"}};
  for (const auto& [flags, says] : cases) {
    const ProcessResult refused = RunServer(flags);
    EXPECT_EQ(refused.exit_code, 1) << says;
    EXPECT_EQ(CountLines(refused.err), 1) << refused.err;
    EXPECT_THAT(refused.err, HasSubstr(says));
  }
  const ProcessResult missing_ca = Affsig({"info", "--tls-ca=" + (dir_ / "none.pem").string()});
  EXPECT_EQ(missing_ca.exit_code, 2);
  EXPECT_THAT(missing_ca.err, HasSubstr("--tls-ca=" + (dir_ / "none.pem").string()));
}

}  // namespace
}  // namespace affsig::testing
