// What the service's integration tests share: a scratch folder and database, the real
// affsig-server started on 127.0.0.1 with a kernel-picked port, a client, the models they run
// (the golden MLP, tests/fixtures/service's deep loop and forever models) and ways to wait for a
// job without sampling its intermediate states.
#ifndef AFFSIG_TESTS_API_SERVICE_TEST_H_
#define AFFSIG_TESTS_API_SERVICE_TEST_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "affsig/v1/signature_service.pb.h"
#include "client/signature_client.h"
#include "tests/api/server_process.h"
#include "tests/golden_cases.h"

namespace affsig::testing {

class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  // Starts (or restarts) the server on this test's database and data folder, with `flags` added
  // to --db and --data-dir; the client follows it.
  void StartServer(const std::vector<std::string>& flags);
  std::string DataDir() const { return (dir_ / "data").string(); }

  // An input of `rows` samples of the deep loop and forever models (128 features).
  std::string DeepInput(int64_t rows, float fill = 0.0f);
  std::string DeepModel() const { return ServiceFixtureDir() + "/deep_loop.pt"; }
  std::string ForeverModel() const { return ServiceFixtureDir() + "/forever.pt"; }
  std::string WriteFile(const std::string& name, const std::string& bytes);

  absl::StatusOr<v1::Job> Submit(client::SignatureClient& client, const std::string& model,
                                 const std::string& input,
                                 std::map<std::string, std::string> labels = {},
                                 int64_t timeout_seconds = 0);
  std::string SubmitOrDie(const std::string& model, const std::string& input,
                          std::map<std::string, std::string> labels = {},
                          int64_t timeout_seconds = 0);
  std::string SubmitMlp(std::map<std::string, std::string> labels = {});

  v1::Job WaitForEnd(const std::string& job_id);
  // Until the job runs and has scored at least `done` activations; fails the test if it ended
  // first (a job long enough for this is the caller's to choose).
  void WaitUntilScored(const std::string& job_id, int64_t done);
  // Until the job runs its attempt number `attempt`; returns the name of its worker.
  std::string WaitUntilRunning(const std::string& job_id, int64_t attempt = 1);
  // The pid of the local worker named `worker`, from GetServerInfo.
  int64_t WorkerPid(const std::string& worker);

  static void ExpectMlpSignature(const v1::Signature& signature);
  // The entries of two signatures are equal, score for score.
  static void ExpectSameEntries(const v1::Signature& a, const v1::Signature& b);
  // One integer from the database (e.g. a COUNT(*)), read while the server may run.
  int64_t QueryInt(const std::string& sql) const;

  static GoldenModel* mlp_;
  std::filesystem::path dir_;
  std::string db_path_;
  std::optional<ServerProcess> server_;
  std::unique_ptr<client::SignatureClient> client_;
};

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_API_SERVICE_TEST_H_
