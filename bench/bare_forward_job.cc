// A signature job's work without the signature: the same image folder read, decoded and
// preprocessed as a worker does (same batches, same decoding threads), the model loaded and
// optimized as a worker does, and only its bare forward run on each batch. What a job would cost
// if the capture and the scores were free: bench/whole_job_benchmark.sh compares the whole job
// against it.
//
// Usage: bare_forward_job --model=FILE.pt --images=DIR [--batch_size=256] [--batches=2]
//                         [--threads=T] [--data_threads=1]
// Prints one line: seconds=S batches=B (from loading the model to the last batch's output).
#include <ATen/ATen.h>

#include <iostream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "common/data_spec.h"
#include "common/status_macros.h"
#include "server/datasets/batch_stream.h"
#include "server/datasets/sample_dataset.h"
#include "server/engine/signature_engine.h"

ABSL_FLAG(std::string, model, "", "TorchScript model");
ABSL_FLAG(std::string, images, "", "an image folder");
ABSL_FLAG(int, batch_size, 256, "images per batch");
ABSL_FLAG(int, batches, 2, "batches");
ABSL_FLAG(int, threads, static_cast<int>(std::thread::hardware_concurrency()),
          "LibTorch intra-op threads (a worker's --threads)");
ABSL_FLAG(int, data_threads, 1, "decoding threads (a CPU worker's default --data-threads)");

namespace affsig {
namespace {

absl::Status Run() {
  const auto start = bench::Clock::now();
  ASSIGN_OR_RETURN(auto model, engine::SignatureModel::Load(absl::GetFlag(FLAGS_model),
                                                            {"cpu", absl::GetFlag(FLAGS_threads)}));
  DataSpec spec;
  spec.kind = DataKind::kImageFolder;
  spec.location = absl::GetFlag(FLAGS_images);
  spec.batching.batch_size = absl::GetFlag(FLAGS_batch_size);
  spec.batching.batches = absl::GetFlag(FLAGS_batches);
  ApplyDataDefaults(spec);
  datasets::DataAccess access;
  access.roots = {spec.location};
  ASSIGN_OR_RETURN(auto dataset, datasets::OpenSampleDataset(spec, access));
  datasets::StreamOptions stream_options;
  stream_options.decode_threads = absl::GetFlag(FLAGS_data_threads);
  stream_options.waiting_decode_threads =
      std::max(absl::GetFlag(FLAGS_data_threads), absl::GetFlag(FLAGS_threads));
  ASSIGN_OR_RETURN(auto stream,
                   datasets::BatchStream::Start(std::move(dataset), spec, stream_options));
  int batches = 0;
  while (true) {
    ASSIGN_OR_RETURN(auto batch, stream->Next());
    if (!batch) break;
    const double ready = bench::SecondsSince(start);
    RETURN_IF_ERROR(model->Forward(*batch).status());
    ++batches;
    std::cerr << absl::StrFormat("batch %d: ready at %.2f s, forward %.2f s\n", batches, ready,
                                 bench::SecondsSince(start) - ready);
  }
  if (!model->unoptimized_reason().empty()) {
    std::cerr << "the forward ran unoptimized: " << model->unoptimized_reason() << "\n";
  }
  std::cout << absl::StrFormat("seconds=%.3f batches=%d\n", bench::SecondsSince(start), batches);
  return absl::OkStatus();
}

}  // namespace
}  // namespace affsig

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (const absl::Status ran = affsig::Run(); !ran.ok()) {
    std::cerr << ran.message() << "\n";
    return 1;
  }
  return 0;
}
