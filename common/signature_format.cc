#include "common/signature_format.h"

#include <algorithm>
#include <array>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace affsig {
namespace {

std::string ScoreText(const SignatureEntry& entry) {
  return entry.status == EntryStatus::kOk ? absl::StrFormat("%.6f", entry.score) : "-";
}

std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\n\r") == absl::string_view::npos) return std::string(field);
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "json") return OutputFormat::kJson;
  if (name == "csv") return OutputFormat::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format '", name, "': use table, json or csv"));
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string FormatSignatureTable(const Signature& signature) {
  std::vector<std::array<std::string, 8>> rows;
  rows.push_back({"index", "module", "call", "op", "n", "d", "score", "status"});
  for (const SignatureEntry& e : signature) {
    std::string status(EntryStatusName(e.status));
    if (!e.reason.empty()) absl::StrAppend(&status, ": ", e.reason);
    rows.push_back({absl::StrCat(e.index), e.module.empty() ? "(model)" : e.module,
                    absl::StrCat(e.call), e.op, absl::StrCat(e.n), absl::StrCat(e.d), ScoreText(e),
                    status});
  }
  std::array<size_t, 8> widths{};
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      // Numbers right-aligned, text left-aligned; the last column is not padded.
      const bool numeric = c == 0 || c == 2 || c == 4 || c == 5 || c == 6;
      const std::string pad(widths[c] - row[c].size(), ' ');
      if (c == row.size() - 1) {
        line += row[c];
      } else {
        line += numeric ? pad + row[c] : row[c] + pad;
        line += "  ";
      }
    }
    out += line + "\n";
  }
  return out;
}

std::string FormatSignatureJson(const Signature& signature) {
  std::vector<std::string> objects;
  for (const SignatureEntry& e : signature) {
    objects.push_back(absl::StrCat(
        "{\"index\": ", e.index, ", \"module\": ", JsonQuote(e.module), ", \"call\": ", e.call,
        ", \"op\": ", JsonQuote(e.op), ", \"n\": ", e.n, ", \"d\": ", e.d,
        ", \"score\": ", e.status == EntryStatus::kOk ? absl::StrFormat("%.17g", e.score) : "null",
        ", \"status\": ", JsonQuote(EntryStatusName(e.status)),
        ", \"reason\": ", JsonQuote(e.reason), "}"));
  }
  if (objects.empty()) return "[]";
  return absl::StrCat("[\n  ", absl::StrJoin(objects, ",\n  "), "\n]");
}

std::string FormatSignatureCsv(const Signature& signature) {
  std::string out = "index,module,call,op,n,d,score,status,reason\n";
  for (const SignatureEntry& e : signature) {
    absl::StrAppend(&out, e.index, ",", CsvField(e.module), ",", e.call, ",", CsvField(e.op), ",",
                    e.n, ",", e.d, ",",
                    e.status == EntryStatus::kOk ? absl::StrFormat("%.17g", e.score) : "", ",",
                    EntryStatusName(e.status), ",", CsvField(e.reason), "\n");
  }
  return out;
}

std::string FormatSignature(const Signature& signature, OutputFormat format) {
  switch (format) {
    case OutputFormat::kJson:
      return FormatSignatureJson(signature) + "\n";
    case OutputFormat::kCsv:
      return FormatSignatureCsv(signature);
    case OutputFormat::kTable:
      break;
  }
  return FormatSignatureTable(signature);
}

}  // namespace affsig
