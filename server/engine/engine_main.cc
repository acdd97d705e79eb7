// affsig-engine: computes one signature on this machine, without the service. For trying a
// model before submitting it, and for checking the engine on a GPU machine.
//
//   affsig-engine [--model=FILE.pt] [--input=FILE.npy | --random=64x3x32x32 --seed=0]
//                 [--activations=modules|all] [--device=cpu|cuda:K] [--threads=T]
//                 [--scoring-threads=S] [--optimize=auto|off] [--measures=cka,r2,...|all]
//                 [--format=table|json|csv]
#include <ATen/ATen.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/job.h"
#include "common/signature_format.h"
#include "server/engine/npy_tensor.h"
#include "server/engine/signature_engine.h"

ABSL_FLAG(std::string, model, AFFSIG_DEFAULT_MODEL, "TorchScript model file");
ABSL_FLAG(std::string, input, "", "batch as a .npy file (first dimension = samples)");
ABSL_FLAG(std::string, random, "64x3x16x16",
          "without --input: a N(0, 1) batch of this shape, samples first");
ABSL_FLAG(int64_t, seed, 0, "seed of the --random batch");
ABSL_FLAG(std::string, activations, "modules", "'modules' (the paper's) or 'all'");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or cuda:K");
ABSL_FLAG(int, threads, static_cast<int>(std::thread::hardware_concurrency()),
          "LibTorch intra-op threads");
ABSL_FLAG(int, scoring_threads, -1,
          "threads that score activations while the forward pass goes on (-1: one fewer than "
          "--threads, at least 1; 0: each after the forward)");
ABSL_FLAG(
    std::string, optimize, "auto",
    "'auto': the forward frozen and channels_last where LibTorch can; 'off': the model's own");
ABSL_FLAG(std::string, measures, "",
          "companion measures of each scored entry: shrinkage, cka, sparsity, entropy, norm, r2 "
          "(comma-separated) or all");
ABSL_FLAG(std::string, format, "table", "table, json or csv");

namespace {

int Fail(const absl::Status& status) {
  std::cerr << "affsig-engine: " << status.message() << "\n";
  return 1;
}

absl::StatusOr<at::Tensor> Batch() {
  if (!absl::GetFlag(FLAGS_input).empty())
    return affsig::engine::ReadNpyTensor(absl::GetFlag(FLAGS_input));
  std::vector<int64_t> shape;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_random), 'x')) {
    int64_t dim = 0;
    if (!absl::SimpleAtoi(part, &dim) || dim <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--random wants a shape like 64x3x32x32, got '", absl::GetFlag(FLAGS_random), "'"));
    }
    shape.push_back(dim);
  }
  at::manual_seed(absl::GetFlag(FLAGS_seed));
  return at::randn(shape);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Computes the non-linearity signature of a TorchScript model.");
  absl::ParseCommandLine(argc, argv);
  auto format = affsig::ParseOutputFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return Fail(format.status());
  auto mode = affsig::ParseActivationMode(absl::GetFlag(FLAGS_activations));
  if (!mode.ok()) return Fail(mode.status());
  auto optimize = affsig::ParseForwardOptimization(absl::GetFlag(FLAGS_optimize));
  if (!optimize.ok()) return Fail(optimize.status());
  auto measures = affsig::ParseMeasureList(absl::GetFlag(FLAGS_measures));
  if (!measures.ok()) return Fail(measures.status());
  auto batch = Batch();
  if (!batch.ok()) return Fail(batch.status());
  auto model = affsig::engine::SignatureModel::Load(
      absl::GetFlag(FLAGS_model),
      {absl::GetFlag(FLAGS_device), absl::GetFlag(FLAGS_threads),
       absl::GetFlag(FLAGS_scoring_threads)},
      {*optimize == affsig::ForwardOptimization::kAuto});
  if (!model.ok()) return Fail(model.status());

  const auto start = std::chrono::steady_clock::now();
  auto signature = (*model)->Compute(*batch, {*mode, {}, *measures});
  if (!signature.ok()) return Fail(signature.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << affsig::FormatSignature(*signature, *format);
  std::cerr << absl::StrCat(signature->size(), " activation calls of ", absl::GetFlag(FLAGS_model),
                            " on ", (*model)->device(), " in ", seconds, " s\n");
  if (!(*model)->unoptimized_reason().empty()) {
    std::cerr << "the forward ran unoptimized: " << (*model)->unoptimized_reason() << "\n";
  }
  return 0;
}
