// One tensor as torch.save (Python) or torch::pickle_save (C++) writes it: a zip archive of
// stored (uncompressed) records, <archive>/data.pkl, a protocol-2 pickle of
// torch._utils._rebuild_tensor_v2(storage, offset, sizes, strides, requires_grad, hooks), and
// <archive>/data/<key>, the storage's bytes.
//
// Read here rather than by LibTorch's torch::pickle_load, which trusts the file's claims (LibTorch
// 1.13, found by tests/fuzz/tensor_file_fuzzer): its zip reader allocates whatever size a record's
// header announces, its unpickler whatever length a string announces (a 1 KiB file made it fill
// 4 GiB), and it lays the tensor's sizes, strides and element count over however few bytes the
// record holds (a 1 KiB file made the worker read past the storage and crash). This reader knows
// only what torch.save writes for one tensor, and checks every claim against the bytes there are.
#ifndef AFFSIG_SERVER_DATASETS_TORCH_SAVED_TENSOR_H_
#define AFFSIG_SERVER_DATASETS_TORCH_SAVED_TENSOR_H_

#include <ATen/Tensor.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig::datasets {

// The tensor, on the CPU and contiguous, in its saved dtype (floating, integer or bool types);
// INVALID_ARGUMENT saying what is wrong otherwise.
absl::StatusOr<at::Tensor> ReadTorchSavedTensor(absl::string_view bytes);

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_TORCH_SAVED_TENSOR_H_
