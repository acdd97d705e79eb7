// Two-way lookups between an enum and its names, from one table per enum, so that a value's name
// and the parsing of that name can never disagree.
#ifndef AFFSIG_COMMON_ENUM_NAMES_H_
#define AFFSIG_COMMON_ENUM_NAMES_H_

#include <array>
#include <cstddef>
#include <optional>
#include <utility>

#include "absl/strings/string_view.h"

namespace affsig {

template <typename Enum, size_t kCount>
using EnumNames = std::array<std::pair<Enum, absl::string_view>, kCount>;

// The name of `value`, or `unknown` when the table lacks it.
template <typename Enum, size_t kCount>
constexpr absl::string_view NameOf(const EnumNames<Enum, kCount>& names, Enum value,
                                   absl::string_view unknown) {
  for (const auto& [known, name] : names) {
    if (known == value) return name;
  }
  return unknown;
}

// The value named `name`, if the table has it.
template <typename Enum, size_t kCount>
constexpr std::optional<Enum> ValueNamed(const EnumNames<Enum, kCount>& names,
                                         absl::string_view name) {
  for (const auto& [value, known] : names) {
    if (known == name) return value;
  }
  return std::nullopt;
}

}  // namespace affsig

#endif  // AFFSIG_COMMON_ENUM_NAMES_H_
