// Conversions between .npy arrays and LibTorch tensors.
#ifndef AFFSIG_SERVER_ENGINE_NPY_TENSOR_H_
#define AFFSIG_SERVER_ENGINE_NPY_TENSOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/npy.h"

namespace at {
class Tensor;
}

namespace affsig::engine {

// A CPU tensor holding a copy of the array, in its dtype (bool becomes uint8).
absl::StatusOr<at::Tensor> TensorFromNpy(const NpyArray& array);
absl::StatusOr<at::Tensor> ReadNpyTensor(const std::string& path);

// A .npy array of a float32, float64, float16, uint8, int8, int16, int32 or int64 tensor.
absl::StatusOr<NpyArray> NpyFromTensor(const at::Tensor& tensor);

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_NPY_TENSOR_H_
