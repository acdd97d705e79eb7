// A source of samples, read one at a time so that a dataset is never loaded whole: tensor files
// (.npy read piecewise; a torch.save'd .pt), random Gaussian samples, and 8-bit image datasets
// (image folders, CIFAR, MNIST). OpenSampleDataset makes the one a DataSpec names.
#ifndef AFFSIG_SERVER_DATASETS_SAMPLE_DATASET_H_
#define AFFSIG_SERVER_DATASETS_SAMPLE_DATASET_H_

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/data_spec.h"

namespace affsig::datasets {

class SampleDataset {
 public:
  virtual ~SampleDataset() = default;
  virtual int64_t size() const = 0;
  // Sample `index` (0 <= index < size()): an 8-bit C x H x W image for image sources (sizes may
  // differ between samples), else a float tensor of the sample's shape. Errors name the file.
  // Safe to call from several threads at once (BatchStream reads a batch with a pool).
  virtual absl::StatusOr<at::Tensor> Read(int64_t index) const = 0;
};

// How the server finds a source's files.
struct DataAccess {
  // The file of an uploaded blob, by digest.
  std::function<absl::StatusOr<std::string>(const std::string& sha256)> blob_path;
  // Folders that server paths must stay inside (--data-root); none: server paths are refused.
  std::vector<std::string> roots;
};

absl::StatusOr<std::unique_ptr<SampleDataset>> OpenSampleDataset(const DataSpec& spec,
                                                                 const DataAccess& access);

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_SAMPLE_DATASET_H_
