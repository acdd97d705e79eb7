// The optimized forward over the model zoo (the 17 torchvision architectures the zoo fixtures
// hold, traced, random weights): per architecture, the whole signature in `all` mode with the
// model's own forward and with the optimized one (frozen, channels_last), the speed-up, and the
// largest score difference between the two. Each path's time is its second signature in the
// same process (the first instruments, and for the optimized path freezes, the model).
//
// Usage: zoo_benchmark [--zoo=build/zoo] [--batch=16] [--threads=T] [--only=resnet18,...]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "server/engine/signature_engine.h"

ABSL_FLAG(std::string, zoo, AFFSIG_ZOO_DIR, "folder of ARCH_traced.pt files");
ABSL_FLAG(int, batch, 16, "images of 3 x 224 x 224 per signature (N(0, 1), seed 0)");
ABSL_FLAG(int, threads, static_cast<int>(std::thread::hardware_concurrency()),
          "LibTorch intra-op threads");
ABSL_FLAG(std::string, only, "", "comma-separated architectures (default: every one)");

namespace affsig {
namespace {

struct Timed {
  double seconds = 0.0;
  Signature signature;
};

// The second of two signatures of `batch` with one model load.
absl::StatusOr<Timed> TimeSignature(const std::string& path, const at::Tensor& batch,
                                    bool optimize) {
  auto model =
      engine::SignatureModel::Load(path, {"cpu", absl::GetFlag(FLAGS_threads)}, {optimize});
  if (!model.ok()) return model.status();
  const engine::SignatureOptions options{ActivationMode::kAll};
  if (auto first = (*model)->Compute(batch, options); !first.ok()) return first.status();
  const auto start = bench::Clock::now();
  auto second = (*model)->Compute(batch, options);
  if (!second.ok()) return second.status();
  Timed timed{bench::SecondsSince(start), *std::move(second)};
  if (optimize && !(*model)->unoptimized_reason().empty()) {
    std::cerr << path << " ran unoptimized: " << (*model)->unoptimized_reason() << "\n";
  }
  return timed;
}

int Run() {
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  const std::set<std::string> only = [] {
    std::set<std::string> names;
    for (absl::string_view name :
         absl::StrSplit(absl::GetFlag(FLAGS_only), ',', absl::SkipEmpty())) {
      names.insert(std::string(name));
    }
    return names;
  }();
  std::vector<std::string> archs;
  for (const auto& file : std::filesystem::directory_iterator(absl::GetFlag(FLAGS_zoo))) {
    const std::string name = file.path().filename().string();
    const std::string suffix = "_traced.pt";
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
      continue;
    }
    const std::string arch = name.substr(0, name.size() - suffix.size());
    if (only.empty() || only.count(arch)) archs.push_back(arch);
  }
  std::sort(archs.begin(), archs.end());
  at::manual_seed(0);
  const at::Tensor batch = at::randn({absl::GetFlag(FLAGS_batch), 3, 224, 224});
  std::cout << std::unitbuf
            << absl::StrFormat(
                   "# the optimized forward over the model zoo\n\n%d x 3 x 224 x 224, `all` "
                   "mode, %d threads, traced models, the second signature of each load\n\n",
                   absl::GetFlag(FLAGS_batch), absl::GetFlag(FLAGS_threads))
            << "| architecture | entries | model's own forward (s) | optimized (s) | speed-up | "
               "largest \\|score difference\\| |\n|---|---|---|---|---|---|\n";
  double product = 1.0;
  int measured = 0;
  for (const std::string& arch : archs) {
    const std::string path = absl::GetFlag(FLAGS_zoo) + "/" + arch + "_traced.pt";
    auto plain = TimeSignature(path, batch, /*optimize=*/false);
    auto fast = TimeSignature(path, batch, /*optimize=*/true);
    if (!plain.ok() || !fast.ok()) {
      std::cout << absl::StrFormat("| %s | failed: %s | | | | |\n", arch,
                                   (!plain.ok() ? plain.status() : fast.status()).message());
      continue;
    }
    const size_t entries = plain->signature.size();
    if (fast->signature.size() != entries) {
      std::cout << absl::StrFormat("| %s | %d and %d: the paths disagree | | | | |\n", arch,
                                   entries, fast->signature.size());
      continue;
    }
    double largest = 0.0;
    for (size_t i = 0; i < entries; ++i) {
      const double a = plain->signature[i].score;
      const double b = fast->signature[i].score;
      if (std::isfinite(a) && std::isfinite(b)) largest = std::max(largest, std::abs(a - b));
    }
    const double speedup = plain->seconds / fast->seconds;
    product *= speedup;
    ++measured;
    std::cout << absl::StrFormat("| %s | %d | %.2f | %.2f | %.2fx | %.1e |\n", arch, entries,
                                 plain->seconds, fast->seconds, speedup, largest);
  }
  if (measured > 0) {
    std::cout << absl::StrFormat("\ngeometric mean speed-up over %d architectures: **%.2fx**\n",
                                 measured, std::pow(product, 1.0 / measured));
  }
  return 0;
}

}  // namespace
}  // namespace affsig

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return affsig::Run();
}
