// Measures the engine against the paper's algorithm (tests/reference/paper_affinity.py, run by
// Debian's Python with the same BLAS) in one run on one machine, and prints the ratios that the
// speed and memory goals are stated in:
//   1. one activation at (N, d) = (2048, 512): affsig vs the floor of the float64 work the spec
//      asks for (covariances, eigh, map, float32 cost product), and vs the paper's code;
//   2. one activation at (N, d) = (512, 4096), d > N: affsig's subspace path vs the paper's code;
//   3. torchvision resnet18 (random weights) on a batch of 256 x 3 x 224 x 224: the whole
//      signature vs the bare LibTorch forward pass, each with the optimized forward (frozen,
//      channels_last) and with the model's own, time and peak memory (each in its own process,
//      so that peak resident memory is that run's alone); and the optimized signature with every
//      companion measure (--measures=all) vs without.
//
// Usage: engine_benchmark [--threads=T] [--python=/usr/bin/python3] [--resnet_batch=256]
//                         [--repeats=5] [--resnet_repeats=2] [--skip_wide] [--skip_resnet]
//                         [--device=cpu|cuda:K]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "common/npy.h"
#include "common/status_macros.h"
#include "server/engine/affinity_score.h"
#include "server/engine/npy_tensor.h"
#include "server/engine/scoring_pool.h"
#include "server/engine/signature_engine.h"

ABSL_FLAG(int, threads, static_cast<int>(std::thread::hardware_concurrency()),
          "intra-op threads for LibTorch, in C++ and in Python");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Python with torch, torchvision, scipy, ot");
ABSL_FLAG(std::string, work_dir, "", "scratch directory (default: a new one under /tmp)");
ABSL_FLAG(int, resnet_batch, 256, "images in the resnet18 batch");
ABSL_FLAG(std::string, device, "cpu",
          "where the resnet18 runs go (cpu, cuda:K); their batch is in pinned memory on CUDA, as "
          "a worker's batches are");
ABSL_FLAG(int, repeats, 5,
          "timed repetitions of each single-activation score, on both sides; the fastest counts "
          "(the paper's minute-long runs at (512, 4096) run once)");
ABSL_FLAG(int, resnet_repeats, 2, "timed repetitions of the resnet18 runs; the fastest counts");
ABSL_FLAG(bool, skip_wide, false, "skip the (512, 4096) activations (minutes of Python)");
ABSL_FLAG(bool, skip_resnet, false, "only the single-activation benchmarks");
// Internal: the resnet18 measurements run in child processes of this program.
ABSL_FLAG(std::string, child, "", "internal: 'forward' or 'signature'");
ABSL_FLAG(std::string, model, "", "internal: model file of a child run");
ABSL_FLAG(bool, child_optimize, true, "internal: whether a child run optimizes the forward");
ABSL_FLAG(bool, child_measures, false, "internal: whether a child run computes every measure");
ABSL_FLAG(int, child_scoring_threads, 1, "internal: scoring threads of a child run");

