#include "common/signature_format.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/table_format.h"

namespace affsig {
namespace {

std::string ScoreText(const SignatureEntry& entry) {
  return entry.status == EntryStatus::kOk ? absl::StrFormat("%.6f", entry.score) : "-";
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
  TextTable table;
  table.header = {"index", "module", "call", "op", "n", "d", "score", "status"};
  table.right_aligned = {true, false, true, false, true, true, true, false};
  for (const SignatureEntry& e : signature) {
    std::string status(EntryStatusName(e.status));
    if (!e.reason.empty()) absl::StrAppend(&status, ": ", e.reason);
    table.rows.push_back({absl::StrCat(e.index), e.module.empty() ? "(model)" : e.module,
                          absl::StrCat(e.call), e.op, absl::StrCat(e.n), absl::StrCat(e.d),
                          ScoreText(e), status});
  }
  return RenderAligned(table);
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
  TextTable table;
  table.header = {"index", "module", "call", "op", "n", "d", "score", "status", "reason"};
  for (const SignatureEntry& e : signature) {
    table.rows.push_back({absl::StrCat(e.index), e.module, absl::StrCat(e.call), e.op,
                          absl::StrCat(e.n), absl::StrCat(e.d),
                          e.status == EntryStatus::kOk ? absl::StrFormat("%.17g", e.score) : "",
                          std::string(EntryStatusName(e.status)), e.reason});
  }
  return RenderCsv(table);
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
