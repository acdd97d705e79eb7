#include "server/datasets/preprocessing.h"

#include <ATen/ATen.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace affsig::datasets {
namespace {

absl::Status NeedsImage(const at::Tensor& sample, absl::string_view step) {
  if (sample.dim() == 3) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(step, " needs C x H x W samples, got shape (",
                                                 absl::StrJoin(sample.sizes(), ", "), ")"));
}

// torchvision's F.resize(img, size) for an int size: the shorter side becomes `size`, the
// longer int(size * long / short).
at::Tensor ResizeShorterSide(const at::Tensor& image, int64_t size, bool eight_bit) {
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t shorter = std::min(height, width), longer = std::max(height, width);
  if (shorter == size) return image;
  const auto other = static_cast<int64_t>(static_cast<double>(size) * longer / shorter);
  const int64_t new_height = height <= width ? size : other;
  const int64_t new_width = height <= width ? other : size;
  at::Tensor resized =
      at::_upsample_bilinear2d_aa(image.to(at::kFloat).unsqueeze(0), {new_height, new_width}, false)
          .squeeze(0);
  return eight_bit ? resized.round().clamp(0, 255) : resized;
}

// torchvision's F.center_crop: offsets int(round((size - crop) / 2)), rounding halves to even.
at::Tensor CenterCrop(const at::Tensor& image, int64_t crop) {
  const auto top = static_cast<int64_t>(std::nearbyint((image.size(1) - crop) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint((image.size(2) - crop) / 2.0));
  return image.narrow(1, top, crop).narrow(2, left, crop);
}

}  // namespace

absl::StatusOr<at::Tensor> Preprocess(const at::Tensor& sample, const Preprocessing& options) {
  const bool eight_bit = sample.scalar_type() == at::kByte;
  at::Tensor x = sample.to(at::kFloat);
  if (options.grayscale_to_rgb && x.dim() == 3 && x.size(0) == 1) x = x.expand({3, -1, -1});
  const int64_t resize = options.resize.value_or(0), crop = options.crop.value_or(0);
  if (resize > 0) {
    if (absl::Status image = NeedsImage(x, "resize"); !image.ok()) return image;
    x = ResizeShorterSide(x, resize, eight_bit);
  }
  if (crop > 0) {
    if (absl::Status image = NeedsImage(x, "crop"); !image.ok()) return image;
    if (x.size(1) < crop || x.size(2) < crop) {
      return absl::InvalidArgumentError(absl::StrCat("a ", x.size(1), " x ", x.size(2),
                                                     " image is smaller than the crop ", crop,
                                                     ": resize it first"));
    }
    x = CenterCrop(x, crop);
  }
  if (eight_bit) x = x / 255.0;
  if (!options.mean.empty()) {
    const auto channels = static_cast<int64_t>(options.mean.size());
    if (x.dim() < 1 || x.size(0) != channels) {
      return absl::InvalidArgumentError(absl::StrCat("normalize has ", channels,
                                                     " channel values but the sample has shape (",
                                                     absl::StrJoin(x.sizes(), ", "), ")"));
    }
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[0] = channels;
    const at::Tensor mean = at::tensor(options.mean, at::kDouble).to(at::kFloat).view(shape);
    const at::Tensor std = at::tensor(options.std, at::kDouble).to(at::kFloat).view(shape);
    x = (x - mean) / std;
  }
  return x.contiguous();
}

}  // namespace affsig::datasets
