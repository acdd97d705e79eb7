// The data-spec parser (common/data_spec.h), as SubmitJob and the stored jobs use it: the input's
// first line is a data source (KIND:LOCATION), the rest its options (key=value,...). Each parses
// or is refused with a message; what parses passes CheckDataOptions before and after
// ApplyDataDefaults, and is formatted to text that parses to the same spec.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/data_spec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace affsig;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const absl::string_view source = input.substr(0, newline);
  const absl::string_view options =
      newline == absl::string_view::npos ? absl::string_view() : input.substr(newline + 1);

  auto spec = ParseDataSource(source);
  if (!spec.ok()) return 0;
  const std::string formatted = FormatDataSource(*spec);
  auto reparsed = ParseDataSource(formatted);
  fuzz::Require(reparsed.ok() && FormatDataSource(*reparsed) == formatted,
                "a formatted data source parses to itself");

  if (!ParseDataOptions(options, *spec).ok()) return 0;
  fuzz::Require(CheckDataOptions(*spec).ok(), "parsed options pass CheckDataOptions");
  const std::string formatted_options = FormatDataOptions(*spec);
  DataSpec fresh = *reparsed;
  fuzz::Require(ParseDataOptions(formatted_options, fresh).ok() &&
                    FormatDataOptions(fresh) == formatted_options,
                "formatted options parse to themselves");
  ApplyDataDefaults(*spec);
  fuzz::Require(CheckDataOptions(*spec).ok(), "the defaults keep the options valid");
  return 0;
}
