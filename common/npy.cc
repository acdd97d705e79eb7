#include "common/npy.h"

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace affsig {
namespace {

constexpr absl::string_view kMagic = "\x93NUMPY";

struct DtypeInfo {
  NpyDtype dtype;
  absl::string_view descr;  // little-endian or byte-order-free descr
  absl::string_view name;
  int item_size;
};

constexpr std::array<DtypeInfo, 9> kDtypes = {{
    {NpyDtype::kFloat16, "<f2", "float16", 2},
    {NpyDtype::kFloat32, "<f4", "float32", 4},
    {NpyDtype::kFloat64, "<f8", "float64", 8},
    {NpyDtype::kUint8, "|u1", "uint8", 1},
    {NpyDtype::kInt8, "|i1", "int8", 1},
    {NpyDtype::kInt16, "<i2", "int16", 2},
    {NpyDtype::kInt32, "<i4", "int32", 4},
    {NpyDtype::kInt64, "<i8", "int64", 8},
    {NpyDtype::kBool, "|b1", "bool", 1},
}};

const DtypeInfo& InfoOf(NpyDtype dtype) {
  for (const auto& info : kDtypes) {
    if (info.dtype == dtype) return info;
  }
  return kDtypes[1];
}

absl::StatusOr<NpyDtype> DtypeFromDescr(absl::string_view descr) {
  for (const auto& info : kDtypes) {
    // NumPy writes '|u1' but accepts '<u1'; compare the type code and size.
    if (descr == info.descr || (descr.size() == 3 && descr.substr(1) == info.descr.substr(1) &&
                                (descr[0] == '<' || descr[0] == '|' || descr[0] == '='))) {
      return info.dtype;
    }
  }
  if (!descr.empty() && descr[0] == '>') {
    return absl::InvalidArgumentError(
        absl::StrCat("npy: big-endian dtype '", descr, "' is not supported; save little-endian"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "npy: unsupported dtype '", descr,
      "' (supported: float16, float32, float64, uint8, int8, int16, int32, int64, bool)"));
}

// Returns the text after `'key':` in a header dict, up to the end of its value.
absl::StatusOr<absl::string_view> HeaderValue(absl::string_view header, absl::string_view key) {
  const std::string quoted_single = absl::StrCat("'", key, "'");
  const std::string quoted_double = absl::StrCat("\"", key, "\"");
  size_t at = header.find(quoted_single);
  size_t key_size = quoted_single.size();
  if (at == absl::string_view::npos) {
    at = header.find(quoted_double);
    key_size = quoted_double.size();
  }
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("npy: header lacks '", key, "'"));
  }
  absl::string_view rest = header.substr(at + key_size);
  rest = absl::StripLeadingAsciiWhitespace(rest);
  if (!absl::ConsumePrefix(&rest, ":")) {
    return absl::InvalidArgumentError(absl::StrCat("npy: malformed header near '", key, "'"));
  }
  return absl::StripLeadingAsciiWhitespace(rest);
}

absl::StatusOr<std::vector<int64_t>> ParseShape(absl::string_view value) {
  if (!absl::ConsumePrefix(&value, "(")) {
    return absl::InvalidArgumentError("npy: shape is not a tuple");
  }
  const size_t close = value.find(')');
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError("npy: shape tuple is not closed");
  }
  std::vector<int64_t> shape;
  for (absl::string_view part : absl::StrSplit(value.substr(0, close), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    absl::ConsumeSuffix(&part, "L");
    int64_t dim = 0;
    if (!absl::SimpleAtoi(part, &dim) || dim < 0) {
      return absl::InvalidArgumentError(absl::StrCat("npy: bad shape dimension '", part, "'"));
    }
    shape.push_back(dim);
  }
  return shape;
}

absl::StatusOr<NpyArray> ParseHeader(absl::string_view header) {
  NpyArray array;
  ASSIGN_OR_RETURN(absl::string_view descr, HeaderValue(header, "descr"));
  if (descr.empty() || (descr[0] != '\'' && descr[0] != '"')) {
    return absl::InvalidArgumentError("npy: structured dtypes are not supported");
  }
  const size_t end = descr.find(descr[0], 1);
  if (end == absl::string_view::npos) return absl::InvalidArgumentError("npy: malformed descr");
  ASSIGN_OR_RETURN(array.dtype, DtypeFromDescr(descr.substr(1, end - 1)));

  ASSIGN_OR_RETURN(auto fortran, HeaderValue(header, "fortran_order"));
  if (absl::StartsWith(fortran, "True")) {
    return absl::InvalidArgumentError(
        "npy: Fortran-order arrays are not supported; save with np.ascontiguousarray");
  }
  if (!absl::StartsWith(fortran, "False")) {
    return absl::InvalidArgumentError("npy: malformed fortran_order");
  }

  ASSIGN_OR_RETURN(auto shape_value, HeaderValue(header, "shape"));
  ASSIGN_OR_RETURN(array.shape, ParseShape(shape_value));
  return array;
}

// product(shape) x item size. The shape is the file's claim, and reads and allocations are sized
// from it and from its sub-shapes: as NumPy does, the sizes other than 0 must multiply without
// overflow even when a 0 makes the array empty (a product that wrapped to a small number let a
// tiny file announce terabytes per sample).
absl::StatusOr<int64_t> DataBytes(const std::vector<int64_t>& shape, int item_size) {
  int64_t bytes = item_size;
  bool empty = false;
  for (int64_t dim : shape) {
    if (dim == 0) {
      empty = true;
    } else if (dim > std::numeric_limits<int64_t>::max() / bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("npy: shape (", absl::StrJoin(shape, ", "), ") is too large"));
    } else {
      bytes *= dim;
    }
  }
  return empty ? 0 : bytes;
}

