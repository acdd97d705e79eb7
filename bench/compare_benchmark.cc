// `affsig compare` over many stored signatures, the measurement: 500 SUCCEEDED jobs of
// 100 entries each (random walks in [0, 1]) written into a fresh database, then their DTW
// matrix (124 750 pairs) timed three ways: the analysis alone (server/analysis), the core's
// Compare (reading the signatures from SQLite too), and the command line against a real server
// (gRPC, the 500 x 500 matrix as JSON).
//
//   build/bench/compare_benchmark [--signatures=500] [--entries=100]
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "common/status_macros.h"
#include "server/analysis/signature_distance.h"
#include "server/core/signature_analyses.h"
#include "server/store/job_queue.h"
#include "server/store/signature_store.h"
#include "tests/api/server_process.h"

ABSL_FLAG(int, signatures, 500, "stored signatures to compare");
ABSL_FLAG(int, entries, 100, "entries of each signature");

namespace affsig::bench {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "compare_benchmark: " << status << "\n";
  return 1;
}

// Fills `db` with the jobs; returns their scores, oldest first.
absl::StatusOr<std::vector<std::vector<double>>> Fill(const std::string& db, int count,
                                                      int entries) {
  ASSIGN_OR_RETURN(auto queue, store::JobQueue::Open(db));
  std::mt19937_64 random(7);
  std::normal_distribution<double> step(0.0, 0.05);
  std::vector<std::vector<double>> scores;
  for (int i = 0; i < count; ++i) {
    JobSpec spec;
    spec.name = absl::StrCat("net", i);
    spec.model_sha256 = std::string(64, 'a');
    spec.data.location = std::string(64, 'b');
    spec.labels = {{"bench", "compare"}};
    RETURN_IF_ERROR(queue->Submit(spec).status());
    ASSIGN_OR_RETURN(auto claimed, queue->Claim({"bench", "cpu", false}));
    if (!claimed) return absl::InternalError("the job just submitted was not claimed");
    Signature signature;
    double score = 0.8;
    std::vector<double>& values = scores.emplace_back();
    for (int e = 0; e < entries; ++e) {
      score = std::clamp(score + step(random), 0.0, 1.0);
      SignatureEntry& entry = signature.emplace_back();
      entry.index = e;
      entry.module = absl::StrCat("layer", e);
      entry.op = "ReLU";
      entry.score = score;
      entry.batch_scores = {score};
      values.push_back(score);
    }
    RETURN_IF_ERROR(queue->Complete(claimed->attempt.lease_id, signature).status());
  }
  return scores;
}

int Run() {
  const int count = absl::GetFlag(FLAGS_signatures);
  const int entries = absl::GetFlag(FLAGS_entries);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("compare_benchmark.", getpid());
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "affsig.db").string();
  auto scores = Fill(db, count, entries);
  if (!scores.ok()) return Fail(scores.status());

  std::vector<analysis::NamedSeries> series;
  for (const auto& values : *scores) series.push_back({"", values});
  auto start = Clock::now();
  auto matrix = analysis::PairwiseDistances(series, SignatureDistance::kDtw, 0);
  const double analysis_seconds = SecondsSince(start);
  if (!matrix.ok()) return Fail(matrix.status());

  auto signatures = store::SignatureStore::Open(db);
  if (!signatures.ok()) return Fail(signatures.status());
  core::SignatureAnalyses analyses(**signatures);
  core::ComparisonRequest request;
  request.signatures.labels = {{"bench", "compare"}};
  start = Clock::now();
  auto comparison = analyses.Compare(request);
  const double core_seconds = SecondsSince(start);
  if (!comparison.ok()) return Fail(comparison.status());

  auto server = testing::ServerProcess::Start(
      {"--db=" + db, "--data-dir=" + (dir / "data").string(), "--devices=none"});
  if (!server.ok()) return Fail(server.status());
  start = Clock::now();
  auto printed = RunCommand(absl::StrCat(AFFSIG_CLIENT_BINARY, " --server=", server->address(),
                                         " compare --label=bench=compare --format=json"));
  const double client_seconds = SecondsSince(start);
  if (!printed.ok()) return Fail(printed.status());
  std::filesystem::remove_all(dir);

  const int64_t pairs = static_cast<int64_t>(count) * (count - 1) / 2;
  std::cout << absl::StrFormat(
      "# affsig compare benchmark\n\n%d signatures of %d entries, %d DTW pairs\n\n"
      "| measurement | seconds |\n|---|---|\n"
      "| the DTW matrix alone (server/analysis, one thread per core) | %.3f |\n"
      "| the core's Compare: the signatures read from SQLite, then the matrix | %.3f |\n"
      "| `affsig compare --label=... --format=json` against the server | %.3f |\n\n"
      "compare over %d signatures: **%.2f s** through the command line (goal <= 2 s: %s)\n",
      count, entries, pairs, analysis_seconds, core_seconds, client_seconds, count,
      client_seconds, client_seconds <= 2.0 ? "met" : "NOT met");
  return 0;
}

}  // namespace
}  // namespace affsig::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return affsig::bench::Run();
}