namespace affsig {
namespace {

using bench::Clock;
using bench::NumberAfter;
using bench::PeakRssKb;
using bench::RunCommand;

// The Python command, loading the OpenBLAS build this program loads.
std::string Python() {
  const std::string blas_dir = AFFSIG_OPENBLAS_DIR;
  std::string command = absl::GetFlag(FLAGS_python);
  return blas_dir.empty() ? command : absl::StrCat("LD_LIBRARY_PATH=", blas_dir, " ", command);
}

std::string PythonScript() {
  return (std::filesystem::path(__FILE__).parent_path() / "paper_baseline.py").string();
}

struct Timing {
  double seconds = 0.0;
  double score = 0.0;
};

// The activations both sides score, written as float32 .npy:
//   relu:  correlated Gaussian pre-activations x (shifted), y = relu(x), a typical layer;
//   mixed: y = gelu(x W / sqrt(d)) with x ~ N(0, I), far from affine (score ~0.1), which makes
//          the transport problem hard for every exact solver.
void MakeActivation(const std::string& kind, int64_t n, int64_t d, const std::string& x_path,
                    const std::string& y_path) {
  at::manual_seed(7);
  at::Tensor x, y;
  if (kind == "relu") {
    x = at::matmul(at::randn({n, d}), at::randn({d, d})) / std::sqrt(double(d)) +
        0.2 * at::randn({1, d});
    y = at::relu(x);
  } else {
    x = at::randn({n, d});
    y = at::gelu(at::matmul(x, at::randn({d, d})) / std::sqrt(double(d)));
  }
  (void)WriteNpyFile(x_path, *engine::NpyFromTensor(x));
  (void)WriteNpyFile(y_path, *engine::NpyFromTensor(y));
}

Timing TimeAffsig(const std::string& x_path, const std::string& y_path, int repeats) {
  const at::Tensor x = *engine::ReadNpyTensor(x_path);
  const at::Tensor y = *engine::ReadNpyTensor(y_path);
  Timing best{1e300, 0.0};
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    auto score = engine::ComputeAffinityScore(x, y);
    best.seconds = std::min(best.seconds, bench::SecondsSince(start));
    best.score = score.ok() ? score->score : std::nan("");
  }
  return best;
}

// The floor the spec's float64 work has at this size on this machine, measured as affsig's
// steps would run it with nothing else: the two covariances, one d x d eigen-decomposition, the
// map applied to the samples, and the float32 N x N cost product. No exact solver, no checks.
double TimeFloor(const std::string& x_path, const std::string& y_path, int repeats) {
  const at::Tensor x = engine::ReadNpyTensor(x_path)->to(at::kDouble);
  const at::Tensor y = engine::ReadNpyTensor(y_path)->to(at::kDouble);
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    const at::Tensor xc = x - x.mean(0, true);
    const at::Tensor yc = y - y.mean(0, true);
    const at::Tensor cov_x = at::matmul(xc.t(), xc);
    const at::Tensor cov_y = at::matmul(yc.t(), yc);
    const at::Tensor map = std::get<1>(at::linalg_eigh(cov_x + cov_y));
    const at::Tensor mapped = at::matmul(xc, map).to(at::kFloat);
    const at::Tensor cost = at::matmul(mapped, yc.to(at::kFloat).t());
    best = std::min(best, bench::SecondsSince(start));
  }
  return best;
}

absl::StatusOr<Timing> TimePaper(const std::string& x_path, const std::string& y_path,
                                 const std::string& dtype, int repeats) {
  ASSIGN_OR_RETURN(auto output, RunCommand(absl::StrCat(
                                    Python(), " ", PythonScript(),
                                    " --threads=", absl::GetFlag(FLAGS_threads), " score ", x_path,
                                    " ", y_path, " --dtype=", dtype, " --repeats=", repeats)));
  return Timing{NumberAfter(output, "seconds"), NumberAfter(output, "score")};
}

void SingleActivation(const std::string& dir, const std::string& kind, int64_t n, int64_t d,
                      double goal, int paper_repeats) {
  const std::string x_path = absl::StrCat(dir, "/x_", kind, n, "_", d, ".npy");
  const std::string y_path = absl::StrCat(dir, "/y_", kind, n, "_", d, ".npy");
  MakeActivation(kind, n, d, x_path, y_path);
  const Timing affsig = TimeAffsig(x_path, y_path, absl::GetFlag(FLAGS_repeats));
  std::cout << absl::StrFormat("\n## one activation (%s), N = %d, d = %d\n", kind, n, d);
  std::cout << absl::StrFormat("| implementation | seconds | score | paper / affsig |\n");
  std::cout << absl::StrFormat("|---|---|---|---|\n");
  std::cout << absl::StrFormat("| affsig (C++, float64) | %.4f | %.6f | |\n", affsig.seconds,
                               affsig.score);
  if (n > d) {
    // The 5x-against-the-paper goal at this size was withdrawn for the measured floor (issue 10).
    const double floor = TimeFloor(x_path, y_path, absl::GetFlag(FLAGS_repeats));
    const double ratio = affsig.seconds / floor;
    std::cout << absl::StrFormat(
        "| floor (covariances, eigh, map, float32 cost product) | %.4f | | affsig / floor: "
        "**%.2fx** (goal <= 1.2x: %s) |\n",
        floor, ratio, ratio <= 1.2 ? "met" : "NOT met");
  }
  for (const std::string dtype : {"float32", "float64"}) {
    auto paper = TimePaper(x_path, y_path, dtype, paper_repeats);
    if (!paper.ok()) {
      std::cout << absl::StrFormat("| paper (Python, %s) | failed (see stderr) | | |\n", dtype);
      continue;
    }
    const double ratio = paper->seconds / affsig.seconds;
    std::cout << absl::StrFormat(
        "| paper (Python, %s) | %.4f | %.6f | **%.1fx**%s |\n", dtype, paper->seconds, paper->score,
        ratio,
        goal > 0 ? absl::StrFormat(" (goal %.0fx: %s)", goal, ratio >= goal ? "met" : "NOT met")
                 : "");
  }
}

