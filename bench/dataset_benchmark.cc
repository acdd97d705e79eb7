// Measures that a job's memory is bounded by a few batches whatever the size of its dataset:
// the same image-folder job (decoding, ImageClassification preprocessing, a model's signature
// per batch, the statistics over batches) with 2 and with 20 batches, each in its own process,
// and prints the ratio of their peak resident memory (goal: within 20%). Then the decoding pool:
// the batches alone (reading, decoding, preprocessing; no model) with one decode thread and
// with --decode_threads, and their ratio.
//
// Usage: dataset_benchmark [--images=DIR] [--count=5000] [--batch_size=250] [--threads=T]
//                          [--model=FILE.pt] [--decode_threads=D]
// Without --images it writes COUNT JPEG images with bench/make_image_folder.py.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "common/batch_statistics.h"
#include "common/data_spec.h"
#include "common/status_macros.h"
#include "server/datasets/batch_stream.h"
#include "server/datasets/sample_dataset.h"
#include "server/engine/signature_engine.h"

ABSL_FLAG(std::string, images, "", "an image folder (default: COUNT generated images)");
ABSL_FLAG(int, count, 5000, "images to generate without --images");
ABSL_FLAG(int, batch_size, 250, "images per batch");
ABSL_FLAG(int, threads, static_cast<int>(std::thread::hardware_concurrency()),
          "LibTorch intra-op threads");
ABSL_FLAG(std::string, model, AFFSIG_DEFAULT_MODEL, "the model whose signature each batch gets");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Python with PIL (numpy, Pillow)");
ABSL_FLAG(int, decode_threads, static_cast<int>(std::thread::hardware_concurrency()),
          "decode threads compared with one");
// Internal: one measured run, in a child process.
ABSL_FLAG(int, child_batches, 0, "internal: run this many batches and print the measurements");

