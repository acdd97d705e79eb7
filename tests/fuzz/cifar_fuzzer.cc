// The CIFAR-10 and CIFAR-100 binary readers (OpenCifar, server/datasets/image_datasets.h) on any
// bytes: records or an error naming the file, never a crash. The first and the last image of what
// opens are read.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/datasets/image_datasets.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace affsig;
  const std::string path = fuzz::WriteInputFile("data_batch.bin", data, size);
  for (int labels : {1, 2}) {
    auto dataset = datasets::OpenCifar(path, labels);
    if (!dataset.ok()) continue;
    const int64_t images = (*dataset)->size();
    fuzz::Require(images * (labels + 3072) == static_cast<int64_t>(size),
                  "whole records fill the file");
    for (int64_t index : {int64_t{0}, images - 1}) {
      auto image = (*dataset)->Read(index);
      fuzz::Require(image.ok() && image->sizes().equals({3, 32, 32}), "a 3 x 32 x 32 image");
    }
  }
  return 0;
}