// Child: load the model, run the bare forward or the signature, print time and peak memory.
int RunChild(const std::string& what, const std::string& model_path, int batch_size) {
  auto model =
      engine::SignatureModel::Load(model_path,
                                   {absl::GetFlag(FLAGS_device), absl::GetFlag(FLAGS_threads),
                                    absl::GetFlag(FLAGS_child_scoring_threads)},
                                   {absl::GetFlag(FLAGS_child_optimize)});
  if (!model.ok()) {
    std::cerr << model.status() << "\n";
    return 1;
  }
  at::manual_seed(11);
  at::Tensor batch = at::randn({batch_size, 3, 224, 224});
  if (absl::GetFlag(FLAGS_device) != "cpu") batch = batch.pin_memory();
  const long rss_before = PeakRssKb();
  double best = 1e300;
  size_t entries = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_resnet_repeats); ++i) {
    const auto start = Clock::now();
    if (what == "forward") {
      if (!(*model)->Forward(batch).ok()) return 1;
    } else {
      engine::SignatureOptions options;
      if (absl::GetFlag(FLAGS_child_measures)) options.measures = MeasureSelection::All();
      auto signature = (*model)->Compute(batch, options);
      if (!signature.ok()) return 1;
      entries = signature->size();
    }
    best = std::min(best, bench::SecondsSince(start));
  }
  std::cout << absl::StrFormat("seconds=%.6f peak_rss_kb=%d before_rss_kb=%d entries=%d\n", best,
                               PeakRssKb(), rss_before, entries);
  return 0;
}

