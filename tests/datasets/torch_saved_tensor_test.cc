// The reader of torch.save'd tensors: what LibTorch's pickle_save writes reads back equal, dtype,
// view and all; a file whose claims the bytes do not back (LibTorch's loader trusted them: the
// cases tests/fuzz found) is refused with the reason. The files are written here, a zip of stored
// records around a pickle written opcode by opcode.
#include "server/datasets/torch_saved_tensor.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/serialize.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace affsig::datasets {
namespace {

using ::testing::HasSubstr;

std::string LittleEndian(uint64_t value, int size) {
  std::string bytes;
  for (int i = 0; i < size; ++i) bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return bytes;
}

struct Record {
  std::string name;
  std::string data;
  uint16_t method = 0;        // 0: stored
  uint32_t claimed_size = 0;  // 0: the data's
};

// A zip archive of the records, as torch.save writes one (less its alignment padding).
std::string Zip(const std::vector<Record>& records) {
  std::string zip, central;
  for (const Record& record : records) {
    const uint64_t size = record.claimed_size != 0 ? record.claimed_size : record.data.size();
    const std::string sizes = absl::StrCat(LittleEndian(0, 4), LittleEndian(size, 4),
                                           LittleEndian(size, 4));  // crc, compressed, size
    absl::StrAppend(&central, "PK\x01\x02", LittleEndian(20, 2), LittleEndian(20, 2),
                    LittleEndian(0, 2), LittleEndian(record.method, 2), LittleEndian(0, 4), sizes,
                    LittleEndian(record.name.size(), 2), LittleEndian(0, 6), LittleEndian(0, 2),
                    LittleEndian(0, 4), LittleEndian(zip.size(), 4), record.name);
    absl::StrAppend(&zip, "PK\x03\x04", LittleEndian(20, 2), LittleEndian(0, 2),
                    LittleEndian(record.method, 2), LittleEndian(0, 4), sizes,
                    LittleEndian(record.name.size(), 2), LittleEndian(0, 2), record.name,
                    record.data);
  }
  const uint64_t offset = zip.size();
  absl::StrAppend(&zip, central, "PK\x05\x06", LittleEndian(0, 4), LittleEndian(records.size(), 2),
                  LittleEndian(records.size(), 2), LittleEndian(central.size(), 4),
                  LittleEndian(offset, 4), LittleEndian(0, 2));
  return zip;
}

// Pickle opcodes, as Python's pickler writes them (protocol 2).
std::string Str(const std::string& text) {
  return absl::StrCat("X", LittleEndian(text.size(), 4), text);
}
// BININT when it fits 32 bits, else LONG1 of 8 bytes.
std::string Int(int64_t value) {
  if (value >= INT32_MIN && value <= INT32_MAX) return absl::StrCat("J", LittleEndian(value, 4));
  return absl::StrCat("\x8a\x08", LittleEndian(value, 8));
}
std::string Ints(const std::vector<int64_t>& values) {
  std::string tuple = "(";
  for (int64_t value : values) tuple += Int(value);
  return tuple + "t";
}

struct Layout {
  std::string storage_type = "FloatStorage";
  int64_t numel = 4;
  int64_t offset = 0;
  std::vector<int64_t> sizes = {4};
  std::vector<int64_t> strides = {1};
};

// torch._utils._rebuild_tensor_v2(storage, offset, sizes, strides, False, OrderedDict()).
std::string TensorPickle(const Layout& layout) {
  return absl::StrCat("\x80\x02", "ctorch._utils\n_rebuild_tensor_v2\n", std::string("q\0", 2),
                      "((", Str("storage"), "ctorch\n", layout.storage_type, "\n", Str("0"),
                      Str("cpu"), Int(layout.numel), "tQ", Int(layout.offset), Ints(layout.sizes),
                      Ints(layout.strides), "\x89", "ccollections\nOrderedDict\n)Rt", "R.");
}

std::string SavedFile(const std::string& pickle, const std::string& storage) {
  return Zip({{"archive/data.pkl", pickle}, {"archive/data/0", storage}});
}

const std::string kFourFloats =
    std::string(reinterpret_cast<const char*>(std::vector<float>{1, 2, 3, 4}.data()), 16);

std::string Refusal(const std::string& file) {
  auto tensor = ReadTorchSavedTensor(file);
  EXPECT_FALSE(tensor.ok());
  return std::string(tensor.status().message());
}

TEST(TorchSavedTensorTest, ReadsWhatPickleSaveWritesInEveryDtypeAndLayout) {
  const at::Tensor base = at::arange(24, at::kDouble).view({4, 6});
  for (const at::Tensor& saved :
       {base, base.to(at::kFloat), base.to(at::kHalf), base.to(at::kBFloat16), base.to(at::kLong),
        base.to(at::kInt), base.to(at::kShort), base.to(at::kChar), base.to(at::kByte), base.gt(11),
        base.t(), base.slice(1, 1, 5, 2), base[2], base.select(1, 3).slice(0, 1), at::zeros({0, 3}),
        at::tensor(7.5)}) {
    const std::vector<char> file = torch::pickle_save(saved);
    auto read = ReadTorchSavedTensor(absl::string_view(file.data(), file.size()));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->scalar_type(), saved.scalar_type());
    EXPECT_TRUE(read->is_contiguous());
    EXPECT_TRUE(read->equal(saved)) << saved;
  }
}

