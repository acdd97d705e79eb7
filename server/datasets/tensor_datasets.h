// Tensor sources: a .npy file read one sample at a time (float16/32/64, uint8 and the integer
// types, C order), a torch.save'd .pt tensor (loaded whole, by torch_saved_tensor.h: the format
// offers no piecewise read), and Gaussian samples made from a seed (sample i is the same whatever
// the order).
#ifndef AFFSIG_SERVER_DATASETS_TENSOR_DATASETS_H_
#define AFFSIG_SERVER_DATASETS_TENSOR_DATASETS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/data_spec.h"
#include "server/datasets/sample_dataset.h"

namespace affsig::datasets {

// `name` is how errors call the file ("input <sha256>", or its server path).
absl::StatusOr<std::unique_ptr<SampleDataset>> OpenNpyDataset(const std::string& path,
                                                              const std::string& name);
absl::StatusOr<std::unique_ptr<SampleDataset>> OpenTensorFileDataset(const std::string& path,
                                                                     const std::string& name);
std::unique_ptr<SampleDataset> MakeRandomDataset(const RandomSamples& random);

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_TENSOR_DATASETS_H_
