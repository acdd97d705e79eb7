#include "server/engine/npy_tensor.h"

#include <ATen/ATen.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace affsig::engine {
namespace {

struct DtypePair {
  NpyDtype npy;
  at::ScalarType torch;
};

constexpr DtypePair kDtypes[] = {
    {NpyDtype::kFloat16, at::kHalf},   {NpyDtype::kFloat32, at::kFloat},
    {NpyDtype::kFloat64, at::kDouble}, {NpyDtype::kUint8, at::kByte},
    {NpyDtype::kInt8, at::kChar},      {NpyDtype::kInt16, at::kShort},
    {NpyDtype::kInt32, at::kInt},      {NpyDtype::kInt64, at::kLong},
    {NpyDtype::kBool, at::kByte},
};

}  // namespace

absl::StatusOr<at::Tensor> TensorFromNpy(const NpyArray& array) {
  for (const DtypePair& pair : kDtypes) {
    if (pair.npy != array.dtype) continue;
    at::Tensor tensor = at::empty(array.shape, at::TensorOptions().dtype(pair.torch));
    // An empty tensor's data pointer is null, which memcpy may not be given even for 0 bytes
    // (found by tests/fuzz: samples of shape (0,)).
    if (!array.data.empty()) std::memcpy(tensor.data_ptr(), array.data.data(), array.data.size());
    return tensor;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no tensor type for npy dtype ", NpyDtypeName(array.dtype)));
}

absl::StatusOr<at::Tensor> ReadNpyTensor(const std::string& path) {
  ASSIGN_OR_RETURN(auto array, ReadNpyFile(path));
  return TensorFromNpy(array);
}

absl::StatusOr<NpyArray> NpyFromTensor(const at::Tensor& tensor) {
  const at::Tensor host = tensor.detach().to(at::kCPU).contiguous();
  for (const DtypePair& pair : kDtypes) {
    if (pair.torch != host.scalar_type()) continue;
    NpyArray array;
    array.dtype = pair.npy;
    array.shape.assign(host.sizes().begin(), host.sizes().end());
    array.data.assign(static_cast<const char*>(host.data_ptr()), host.nbytes());
    return array;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no npy dtype for tensor type ", c10::toString(host.scalar_type())));
}

}  // namespace affsig::engine
