// torchvision's ImageClassification preprocessing of one sample (transforms/_presets.py), as the
// paper's loaders apply it to PIL images: resize the shorter side (bilinear, antialiased; 8-bit
// images resampled exactly as Pillow does, float samples by LibTorch's antialiased bilinear),
// center-crop, scale 8-bit images to [0, 1], normalize.
#ifndef AFFSIG_SERVER_DATASETS_PREPROCESSING_H_
#define AFFSIG_SERVER_DATASETS_PREPROCESSING_H_

#include <ATen/Tensor.h>

#include "absl/status/statusor.h"
#include "common/data_spec.h"

namespace affsig::datasets {

// `sample`: an 8-bit C x H x W image, or a float tensor (resize and crop need C x H x W).
// Returns float32.
absl::StatusOr<at::Tensor> Preprocess(const at::Tensor& sample, const Preprocessing& options);

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_PREPROCESSING_H_