namespace affsig {
namespace {

DataSpec ImageFolderSpec(int batches) {
  DataSpec spec;
  spec.kind = DataKind::kImageFolder;
  spec.location = absl::GetFlag(FLAGS_images);
  spec.batching.batch_size = absl::GetFlag(FLAGS_batch_size);
  spec.batching.batches = batches;
  ApplyDataDefaults(spec);
  return spec;
}

// Seconds to make every full batch of the folder with `decode_threads`, no model.
absl::StatusOr<double> DecodeSeconds(int decode_threads) {
  const DataSpec spec = ImageFolderSpec(0);
  datasets::DataAccess access;
  access.roots = {spec.location};
  ASSIGN_OR_RETURN(auto dataset, datasets::OpenSampleDataset(spec, access));
  datasets::StreamOptions options;
  options.decode_threads = decode_threads;
  const auto start = bench::Clock::now();
  ASSIGN_OR_RETURN(auto stream, datasets::BatchStream::Start(std::move(dataset), spec, options));
  while (true) {
    ASSIGN_OR_RETURN(auto batch, stream->Next());
    if (!batch) break;
  }
  return bench::SecondsSince(start);
}

int RunChild(int batches) {
  auto model = engine::SignatureModel::Load(absl::GetFlag(FLAGS_model),
                                            {"cpu", absl::GetFlag(FLAGS_threads)});
  if (!model.ok()) {
    std::cerr << model.status() << "\n";
    return 1;
  }
  const DataSpec spec = ImageFolderSpec(batches);
  datasets::DataAccess access;
  access.roots = {spec.location};
  auto dataset = datasets::OpenSampleDataset(spec, access);
  if (!dataset.ok()) {
    std::cerr << dataset.status() << "\n";
    return 1;
  }
  const long before_kb = bench::PeakRssKb();
  const auto start = bench::Clock::now();
  auto stream = datasets::BatchStream::Start(*std::move(dataset), spec);
  if (!stream.ok()) {
    std::cerr << stream.status() << "\n";
    return 1;
  }
  std::vector<Signature> per_batch;
  while (true) {
    auto batch = (*stream)->Next();
    if (!batch.ok()) {
      std::cerr << batch.status() << "\n";
      return 1;
    }
    if (!batch->has_value()) break;
    auto signature = (*model)->Compute(**batch, {});
    if (!signature.ok()) {
      std::cerr << signature.status() << "\n";
      return 1;
    }
    per_batch.push_back(*std::move(signature));
  }
  auto combined = CombineBatches(per_batch);
  if (!combined.ok()) return 1;
  std::cout << absl::StrFormat("seconds=%.3f peak_rss_kb=%d before_rss_kb=%d batches=%d\n",
                               bench::SecondsSince(start), bench::PeakRssKb(), before_kb,
                               per_batch.size());
  return 0;
}

int Run() {
  std::string images = absl::GetFlag(FLAGS_images);
  if (images.empty()) {
    char pattern[] = "/tmp/affsig-images-XXXXXX";
    images = mkdtemp(pattern);
    auto made = bench::RunCommand(absl::StrCat(absl::GetFlag(FLAGS_python), " ", AFFSIG_SOURCE_DIR,
                                               "/bench/make_image_folder.py", " --count ",
                                               absl::GetFlag(FLAGS_count), " --out ", images));
    if (!made.ok()) {
      std::cerr << made.status() << "\n";
      return 1;
    }
  }
  std::cout << std::unitbuf << "# affsig dataset memory benchmark\n\nimages: " << images
            << ", batch size " << absl::GetFlag(FLAGS_batch_size)
            << ", resize 256, crop 224, model " << absl::GetFlag(FLAGS_model) << ", threads "
            << absl::GetFlag(FLAGS_threads) << "\n\n"
            << "| batches | seconds | peak RSS (MiB) |\n|---|---|---|\n";
  double peak_kb[2] = {0, 0};
  const int runs[2] = {2, 20};
  for (int i = 0; i < 2; ++i) {
    auto output = bench::RunCommand(absl::StrCat(
        bench::SelfPath(), " --child_batches=", runs[i], " --images=", images,
        " --batch_size=", absl::GetFlag(FLAGS_batch_size),
        " --threads=", absl::GetFlag(FLAGS_threads), " --model=", absl::GetFlag(FLAGS_model)));
    if (!output.ok()) {
      std::cout << "the run of " << runs[i] << " batches failed: " << output.status() << "\n";
      return 1;
    }
    peak_kb[i] = bench::NumberAfter(*output, "peak_rss_kb");
    std::cout << absl::StrFormat("| %d | %.1f | %.0f |\n", runs[i],
                                 bench::NumberAfter(*output, "seconds"), peak_kb[i] / 1024);
  }
  const double ratio = peak_kb[1] / peak_kb[0];
  std::cout << absl::StrFormat(
      "\npeak memory, 20 batches / 2 batches: **%.3fx** (goal <= 1.2x: %s)\n", ratio,
      ratio <= 1.2 ? "met" : "NOT met");

  absl::SetFlag(&FLAGS_images, images);
  const int threads = absl::GetFlag(FLAGS_decode_threads);
  auto one = DecodeSeconds(1);
  auto many = DecodeSeconds(threads);
  if (!one.ok() || !many.ok()) {
    std::cout << "decoding failed: " << (one.ok() ? many.status() : one.status()) << "\n";
    return 1;
  }
  std::cout << absl::StrFormat(
      "\nthe batches alone (read, decode, resize 256, crop 224, normalize; no model):\n\n"
      "| decode threads | seconds |\n|---|---|\n| 1 | %.2f |\n| %d | %.2f |\n\n"
      "decoding pool speed-up: **%.2fx** with %d threads\n",
      *one, threads, *many, *one / *many, threads);
  if (absl::GetFlag(FLAGS_images).empty()) std::filesystem::remove_all(images);
  return 0;
}

}  // namespace
}  // namespace affsig

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  const int child = absl::GetFlag(FLAGS_child_batches);
  return child > 0 ? affsig::RunChild(child) : affsig::Run();
}
