// Rows of text for people (aligned columns) and for tools (RFC 4180 CSV).
#ifndef AFFSIG_COMMON_TABLE_FORMAT_H_
#define AFFSIG_COMMON_TABLE_FORMAT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace affsig {

struct TextTable {
  std::vector<std::string> header;
  std::vector<bool> right_aligned;  // per column (numbers); missing columns are left-aligned
  std::vector<std::vector<std::string>> rows;
};

// Columns two spaces apart, padded to their widest cell; the last column is not padded.
std::string RenderAligned(const TextTable& table);
// The header line, then one line per row; fields quoted where RFC 4180 requires.
std::string RenderCsv(const TextTable& table);

std::string CsvField(absl::string_view field);

}  // namespace affsig

#endif  // AFFSIG_COMMON_TABLE_FORMAT_H_
