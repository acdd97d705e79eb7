// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0), little-endian, C order.
#ifndef AFFSIG_COMMON_NPY_H_
#define AFFSIG_COMMON_NPY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig {

enum class NpyDtype { kFloat16, kFloat32, kFloat64, kUint8, kInt8, kInt16, kInt32, kInt64, kBool };

// Bytes per element.
int NpyItemSize(NpyDtype dtype);
// NumPy's name: "float32", "uint8", ...
absl::string_view NpyDtypeName(NpyDtype dtype);

struct NpyArray {
  NpyDtype dtype = NpyDtype::kFloat32;
  std::vector<int64_t> shape;
  std::string data;  // element bytes, C order, little-endian.

  int64_t num_elements() const;
  // Every element converted to float64.
  std::vector<double> ToDoubles() const;
};

// What the header of a .npy file says; the data follows at data_offset.
struct NpyHeader {
  NpyDtype dtype = NpyDtype::kFloat32;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;
  int64_t data_bytes = 0;  // product(shape) x item size
};

// Parses the header from the first bytes of a .npy file (at least the header's length); for
// reading large files piecewise.
absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view bytes);
// OK when a file of `file_size` bytes holds exactly the data the header announces.
absl::Status CheckNpyDataSize(const NpyHeader& header, int64_t file_size);

// Parses the contents of a .npy file. Errors name what is wrong (bad magic, truncated data, ...).
absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes);
absl::StatusOr<NpyArray> ReadNpyFile(const std::string& path);

// Serialises an array as a version 1.0 .npy file (2.0 when the header needs it).
std::string SerializeNpy(const NpyArray& array);
absl::Status WriteNpyFile(const std::string& path, const NpyArray& array);

// Builds an array from typed values; `values` must hold product(shape) elements.
NpyArray MakeNpyArray(const std::vector<int64_t>& shape, const std::vector<float>& values);
NpyArray MakeNpyArray(const std::vector<int64_t>& shape, const std::vector<double>& values);

}  // namespace affsig

#endif  // AFFSIG_COMMON_NPY_H_
