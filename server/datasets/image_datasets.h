// 8-bit image sources, read one image at a time:
//   - an image folder in ImageNet layout, root/class_name/image.{JPEG,jpg,jpeg,png}: classes and
//     files in name order, every image decoded as RGB (as torchvision's ImageFolder loads them);
//   - CIFAR-10 / CIFAR-100 binary files (a label byte, or coarse and fine label bytes, then 3072
//     bytes of 3 x 32 x 32 planes per record), a file or a folder of *.bin files;
//   - IDX image files (MNIST, Fashion-MNIST: magic 0x00000803, N x rows x cols bytes), a file or a
//     folder of *-images-idx3-ubyte files, gzipped (.gz) as their authors distribute them or not.
// Files are checked when the dataset is opened; errors name the file.
#ifndef AFFSIG_SERVER_DATASETS_IMAGE_DATASETS_H_
#define AFFSIG_SERVER_DATASETS_IMAGE_DATASETS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/datasets/sample_dataset.h"

namespace affsig::datasets {

absl::StatusOr<std::unique_ptr<SampleDataset>> OpenImageFolder(const std::string& root);
// `labels` is 1 for CIFAR-10, 2 for CIFAR-100.
absl::StatusOr<std::unique_ptr<SampleDataset>> OpenCifar(const std::string& path, int labels);
absl::StatusOr<std::unique_ptr<SampleDataset>> OpenIdxImages(const std::string& path);

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_IMAGE_DATASETS_H_