void Resnet(const std::string& dir) {
  const std::string model_path = dir + "/resnet18.pt";
  auto exported =
      RunCommand(absl::StrCat(Python(), " ", PythonScript(), " export resnet18 ", model_path));
  if (!exported.ok()) {
    std::cout << "cannot export resnet18: " << exported.status() << "\n";
    return;
  }
  const int batch = absl::GetFlag(FLAGS_resnet_batch);
  struct Run {
    const char* kind;
    bool optimize;
    bool measures;
    int scoring_threads;
    const char* label;
    double seconds = 0, peak_kb = 0, before_kb = 0, entries = 0;
  };
  const int pool = engine::DefaultScoringThreads(absl::GetFlag(FLAGS_threads));
  Run runs[] = {
      {"forward", false, false, pool, "bare forward, the model's own"},
      {"signature", false, false, pool, "whole signature, the model's own forward"},
      {"forward", true, false, pool, "bare forward, optimized"},
      {"signature", true, false, pool, "whole signature, optimized forward"},
      {"signature", true, true, pool, "whole signature, optimized forward, --measures=all"},
      {"signature", true, false, 0, "whole signature, optimized forward, scored after it"}};
  for (Run& run : runs) {
    auto output = RunCommand(absl::StrCat(
        bench::SelfPath(), " --child=", run.kind, " --child_optimize=", run.optimize,
        " --child_measures=", run.measures, " --child_scoring_threads=", run.scoring_threads,
        " --model=", model_path, " --resnet_batch=", batch,
        " --device=", absl::GetFlag(FLAGS_device), " --threads=", absl::GetFlag(FLAGS_threads),
        " --resnet_repeats=", absl::GetFlag(FLAGS_resnet_repeats)));
    if (!output.ok()) {
      std::cout << run.label << " run failed: " << output.status() << "\n";
      return;
    }
    run.seconds = NumberAfter(*output, "seconds");
    run.peak_kb = NumberAfter(*output, "peak_rss_kb");
    run.before_kb = NumberAfter(*output, "before_rss_kb");
    run.entries = NumberAfter(*output, "entries");
  }
  std::cout << absl::StrFormat(
      "\n## resnet18, random weights, batch %d x 3 x 224 x 224, %d signature entries, on %s\n",
      batch, static_cast<int>(runs[1].entries), absl::GetFlag(FLAGS_device));
  std::cout
      << "| run | seconds | peak RSS (MiB) | peak above model+batch (MiB) |\n|---|---|---|---|\n";
  for (const Run& run : runs) {
    std::cout << absl::StrFormat("| %s | %.3f | %.0f | %.0f |\n", run.label, run.seconds,
                                 run.peak_kb / 1024, (run.peak_kb - run.before_kb) / 1024);
  }
  const Run& plain_forward = runs[0];
  const Run& plain_signature = runs[1];
  const Run& fast_forward = runs[2];
  const Run& fast_signature = runs[3];
  const Run& measured_signature = runs[4];
  const Run& serial_signature = runs[5];
  auto report = [](const char* what, double ratio, const char* goal, bool met) {
    std::cout << absl::StrFormat("%s: **%.3fx** (goal %s: %s)\n", what, ratio, goal,
                                 met ? "met" : "NOT met");
  };
  std::cout << "\n";
  const double speedup = plain_signature.seconds / fast_signature.seconds;
  std::cout << absl::StrFormat(
      "optimized forward speed-up of the whole signature: **%.2fx**, of the bare forward: "
      "**%.2fx**\n",
      speedup, plain_forward.seconds / fast_forward.seconds);
  const double time_ratio = fast_signature.seconds / fast_forward.seconds;
  const double memory_ratio = fast_signature.peak_kb / fast_forward.peak_kb;
  report("signature / optimized bare forward time", time_ratio, "<= 1.15x", time_ratio <= 1.15);
  report("signature / optimized bare forward peak memory", memory_ratio, "<= 1.2x",
         memory_ratio <= 1.2);
  std::cout << absl::StrFormat(
      "scoring beside the forward (%d scoring threads) / scoring after it: **%.3fx** time\n", pool,
      fast_signature.seconds / serial_signature.seconds);
  const double plain_ratio = plain_signature.seconds / plain_forward.seconds;
  report("unoptimized: signature / the model's own forward time", plain_ratio, "<= 1.5x",
         plain_ratio <= 1.5);
  const double measures_ratio = measured_signature.seconds / fast_signature.seconds;
  report("signature with every measure / without, time", measures_ratio, "<= 1.3x",
         measures_ratio <= 1.3);
}

}  // namespace
}  // namespace affsig

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  if (!absl::GetFlag(FLAGS_child).empty()) {
    return affsig::RunChild(absl::GetFlag(FLAGS_child), absl::GetFlag(FLAGS_model),
                            absl::GetFlag(FLAGS_resnet_batch));
  }
  std::string dir = absl::GetFlag(FLAGS_work_dir);
  if (dir.empty()) {
    char pattern[] = "/tmp/affsig-bench-XXXXXX";
    dir = mkdtemp(pattern);
  }
  std::cout << std::unitbuf
            << "# affsig engine benchmark\n\nthreads: " << absl::GetFlag(FLAGS_threads)
            << ", LibTorch intra-op threads: " << at::get_num_threads() << ", OpenBLAS: "
            << (std::string(AFFSIG_OPENBLAS_DIR).empty() ? "system default" : AFFSIG_OPENBLAS_DIR)
            << " (C++ and Python)\n";
  for (const std::string kind : {"relu", "mixed"}) {
    affsig::SingleActivation(dir, kind, 2048, 512, 0.0, absl::GetFlag(FLAGS_repeats));
    if (!absl::GetFlag(FLAGS_skip_wide)) affsig::SingleActivation(dir, kind, 512, 4096, 50.0, 1);
  }
  if (!absl::GetFlag(FLAGS_skip_resnet)) affsig::Resnet(dir);
  std::filesystem::remove_all(dir);
  return 0;
}
