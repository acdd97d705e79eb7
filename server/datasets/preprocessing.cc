#include "server/datasets/preprocessing.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace affsig::datasets {
namespace {

absl::Status NeedsImage(const at::Tensor& sample, absl::string_view step) {
  if (sample.dim() == 3) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(step, " needs C x H x W samples, got shape (",
                                                 absl::StrJoin(sample.sizes(), ", "), ")"));
}

// Pillow's bilinear resampling of 8-bit images (libImaging/Resample.c), which the paper's data
// loaders use: triangle-filter weights stretched by the scale when reducing, rounded to 22-bit
// fixed point, a horizontal pass rounded to 8 bits, then a vertical one.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coefficients {
  int64_t taps = 0;             // per output pixel
  std::vector<int64_t> first;   // the first input pixel each output pixel reads
  std::vector<int64_t> count;   // how many it reads
  std::vector<int64_t> weight;  // `taps` fixed-point weights per output pixel
};

Coefficients PillowCoefficients(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the bilinear filter's support is 1
  Coefficients c;
  c.taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<size_t>(out_size));
  c.count.resize(static_cast<size_t>(out_size));
  c.weight.assign(static_cast<size_t>(out_size * c.taps), 0);
  std::vector<double> w(static_cast<size_t>(c.taps));
  for (int64_t out = 0; out < out_size; ++out) {
    const double center = (static_cast<double>(out) + 0.5) * scale;
    const int64_t first = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t last = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size);
    const int64_t count = last - first;
    double total = 0.0;
    for (int64_t x = 0; x < count; ++x) {
      const double t = std::abs((static_cast<double>(x + first) - center + 0.5) / filter_scale);
      w[static_cast<size_t>(x)] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[static_cast<size_t>(x)];
    }
    for (int64_t x = 0; x < count; ++x) {
      const double normalized = total != 0.0 ? w[static_cast<size_t>(x)] / total : 0.0;
      c.weight[static_cast<size_t>(out * c.taps + x)] =
          static_cast<int64_t>(normalized < 0 ? -0.5 + normalized * (1 << kPrecisionBits)
                                              : 0.5 + normalized * (1 << kPrecisionBits));
    }
    c.first[static_cast<size_t>(out)] = first;
    c.count[static_cast<size_t>(out)] = count;
  }
  return c;
}

uint8_t Clip8(int64_t sum) {
  if (sum <= 0) return 0;
  if (sum >= (int64_t{255} << kPrecisionBits)) return 255;
  return static_cast<uint8_t>(sum >> kPrecisionBits);
}

// Resamples `lines` lines with the coefficients `c` (in_size to out_size pixels). Pixels of a
// line are `*_stride` apart, lines `*_line_step` apart.
void ResampleLines(const Coefficients& c, const uint8_t* in, uint8_t* out, int64_t lines,
                   int64_t in_stride, int64_t in_line_step, int64_t out_stride,
                   int64_t out_line_step) {
  const auto out_size = static_cast<int64_t>(c.first.size());
  for (int64_t line = 0; line < lines; ++line) {
    for (int64_t o = 0; o < out_size; ++o) {
      int64_t sum = int64_t{1} << (kPrecisionBits - 1);
      const int64_t* k = &c.weight[static_cast<size_t>(o * c.taps)];
      const uint8_t* p = in + line * in_line_step + c.first[static_cast<size_t>(o)] * in_stride;
      for (int64_t x = 0; x < c.count[static_cast<size_t>(o)]; ++x) sum += p[x * in_stride] * k[x];
      out[line * out_line_step + o * out_stride] = Clip8(sum);
    }
  }
}

// An 8-bit C x H x W image resized as Pillow's Image.resize(size, BILINEAR) resizes it.
at::Tensor ResizeLikePillow(const at::Tensor& image, int64_t new_height, int64_t new_width) {
  const at::Tensor in = image.contiguous();
  const int64_t channels = in.size(0), height = in.size(1), width = in.size(2);
  at::Tensor horizontal = in;
  if (new_width != width) {
    horizontal = at::empty({channels, height, new_width}, at::kByte);
    ResampleLines(PillowCoefficients(width, new_width), in.data_ptr<uint8_t>(),
                  horizontal.data_ptr<uint8_t>(), channels * height, 1, width, 1, new_width);
  }
  if (new_height == height) return horizontal;
  at::Tensor out = at::empty({channels, new_height, new_width}, at::kByte);
  const Coefficients vertical = PillowCoefficients(height, new_height);
  for (int64_t c = 0; c < channels; ++c) {
    // Each column is a line: its pixels a row apart, neighbouring columns one apart.
    ResampleLines(vertical, horizontal.data_ptr<uint8_t>() + c * height * new_width,
                  out.data_ptr<uint8_t>() + c * new_height * new_width, new_width, new_width, 1,
                  new_width, 1);
  }
  return out;
}

// torchvision's F.resize(img, size) for an int size: the shorter side becomes `size`, the
// longer int(size * long / short). 8-bit images are resampled as Pillow does (the paper's loaders
// hand PIL images to the transforms); float samples by LibTorch's antialiased bilinear
// interpolation, the same filter in floating point.
at::Tensor ResizeShorterSide(const at::Tensor& image, int64_t size) {
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t shorter = std::min(height, width), longer = std::max(height, width);
  if (shorter == size) return image;
  const auto other = static_cast<int64_t>(static_cast<double>(size) * longer / shorter);
  const int64_t new_height = height <= width ? size : other;
  const int64_t new_width = height <= width ? other : size;
  if (image.scalar_type() == at::kByte) return ResizeLikePillow(image, new_height, new_width);
  return at::_upsample_bilinear2d_aa(image.to(at::kFloat).unsqueeze(0), {new_height, new_width},
                                     false)
      .squeeze(0);
}

// torchvision's F.center_crop: offsets int(round((size - crop) / 2)), rounding halves to even.
at::Tensor CenterCrop(const at::Tensor& image, int64_t crop) {
  const auto top = static_cast<int64_t>(std::nearbyint((image.size(1) - crop) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint((image.size(2) - crop) / 2.0));
  return image.narrow(1, top, crop).narrow(2, left, crop);
}

}  // namespace

absl::StatusOr<at::Tensor> Preprocess(const at::Tensor& sample, const Preprocessing& options) {
  // 8-bit images stay 8-bit through resize and crop, as PIL images do.
  const bool eight_bit = sample.scalar_type() == at::kByte;
  at::Tensor x = eight_bit ? sample : sample.to(at::kFloat);
  if (options.grayscale_to_rgb && x.dim() == 3 && x.size(0) == 1) x = x.expand({3, -1, -1});
  const int64_t resize = options.resize.value_or(0), crop = options.crop.value_or(0);
  if (resize > 0) {
    RETURN_IF_ERROR(NeedsImage(x, "resize"));
    x = ResizeShorterSide(x, resize);
  }
  if (crop > 0) {
    RETURN_IF_ERROR(NeedsImage(x, "crop"));
    if (x.size(1) < crop || x.size(2) < crop) {
      return absl::InvalidArgumentError(absl::StrCat("a ", x.size(1), " x ", x.size(2),
                                                     " image is smaller than the crop ", crop,
                                                     ": resize it first"));
    }
    x = CenterCrop(x, crop);
  }
  x = eight_bit ? x.to(at::kFloat) / 255.0 : x;
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