template <typename T>
T LoadLittleEndian(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));  // x86-64 and aarch64 are little-endian.
  return value;
}

double HalfToDouble(uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double value;
  if (exponent == 0) {
    value = std::ldexp(mantissa, -24);
  } else if (exponent == 31) {
    value = mantissa ? std::numeric_limits<double>::quiet_NaN()
                     : std::numeric_limits<double>::infinity();
  } else {
    value = std::ldexp(mantissa + 1024, exponent - 25);
  }
  return sign ? -value : value;
}

}  // namespace

int NpyItemSize(NpyDtype dtype) { return InfoOf(dtype).item_size; }

absl::string_view NpyDtypeName(NpyDtype dtype) { return InfoOf(dtype).name; }

int64_t NpyArray::num_elements() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::vector<double> NpyArray::ToDoubles() const {
  const int64_t count = num_elements();
  const int size = NpyItemSize(dtype);
  std::vector<double> values(count);
  for (int64_t i = 0; i < count; ++i) {
    const char* p = data.data() + i * size;
    switch (dtype) {
      case NpyDtype::kFloat16:
        values[i] = HalfToDouble(LoadLittleEndian<uint16_t>(p));
        break;
      case NpyDtype::kFloat32:
        values[i] = LoadLittleEndian<float>(p);
        break;
      case NpyDtype::kFloat64:
        values[i] = LoadLittleEndian<double>(p);
        break;
      case NpyDtype::kUint8:
        values[i] = LoadLittleEndian<uint8_t>(p);
        break;
      case NpyDtype::kInt8:
        values[i] = LoadLittleEndian<int8_t>(p);
        break;
      case NpyDtype::kInt16:
        values[i] = LoadLittleEndian<int16_t>(p);
        break;
      case NpyDtype::kInt32:
        values[i] = LoadLittleEndian<int32_t>(p);
        break;
      case NpyDtype::kInt64:
        values[i] = static_cast<double>(LoadLittleEndian<int64_t>(p));
        break;
      case NpyDtype::kBool:
        values[i] = *p ? 1.0 : 0.0;
        break;
    }
  }
  return values;
}

absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("npy: the file is empty");
  if (!absl::StartsWith(bytes, kMagic) || bytes.size() < kMagic.size() + 4) {
    return absl::InvalidArgumentError("npy: not a .npy file (bad magic bytes)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return absl::InvalidArgumentError("npy: truncated header");
    header_len = LoadLittleEndian<uint32_t>(bytes.data() + 8);
    header_start = 12;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("npy: unsupported format version ", major));
  }
  if (bytes.size() < header_start + header_len) {
    return absl::InvalidArgumentError("npy: truncated header");
  }
  ASSIGN_OR_RETURN(auto array, ParseHeader(bytes.substr(header_start, header_len)));
  NpyHeader header;
  header.dtype = array.dtype;
  header.shape = std::move(array.shape);
  header.data_offset = static_cast<int64_t>(header_start + header_len);
  ASSIGN_OR_RETURN(header.data_bytes, DataBytes(header.shape, NpyItemSize(header.dtype)));
  return header;
}

absl::Status CheckNpyDataSize(const NpyHeader& header, int64_t file_size) {
  const int64_t actual = file_size - header.data_offset;
  if (actual == header.data_bytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "npy: ", actual < header.data_bytes ? "truncated data" : "trailing bytes after the data",
      ": shape (", absl::StrJoin(header.shape, ", "), ") of ", NpyDtypeName(header.dtype),
      " needs ", header.data_bytes, " bytes, the file has ", actual));
}

absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes) {
  ASSIGN_OR_RETURN(auto header, ParseNpyHeader(bytes));
  RETURN_IF_ERROR(CheckNpyDataSize(header, static_cast<int64_t>(bytes.size())));
  NpyArray array;
  array.dtype = header.dtype;
  array.shape = std::move(header.shape);
  array.data = std::string(bytes.substr(header.data_offset));
  return array;
}

absl::StatusOr<NpyArray> ReadNpyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::ostringstream contents;
  contents << in.rdbuf();
  auto array = ParseNpy(contents.str());
  if (!array.ok()) {
    return absl::Status(array.status().code(), absl::StrCat(path, ": ", array.status().message()));
  }
  return array;
}

std::string SerializeNpy(const NpyArray& array) {
  std::string shape = absl::StrJoin(array.shape, ", ");
  if (array.shape.size() == 1) shape += ",";
  std::string header = absl::StrCat("{'descr': '", InfoOf(array.dtype).descr,
                                    "', 'fortran_order': False, 'shape': (", shape, "), }");
  // Pad with spaces so that the data starts on a 64-byte boundary, ending in a newline.
  const bool v2 = header.size() + 11 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  const size_t total = ((prefix + header.size() + 1 + 63) / 64) * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');

  std::string out(kMagic);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  const uint32_t len = static_cast<uint32_t>(header.size());
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>((len >> 8) & 0xff));
  if (v2) {
    out.push_back(static_cast<char>((len >> 16) & 0xff));
    out.push_back(static_cast<char>((len >> 24) & 0xff));
  }
  out += header;
  out += array.data;
  return out;
}

absl::Status WriteNpyFile(const std::string& path, const NpyArray& array) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write '", path, "'"));
  const std::string bytes = SerializeNpy(array);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return absl::DataLossError(absl::StrCat("short write to '", path, "'"));
  return absl::OkStatus();
}

namespace {

template <typename T>
NpyArray MakeTyped(NpyDtype dtype, const std::vector<int64_t>& shape,
                   const std::vector<T>& values) {
  NpyArray array;
  array.dtype = dtype;
  array.shape = shape;
  array.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return array;
}

}  // namespace

NpyArray MakeNpyArray(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  return MakeTyped(NpyDtype::kFloat32, shape, values);
}

NpyArray MakeNpyArray(const std::vector<int64_t>& shape, const std::vector<double>& values) {
  return MakeTyped(NpyDtype::kFloat64, shape, values);
}

}  // namespace affsig
