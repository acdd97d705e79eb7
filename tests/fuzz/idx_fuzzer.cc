// The IDX image reader (OpenIdxImages, server/datasets/image_datasets.h: MNIST's format) on any
// bytes, gzipped when they start as gzip does: images or an error naming the file, never a crash
// or an allocation beyond what the file holds. The first and the last image of what opens are
// read.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/datasets/image_datasets.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace affsig;
  const bool gzipped = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const std::string path = fuzz::WriteInputFile(
      gzipped ? "fuzz-images-idx3-ubyte.gz" : "fuzz-images-idx3-ubyte", data, size);
  auto dataset = datasets::OpenIdxImages(path);
  if (!dataset.ok()) return 0;
  const int64_t images = (*dataset)->size();
  fuzz::Require(images > 0, "an IDX file that opens holds images");
  // Deflate expands data 1032-fold at most.
  const int64_t largest = static_cast<int64_t>(size) * (gzipped ? 1032 : 1);
  for (int64_t index : {int64_t{0}, images - 1}) {
    auto image = (*dataset)->Read(index);
    fuzz::Require(
        image.ok() && image->dim() == 3 && image->size(0) == 1 && image->numel() <= largest,
        "a 1 x rows x cols image the file holds");
  }
  return 0;
}
