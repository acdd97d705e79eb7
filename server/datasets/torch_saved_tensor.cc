#include "server/datasets/torch_saved_tensor.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace affsig::datasets {
namespace {

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

// The little-endian unsigned integer of `size` bytes at `bytes` (zip fields, pickle arguments).
uint64_t LoadLittleEndian(const char* bytes, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

// Whether `size` bytes from `offset` lie within `length` bytes, without overflowing.
bool Within(uint64_t offset, uint64_t size, uint64_t length) {
  return offset <= length && size <= length - offset;
}

// The zip archive: its records by name, each a view of the file's bytes.

using Records = absl::flat_hash_map<std::string, absl::string_view>;

struct CentralDirectory {
  uint64_t entries = 0;
  uint64_t size = 0;
  uint64_t offset = 0;
};

absl::StatusOr<CentralDirectory> FindCentralDirectory(absl::string_view zip) {
  constexpr uint32_t kEnd = 0x06054b50, kZip64Locator = 0x07064b50, kZip64End = 0x06064b50;
  constexpr size_t kEndSize = 22, kLocatorSize = 20, kZip64EndSize = 56;
  if (zip.size() < kEndSize) return Invalid("not a zip archive");
  // The end record closes the file, but for a comment of up to 65535 bytes.
  const size_t lowest = zip.size() - kEndSize - std::min<size_t>(zip.size() - kEndSize, 65535);
  for (size_t at = zip.size() - kEndSize;; --at) {
    const char* end = zip.data() + at;
    if (LoadLittleEndian(end, 4) == kEnd) {
      CentralDirectory directory{LoadLittleEndian(end + 10, 2), LoadLittleEndian(end + 12, 4),
                                 LoadLittleEndian(end + 16, 4)};
      // Fields at their maximum defer to the zip64 end record, which a locator just before
      // this record points to (torch.save writes one).
      if (directory.entries == 0xFFFF || directory.size == 0xFFFFFFFF ||
          directory.offset == 0xFFFFFFFF) {
        if (at < kLocatorSize || LoadLittleEndian(end - kLocatorSize, 4) != kZip64Locator) {
          return Invalid("the zip64 end record is missing");
        }
        const uint64_t end64 = LoadLittleEndian(end - kLocatorSize + 8, 8);
        if (!Within(end64, kZip64EndSize, zip.size()) ||
            LoadLittleEndian(zip.data() + end64, 4) != kZip64End) {
          return Invalid("the zip64 end record is broken");
        }
        const char* record = zip.data() + end64;
        directory = {LoadLittleEndian(record + 32, 8), LoadLittleEndian(record + 40, 8),
                     LoadLittleEndian(record + 48, 8)};
      }
      return directory;
    }
    if (at == lowest) return Invalid("not a zip archive");
  }
}

absl::StatusOr<Records> ReadRecords(absl::string_view zip) {
  constexpr uint32_t kCentralHeader = 0x02014b50, kLocalHeader = 0x04034b50;
  constexpr uint64_t kCentralHeaderSize = 46, kLocalHeaderSize = 30, kSaturated = 0xFFFFFFFF;
  ASSIGN_OR_RETURN(const CentralDirectory directory, FindCentralDirectory(zip));
  if (!Within(directory.offset, directory.size, zip.size())) {
    return Invalid("the zip's central directory lies outside the file");
  }
  const absl::string_view central = zip.substr(directory.offset, directory.size);
  Records records;
  uint64_t at = 0;
  for (uint64_t i = 0; i < directory.entries; ++i) {
    if (!Within(at, kCentralHeaderSize, central.size()) ||
        LoadLittleEndian(central.data() + at, 4) != kCentralHeader) {
      return Invalid("the zip's central directory is broken");
    }
    const char* entry = central.data() + at;
    const uint64_t flags = LoadLittleEndian(entry + 8, 2), method = LoadLittleEndian(entry + 10, 2);
    uint64_t compressed = LoadLittleEndian(entry + 20, 4), size = LoadLittleEndian(entry + 24, 4);
    const uint64_t name_size = LoadLittleEndian(entry + 28, 2);
    const uint64_t extra_size = LoadLittleEndian(entry + 30, 2);
    const uint64_t comment_size = LoadLittleEndian(entry + 32, 2);
    uint64_t local = LoadLittleEndian(entry + 42, 4);
    if (!Within(at + kCentralHeaderSize, name_size + extra_size + comment_size, central.size())) {
      return Invalid("the zip's central directory is broken");
    }
    const std::string name(entry + kCentralHeaderSize, name_size);
    // The zip64 extra field holds, in this order, the sizes and offset saturated above.
    absl::string_view extra(entry + kCentralHeaderSize + name_size, extra_size);
    while (extra.size() >= 4) {
      const uint64_t id = LoadLittleEndian(extra.data(), 2);
      const uint64_t block = LoadLittleEndian(extra.data() + 2, 2);
      if (block > extra.size() - 4) return Invalid(absl::StrCat("record '", name, "' is broken"));
      absl::string_view fields = extra.substr(4, block);
      for (uint64_t* field : {&size, &compressed, &local}) {
        if (id != 1 || *field != kSaturated) continue;
        if (fields.size() < 8) return Invalid(absl::StrCat("record '", name, "' is broken"));
        *field = LoadLittleEndian(fields.data(), 8);
        fields.remove_prefix(8);
      }
      extra.remove_prefix(4 + block);
    }
    if (method != 0 || (flags & 1) != 0 || compressed != size) {
      return Invalid(absl::StrCat("record '", name,
                                  "' is compressed or encrypted, and torch.save stores records"));
    }
    if (!Within(local, kLocalHeaderSize, zip.size()) ||
        LoadLittleEndian(zip.data() + local, 4) != kLocalHeader) {
      return Invalid(absl::StrCat("record '", name, "' has no local header"));
    }
    const uint64_t data = local + kLocalHeaderSize + LoadLittleEndian(zip.data() + local + 26, 2) +
                          LoadLittleEndian(zip.data() + local + 28, 2);
    if (!Within(data, size, zip.size())) {
      return Invalid(absl::StrCat("record '", name, "' runs past the end of the file"));
    }
    records[name] = zip.substr(data, size);
    at += kCentralHeaderSize + name_size + extra_size + comment_size;
  }
  return records;
}

// The pickle: the values torch.save's pickle of one tensor is made of, and the opcodes that make
// them (protocol 2, as Python's pickler and LibTorch's write it).

struct Storage {
  at::ScalarType dtype = at::kFloat;
  std::string key;  // its record: <archive>/data/<key>
  int64_t numel = 0;
};

struct TensorLayout {
  Storage storage;
  int64_t offset = 0;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

struct Value;
// Shared, so that a value the memo hands out again is not copied.
using ValuePtr = std::shared_ptr<const Value>;
struct None {};
struct EmptyDict {};  // a tensor's backward hooks and metadata, which torch.save writes empty
struct Global {
  std::string name;  // module.name
};
using Tuple = std::vector<ValuePtr>;

struct Value {
  std::variant<None, bool, int64_t, std::string, Tuple, Global, EmptyDict, Storage, TensorLayout>
      value;
};

constexpr std::array<absl::string_view, 9> kKindNames = {
    "None", "bool", "int", "str", "tuple", "global", "dict", "storage", "tensor"};

template <typename T>
ValuePtr Make(T value) {
  auto made = std::make_shared<Value>();
  made->value.emplace<T>(std::move(value));
  return made;
}

absl::StatusOr<std::vector<int64_t>> IntsOf(const Value& value, absl::string_view what) {
  std::vector<int64_t> ints;
  const Tuple* tuple = std::get_if<Tuple>(&value.value);
  if (tuple == nullptr) return Invalid(absl::StrCat("the tensor's ", what, " are not a tuple"));
  for (const ValuePtr& item : *tuple) {
    const int64_t* number = std::get_if<int64_t>(&item->value);
    if (number == nullptr) return Invalid(absl::StrCat("the tensor's ", what, " are not ints"));
    ints.push_back(*number);
  }
  return ints;
}

// ('storage', torch.<Type>Storage, key, location, numel): the storage, read to the CPU wherever
// it was saved from (the worker moves its batches to its device).
absl::StatusOr<Storage> StorageOf(const Value& id) {
  constexpr std::array<std::pair<absl::string_view, at::ScalarType>, 10> kStorageTypes = {{
      {"torch.FloatStorage", at::kFloat},
      {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},
      {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},
      {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},
      {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool},
  }};
  const Tuple* fields = std::get_if<Tuple>(&id.value);
  if (fields == nullptr || fields->size() != 5) return Invalid("a persistent id is not a storage");
  const auto* tag = std::get_if<std::string>(&(*fields)[0]->value);
  const auto* type = std::get_if<Global>(&(*fields)[1]->value);
  const auto* key = std::get_if<std::string>(&(*fields)[2]->value);
  const auto* numel = std::get_if<int64_t>(&(*fields)[4]->value);
  if (tag == nullptr || *tag != "storage" || type == nullptr || key == nullptr ||
      numel == nullptr || *numel < 0) {
    return Invalid("a persistent id is not a storage");
  }
  for (const auto& [name, dtype] : kStorageTypes) {
    if (type->name == name) return Storage{dtype, *key, *numel};
  }
  return Invalid(absl::StrCat("storage type ", type->name, " is not supported"));
}

absl::StatusOr<ValuePtr> Call(const Value& callable, const Value& arguments) {
  const Global* global = std::get_if<Global>(&callable.value);
  const Tuple* args = std::get_if<Tuple>(&arguments.value);
  if (global == nullptr || args == nullptr) return Invalid("REDUCE calls no global");
  if (global->name == "collections.OrderedDict" && args->empty()) return Make(EmptyDict{});
  if (global->name != "torch._utils._rebuild_tensor_v2") {
    return Invalid(absl::StrCat("the pickle calls ", global->name,
                                ", not what torch.save writes for a tensor"));
  }
  // (storage, storage_offset, sizes, strides, requires_grad, backward_hooks[, metadata]).
  if (args->size() != 6 && args->size() != 7) return Invalid("_rebuild_tensor_v2's arguments");
  TensorLayout tensor;
  const Storage* storage = std::get_if<Storage>(&(*args)[0]->value);
  const int64_t* offset = std::get_if<int64_t>(&(*args)[1]->value);
  if (storage == nullptr || offset == nullptr || !std::holds_alternative<bool>((*args)[4]->value)) {
    return Invalid("_rebuild_tensor_v2's arguments");
  }
  for (size_t i = 5; i < args->size(); ++i) {
    if (!std::holds_alternative<EmptyDict>((*args)[i]->value)) {
      return Invalid("a tensor with hooks or metadata is not supported");
    }
  }
  tensor.storage = *storage;
  tensor.offset = *offset;
  ASSIGN_OR_RETURN(tensor.sizes, IntsOf(*(*args)[2], "sizes"));
  ASSIGN_OR_RETURN(tensor.strides, IntsOf(*(*args)[3], "strides"));
  if (tensor.sizes.size() != tensor.strides.size()) {
    return Invalid("the tensor's sizes and strides differ in number");
  }
  return Make(std::move(tensor));
}

class PickleReader {
 public:
  explicit PickleReader(absl::string_view pickle) : pickle_(pickle) {}

  absl::StatusOr<TensorLayout> Read() {
    ASSIGN_OR_RETURN(const absl::string_view protocol, Take(2));
    if (protocol != absl::string_view("\x80\x02", 2)) {
      return Invalid("data.pkl is not a protocol-2 pickle, which torch.save writes");
    }
    while (true) {
      ASSIGN_OR_RETURN(const absl::string_view opcode, Take(1));
      switch (opcode[0]) {
        case '.': {  // STOP
          if (stack_.size() != 1 || !marks_.empty()) {
            return Invalid("the pickle does not end with one value");
          }
          const auto* tensor = std::get_if<TensorLayout>(&stack_[0]->value);
          if (tensor == nullptr) {
            return Invalid(absl::StrCat("it holds a ", kKindNames[stack_[0]->value.index()],
                                        ", not one tensor"));
          }
          return *tensor;
        }
        case '(':  // MARK
          marks_.push_back(stack_.size());
          break;
        case ')':  // EMPTY_TUPLE
          stack_.push_back(Make(Tuple{}));
          break;
        case 't': {  // TUPLE: the values since the last MARK
          if (marks_.empty()) return Invalid("TUPLE without a MARK");
          Tuple items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
          stack_.resize(marks_.back());
          marks_.pop_back();
          stack_.push_back(Make(std::move(items)));
          break;
        }
        case '\x85':  // TUPLE1, TUPLE2, TUPLE3
        case '\x86':
        case '\x87': {
          Tuple items(static_cast<size_t>(opcode[0] - '\x85' + 1));
          for (auto item = items.rbegin(); item != items.rend(); ++item) {
            ASSIGN_OR_RETURN(*item, Pop());
          }
          stack_.push_back(Make(std::move(items)));
          break;
        }
        case 'K':  // BININT1, BININT2, BININT
        case 'M':
        case 'J': {
          const int size = opcode[0] == 'K' ? 1 : opcode[0] == 'M' ? 2 : 4;
          ASSIGN_OR_RETURN(const uint64_t value, TakeInt(size));
          stack_.push_back(
              Make(size == 4 ? int64_t{static_cast<int32_t>(value)} : static_cast<int64_t>(value)));
          break;
        }
        case '\x8a': {  // LONG1: a length, then that many bytes of two's complement
          ASSIGN_OR_RETURN(const uint64_t size, TakeInt(1));
          if (size > 8) return Invalid("an integer wider than 64 bits");
          ASSIGN_OR_RETURN(const absl::string_view bytes, Take(size));
          uint64_t value = LoadLittleEndian(bytes.data(), static_cast<int>(size));
          if (size > 0 && size < 8 && (bytes.back() & 0x80) != 0)
            value |= ~uint64_t{0} << (8 * size);
          stack_.push_back(Make(static_cast<int64_t>(value)));
          break;
        }
        case 'X': {  // BINUNICODE: a 4-byte length, then the string
          ASSIGN_OR_RETURN(const uint64_t size, TakeInt(4));
          ASSIGN_OR_RETURN(const absl::string_view text, Take(size));
          stack_.push_back(Make(std::string(text)));
          break;
        }
        case '\x88':  // NEWTRUE, NEWFALSE
        case '\x89':
          stack_.push_back(Make(opcode[0] == '\x88'));
          break;
        case 'N':  // NONE
          stack_.push_back(Make(None{}));
          break;
        case '}':  // EMPTY_DICT
          stack_.push_back(Make(EmptyDict{}));
          break;
        case 'c': {  // GLOBAL: module and name, each ending in a newline
          ASSIGN_OR_RETURN(const absl::string_view module, Line());
          ASSIGN_OR_RETURN(const absl::string_view name, Line());
          stack_.push_back(Make(Global{absl::StrCat(module, ".", name)}));
          break;
        }
        case 'q':  // BINPUT, LONG_BINPUT
        case 'r': {
          ASSIGN_OR_RETURN(const uint64_t index, TakeInt(opcode[0] == 'q' ? 1 : 4));
          RETURN_IF_ERROR(Memoize(index));
          break;
        }
        case 'h':  // BINGET, LONG_BINGET
        case 'j': {
          ASSIGN_OR_RETURN(const uint64_t index, TakeInt(opcode[0] == 'h' ? 1 : 4));
          if (index >= memo_.size()) return Invalid("the pickle gets a value it never stored");
          stack_.push_back(memo_[index]);
          break;
        }
        case 'Q': {  // BINPERSID: a storage, by its persistent id
          ASSIGN_OR_RETURN(const ValuePtr id, Pop());
          ASSIGN_OR_RETURN(Storage storage, StorageOf(*id));
          stack_.push_back(Make(std::move(storage)));
          break;
        }
        case 'R': {  // REDUCE: callable(*arguments)
          ASSIGN_OR_RETURN(const ValuePtr arguments, Pop());
          ASSIGN_OR_RETURN(const ValuePtr callable, Pop());
          ASSIGN_OR_RETURN(ValuePtr result, Call(*callable, *arguments));
          stack_.push_back(std::move(result));
          break;
        }
        default:
          return Invalid(absl::StrCat("opcode 0x", absl::Hex(static_cast<unsigned char>(opcode[0])),
                                      " at byte ", at_ - 1,
                                      " is not one that torch.save writes for a tensor"));
      }
    }
  }

 private:
  absl::StatusOr<absl::string_view> Take(uint64_t size) {
    if (size > pickle_.size() - at_) return Invalid("the pickle ends early");
    const absl::string_view bytes = pickle_.substr(at_, size);
    at_ += size;
    return bytes;
  }

  absl::StatusOr<uint64_t> TakeInt(int size) {
    ASSIGN_OR_RETURN(const absl::string_view bytes, Take(size));
    return LoadLittleEndian(bytes.data(), size);
  }

  absl::StatusOr<absl::string_view> Line() {
    const size_t newline = pickle_.find('\n', at_);
    if (newline == absl::string_view::npos) return Invalid("the pickle ends early");
    const absl::string_view line = pickle_.substr(at_, newline - at_);
    at_ = newline + 1;
    return line;
  }

  // Values above the last MARK only: a MARK's values are taken by the TUPLE that closes it.
  absl::StatusOr<ValuePtr> Pop() {
    if (stack_.size() == (marks_.empty() ? 0 : marks_.back())) {
      return Invalid("the pickle takes a value that is not there");
    }
    ValuePtr top = std::move(stack_.back());
    stack_.pop_back();
    return top;
  }

  // The pickler numbers the values it stores in order: an index beyond the next one is no
  // pickle's (LibTorch grew its memo to whatever index the file named).
  absl::Status Memoize(uint64_t index) {
    if (stack_.empty()) return Invalid("the pickle stores a value that is not there");
    if (index > memo_.size()) return Invalid("the pickle stores a value out of order");
    if (index == memo_.size()) {
      memo_.push_back(stack_.back());
    } else {
      memo_[index] = stack_.back();
    }
    return absl::OkStatus();
  }

  absl::string_view pickle_;
  size_t at_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;  // stack sizes at each open MARK
  std::vector<ValuePtr> memo_;
};

// The tensor's elements lie within its storage and are each its own: a storage offset and
// strides that reach past the storage, or a tensor of more elements than its storage holds (an
// expanded view, zero strides over a few bytes), are refused.
absl::Status CheckWithinStorage(const TensorLayout& tensor) {
  const int64_t numel = tensor.storage.numel;
  if (tensor.offset < 0 || tensor.offset > numel) {
    return Invalid("the storage offset is out of range");
  }
  for (size_t d = 0; d < tensor.sizes.size(); ++d) {
    if (tensor.sizes[d] < 0 || tensor.strides[d] < 0) return Invalid("a negative size or stride");
  }
  if (std::count(tensor.sizes.begin(), tensor.sizes.end(), 0) > 0) return absl::OkStatus();
  int64_t elements = 1, last = tensor.offset;
  for (size_t d = 0; d < tensor.sizes.size(); ++d) {
    int64_t reach = 0;
    if (__builtin_mul_overflow(tensor.sizes[d], elements, &elements) ||
        __builtin_mul_overflow(tensor.sizes[d] - 1, tensor.strides[d], &reach) ||
        __builtin_add_overflow(last, reach, &last) || elements > numel) {
      return Invalid(absl::StrCat("the tensor has more elements than its storage's ", numel));
    }
  }
  if (last >= numel) {
    return Invalid(absl::StrCat("the tensor reaches past its storage of ", numel, " elements"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<at::Tensor> ReadTorchSavedTensor(absl::string_view bytes) {
  ASSIGN_OR_RETURN(const Records records, ReadRecords(bytes));
  // The archive's one folder: torch.save names it after the file, pickle_save "archive".
  std::string folder;
  absl::string_view pickle;
  for (const auto& [name, record] : records) {
    const size_t slash = name.find('/');
    if (slash == std::string::npos || name.substr(slash) != "/data.pkl") continue;
    if (!folder.empty()) return Invalid("the archive has more than one data.pkl");
    folder = name.substr(0, slash + 1);
    pickle = record;
  }
  if (folder.empty()) return Invalid("the archive has no data.pkl");
  if (const auto order = records.find(folder + "byteorder");
      order != records.end() && order->second != "little") {
    return Invalid("the tensor was saved big-endian");
  }
  ASSIGN_OR_RETURN(const TensorLayout tensor, PickleReader(pickle).Read());
  const Storage& storage = tensor.storage;
  const auto record = records.find(absl::StrCat(folder, "data/", storage.key));
  if (record == records.end()) {
    return Invalid(absl::StrCat("the storage's record data/", storage.key, " is missing"));
  }
  const size_t item_size = c10::elementSize(storage.dtype);
  if (record->second.size() % item_size != 0 ||
      record->second.size() / item_size != static_cast<uint64_t>(storage.numel)) {
    return Invalid(absl::StrCat("the storage announces ", storage.numel, " elements of ", item_size,
                                " bytes, its record holds ", record->second.size(), " bytes"));
  }
  RETURN_IF_ERROR(CheckWithinStorage(tensor));
  // A bool is a byte that is 0 or 1; read as bytes, any other byte becomes true.
  const bool bools = storage.dtype == at::kBool;
  at::Tensor elements = at::empty({storage.numel}, bools ? at::kByte : storage.dtype);
  if (storage.numel > 0) {
    std::memcpy(elements.data_ptr(), record->second.data(), record->second.size());
  }
  if (bools) elements = elements.ne(0);
  return elements.as_strided(tensor.sizes, tensor.strides, tensor.offset).contiguous();
}

}  // namespace affsig::datasets
