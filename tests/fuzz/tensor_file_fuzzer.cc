// An uploaded tensor file as a worker opens it (OpenSampleDataset, server/datasets): a .npy file
// read one sample at a time (tensor_datasets.cc, ParseNpyHeader), anything else read as a
// torch.save'd tensor (torch_saved_tensor.h). Any bytes open as samples or are refused with an
// error; the first and the last sample of what opens are read.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/datasets/sample_dataset.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace affsig;
  const std::string path = fuzz::WriteInputFile("upload", data, size);
  DataSpec spec;
  spec.kind = DataKind::kUpload;
  spec.location = "upload";
  datasets::DataAccess access;
  access.blob_path = [&](const std::string&) -> absl::StatusOr<std::string> { return path; };
  auto dataset = datasets::OpenSampleDataset(spec, access);
  if (!dataset.ok()) return 0;
  const int64_t samples = (*dataset)->size();
  fuzz::Require(samples >= 0, "a sample count");
  if (samples == 0) return 0;
  for (int64_t index : {int64_t{0}, samples - 1}) {
    auto sample = (*dataset)->Read(index);
    fuzz::Require(!sample.ok() || sample->scalar_type() == at::kFloat, "float samples");
  }
  return 0;
}
