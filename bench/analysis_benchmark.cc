// Measures the analyses of stored signatures (server/analysis/) at the size the compare goal is
// stated for: DTW between every two of 500 signatures of 100 entries (124 750 pairs; goal
// <= 2 s on this machine), then the linkage of that 500 x 500 matrix by every method. Also DTW
// over signatures of different lengths (pairs of one length pair share SIMD lanes, so mixed
// lengths fill fewer of them) and one pair at a time through Dtw(), for scale.
//
// Usage: analysis_benchmark [--series=500] [--length=100] [--threads=T] [--repeats=3] [--seed=1]
#include <algorithm>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "server/analysis/hierarchical_clustering.h"
#include "server/analysis/signature_distance.h"

ABSL_FLAG(int, series, 500, "signatures to compare");
ABSL_FLAG(int, length, 100, "entries per signature (the mixed run: from half to 1.5 times it)");
ABSL_FLAG(int, threads, static_cast<int>(std::thread::hardware_concurrency()),
          "threads of PairwiseDistances");
ABSL_FLAG(int, repeats, 3, "timed repetitions of each measurement; the fastest counts");
ABSL_FLAG(int, seed, 1, "seed of the random walks");

namespace affsig {
namespace {

using bench::Clock;
using bench::SecondsSince;

// Signatures as random walks of scores in [0, 1], starting near 1 like most networks' first
// activations.
std::vector<analysis::NamedSeries> RandomWalks(int count, int min_length, int max_length,
                                               int seed) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> length(min_length, max_length);
  std::normal_distribution<double> step(0.0, 0.03);
  std::vector<analysis::NamedSeries> series(count);
  for (int i = 0; i < count; ++i) {
    series[i].name = absl::StrFormat("walk%d", i);
    double score = 0.95;
    for (int k = length(random); k > 0; --k) {
      score = std::clamp(score + step(random), 0.0, 1.0);
      series[i].values.push_back(score);
    }
  }
  return series;
}

// The fastest of `repeats` runs of `run`, in seconds.
template <typename Run>
double Fastest(int repeats, Run run) {
  double best = 0.0;
  for (int r = 0; r < repeats; ++r) {
    const Clock::time_point start = Clock::now();
    run();
    const double seconds = SecondsSince(start);
    if (r == 0 || seconds < best) best = seconds;
  }
  return best;
}

int Run() {
  const int count = absl::GetFlag(FLAGS_series);
  const int length = absl::GetFlag(FLAGS_length);
  const int threads = absl::GetFlag(FLAGS_threads);
  const int repeats = absl::GetFlag(FLAGS_repeats);
  const int seed = absl::GetFlag(FLAGS_seed);
  const int64_t pairs = static_cast<int64_t>(count) * (count - 1) / 2;
  std::cout << std::unitbuf
            << absl::StrFormat(
                   "# affsig analysis benchmark\n\n%d random-walk signatures, %d "
                   "pairs, %d threads, fastest of %d\n\n",
                   count, pairs, threads, repeats)
            << "| measurement | seconds |\n|---|---|\n";

  const std::vector<analysis::NamedSeries> equal = RandomWalks(count, length, length, seed);
  std::vector<double> matrix;
  const double dtw_seconds = Fastest(repeats, [&] {
    matrix = *analysis::PairwiseDistances(equal, SignatureDistance::kDtw, threads);
  });
  std::cout << absl::StrFormat("| DTW matrix, %d entries each | %.3f |\n", length, dtw_seconds);

  const std::vector<analysis::NamedSeries> mixed =
      RandomWalks(count, length / 2, length * 3 / 2, seed);
  const double mixed_seconds = Fastest(repeats, [&] {
    (void)*analysis::PairwiseDistances(mixed, SignatureDistance::kDtw, threads);
  });
  std::cout << absl::StrFormat("| DTW matrix, %d to %d entries | %.3f |\n", length / 2,
                               length * 3 / 2, mixed_seconds);

  const double single_seconds = Fastest(1, [&] {
    double sum = 0.0;
    for (int i = 0; i < count; ++i) {
      for (int j = i + 1; j < count; ++j) sum += analysis::Dtw(equal[i].values, equal[j].values);
    }
    if (sum < 0.0) std::cout << "impossible\n";  // keeps the loop from being optimized away
  });
  std::cout << absl::StrFormat("| DTW one pair at a time (Dtw), 1 thread, %d entries | %.3f |\n",
                               length, single_seconds);

  for (Linkage linkage :
       {Linkage::kSingle, Linkage::kComplete, Linkage::kAverage, Linkage::kWard}) {
    const double seconds =
        Fastest(repeats, [&] { (void)*analysis::LinkageMatrix(matrix, count, linkage); });
    std::cout << absl::StrFormat("| %s linkage of the DTW matrix | %.3f |\n", LinkageName(linkage),
                                 seconds);
  }
  std::cout << absl::StrFormat("\nDTW over %d pairs: **%.3f s** (goal <= 2 s: %s)\n", pairs,
                               dtw_seconds, dtw_seconds <= 2.0 ? "met" : "NOT met");
  return 0;
}

}  // namespace
}  // namespace affsig

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return affsig::Run();
}
