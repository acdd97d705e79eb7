// The .npy reader (common/npy.h) on any bytes: an array or an error, never a crash. An array it
// returns holds exactly the data its shape and dtype need (ToDoubles reads every element), and
// SerializeNpy writes it back to a file that parses to the same array.
#include <cstddef>
#include <cstdint>

#include "common/npy.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace affsig;
  auto array = ParseNpy(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!array.ok()) return 0;
  fuzz::Require(
      static_cast<int64_t>(array->data.size()) == array->num_elements() * NpyItemSize(array->dtype),
      "the data is what the shape and dtype need");
  fuzz::Require(static_cast<int64_t>(array->ToDoubles().size()) == array->num_elements(),
                "ToDoubles converts every element");
  auto again = ParseNpy(SerializeNpy(*array));
  fuzz::Require(again.ok() && again->dtype == array->dtype && again->shape == array->shape &&
                    again->data == array->data,
                "SerializeNpy writes what ParseNpy reads back");
  return 0;
}
