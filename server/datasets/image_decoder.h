// JPEG (libjpeg-turbo) and PNG (libpng) files as 8-bit C x H x W tensors, decoded as torchvision's
// read_image decodes them with the same libraries: JPEG with the default (islow) IDCT and fancy
// upsampling; PNG palettes expanded, 16-bit samples reduced to 8, alpha dropped.
#ifndef AFFSIG_SERVER_DATASETS_IMAGE_DECODER_H_
#define AFFSIG_SERVER_DATASETS_IMAGE_DECODER_H_

#include <ATen/Tensor.h>

#include <string>

#include "absl/status/statusor.h"

namespace affsig::datasets {

enum class ColorMode { kUnchanged, kRgb };

// Errors name the file and say what is wrong with it in one line.
absl::StatusOr<at::Tensor> DecodeImageFile(const std::string& path, ColorMode mode);

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_IMAGE_DECODER_H_