TEST(TorchSavedTensorTest, ReadsThePickleAsPythonWritesIt) {
  Layout view;
  view.offset = 1;
  view.sizes = {2};
  view.strides = {2};
  auto read = ReadTorchSavedTensor(SavedFile(TensorPickle(view), kFourFloats));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->equal(at::tensor({2.0f, 4.0f})));
}

TEST(TorchSavedTensorTest, RefusesClaimsTheBytesDoNotBack) {
  // LibTorch laid 1 000 000 elements over the 16 bytes and read past them.
  Layout many;
  many.numel = 1'000'000;
  EXPECT_THAT(Refusal(SavedFile(TensorPickle(many), kFourFloats)),
              HasSubstr("announces 1000000 elements of 4 bytes, its record holds 16 bytes"));
  // Sizes, strides and offsets beyond the storage (LibTorch kept them: the worker crashed).
  Layout large;
  large.sizes = {50'000'000};
  EXPECT_THAT(Refusal(SavedFile(TensorPickle(large), kFourFloats)),
              HasSubstr("more elements than its storage"));
  Layout past;
  past.offset = 3;
  past.sizes = {2};
  EXPECT_THAT(Refusal(SavedFile(TensorPickle(past), kFourFloats)), HasSubstr("reaches past"));
  Layout wrapping;
  wrapping.sizes = {2, 2};
  wrapping.strides = {1, INT64_MAX};
  EXPECT_THAT(Refusal(SavedFile(TensorPickle(wrapping), kFourFloats)),
              HasSubstr("more elements than its storage"));
  Layout expanded;  // zero strides: a billion elements from 4 bytes
  expanded.numel = 1;
  expanded.sizes = {1'000'000'000};
  expanded.strides = {0};
  EXPECT_THAT(Refusal(SavedFile(TensorPickle(expanded), kFourFloats.substr(0, 4))),
              HasSubstr("more elements than its storage"));
  Layout negative;
  negative.strides = {-1};
  EXPECT_THAT(Refusal(SavedFile(TensorPickle(negative), kFourFloats)), HasSubstr("negative"));

  // A string announcing 4 GiB (LibTorch allocated and zeroed it), a memo index of 2^32 - 1
  // (LibTorch grew its memo to it).
  EXPECT_THAT(Refusal(SavedFile(absl::StrCat("\x80\x02X", LittleEndian(0xF3F3F3F3, 4), "abc."),
                                kFourFloats)),
              HasSubstr("ends early"));
  EXPECT_THAT(Refusal(SavedFile(absl::StrCat("\x80\x02N", "r", LittleEndian(0xFFFFFFFF, 4), "."),
                                kFourFloats)),
              HasSubstr("out of order"));
  // Zip records that announce more than the file has: compressed (LibTorch's zip reader
  // allocated the 3.75 GiB announced), or stored beyond the end.
  EXPECT_THAT(Refusal(Zip({{"archive/data.pkl", "x", 8, 0xF0000000}})),
              HasSubstr("compressed or encrypted"));
  EXPECT_THAT(Refusal(Zip({{"archive/data.pkl", "x", 0, 0xF0000000}})),
              HasSubstr("runs past the end of the file"));
}

TEST(TorchSavedTensorTest, RefusesWhatIsNotOneSavedTensor) {
  EXPECT_THAT(Refusal("PK not really"), HasSubstr("not a zip archive"));
  EXPECT_THAT(Refusal(Zip({{"archive/version", "3"}})), HasSubstr("no data.pkl"));
  EXPECT_THAT(Refusal(SavedFile("\x80\x02}.", "")), HasSubstr("holds a dict, not one tensor"));
  EXPECT_THAT(Refusal(SavedFile("\x80\x03N.", "")), HasSubstr("not a protocol-2 pickle"));
  // Pickles that run code or take values that are not there.
  EXPECT_THAT(
      Refusal(SavedFile(absl::StrCat("\x80\x02", "cos\nsystem\n(", Str("true"), "tR."), "")),
      HasSubstr("calls os.system"));
  EXPECT_THAT(Refusal(SavedFile("\x80\x02(i__main__\nX\n.", "")),
              HasSubstr("opcode 0x69 at byte 3 is not one that torch.save writes"));
  EXPECT_THAT(Refusal(SavedFile("\x80\x02\x85.", "")),
              HasSubstr("takes a value that is not there"));
  EXPECT_THAT(Refusal(SavedFile("\x80\x02N(R.", "")), HasSubstr("takes a value that is not there"));
  EXPECT_THAT(Refusal(SavedFile("\x80\x02h\x05.", "")), HasSubstr("gets a value it never stored"));
  Layout complex;
  complex.storage_type = "ComplexFloatStorage";
  EXPECT_THAT(Refusal(SavedFile(TensorPickle(complex), kFourFloats)),
              HasSubstr("torch.ComplexFloatStorage is not supported"));
  Layout missing = {};
  EXPECT_THAT(Refusal(Zip({{"archive/data.pkl", TensorPickle(missing)}})),
              HasSubstr("data/0 is missing"));
}

}  // namespace
}  // namespace affsig::datasets
