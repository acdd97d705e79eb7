// JPEG (libjpeg-turbo) and PNG (libpng) files as 8-bit C x H x W tensors, decoded as torchvision's
// read_image decodes them with the same libraries: JPEG with the default (islow) IDCT and fancy
// upsampling; PNG palettes expanded, 16-bit samples reduced to 8, alpha dropped.
// Images of more than kMaxImagePixels are refused before any pixel is allocated.
#ifndef AFFSIG_SERVER_DATASETS_IMAGE_DECODER_H_
#define AFFSIG_SERVER_DATASETS_IMAGE_DECODER_H_

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig::datasets {

enum class ColorMode { kUnchanged, kRgb };

// Pillow's limit (twice Image.MAX_IMAGE_PIXELS, beyond which it raises DecompressionBombError),
// so that every image torchvision's ImageFolder opens is read here too: a header of a few bytes
// may announce 65535 x 65535 pixels, and the decoders would fill whatever it announces.
inline constexpr int64_t kMaxImagePixels = 2 * 89'478'485;

// The contents of a JPEG or PNG file; errors say what is wrong in one line.
absl::StatusOr<at::Tensor> DecodeImage(absl::string_view bytes, ColorMode mode);
// The same, read from a file; errors name the file.
absl::StatusOr<at::Tensor> DecodeImageFile(const std::string& path, ColorMode mode);

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_IMAGE_DECODER_H_
