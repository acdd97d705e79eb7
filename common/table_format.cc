#include "common/table_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace affsig {

std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\n\r") == absl::string_view::npos) return std::string(field);
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string RenderAligned(const TextTable& table) {
  std::vector<size_t> widths(table.header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  };
  measure(table.header);
  for (const auto& row : table.rows) measure(row);
  std::string out;
  auto render = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      if (c + 1 == widths.size()) {
        line += row[c];
        break;
      }
      const std::string pad(widths[c] - row[c].size(), ' ');
      const bool right = c < table.right_aligned.size() && table.right_aligned[c];
      absl::StrAppend(&line, right ? pad : "", row[c], right ? "" : pad, "  ");
    }
    out += line + "\n";
  };
  render(table.header);
  for (const auto& row : table.rows) render(row);
  return out;
}

std::string RenderCsv(const TextTable& table) {
  std::string out;
  auto render = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) absl::StrAppend(&out, c ? "," : "", CsvField(row[c]));
    out += "\n";
  };
  render(table.header);
  for (const auto& row : table.rows) render(row);
  return out;
}

}  // namespace affsig
