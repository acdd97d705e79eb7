#include "common/signature_format.h"

#include <algorithm>
#include <cmath>
#include <utility>
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

// The measures some entry has, in Measure order: the columns a job with measures adds.
std::vector<Measure> MeasuresIn(const Signature& signature) {
  bool present[kMeasureCount] = {};
  for (const SignatureEntry& entry : signature) {
    for (const MeasureValue& value : entry.measures) {
      present[static_cast<int>(value.measure)] = true;
    }
  }
  std::vector<Measure> measures;
  for (int m = 0; m < kMeasureCount; ++m) {
    if (present[m]) measures.push_back(static_cast<Measure>(m));
  }
  return measures;
}

// The entry's value of `measure`; nullptr when it has none (not scored).
const MeasureValue* FindMeasure(const SignatureEntry& entry, Measure measure) {
  for (const MeasureValue& value : entry.measures) {
    if (value.measure == measure) return &value;
  }
  return nullptr;
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
  // Jobs of several batches also show the spread of each score.
  const bool batched = std::any_of(signature.begin(), signature.end(), [](const SignatureEntry& e) {
    return e.batch_scores.size() > 1;
  });
  TextTable table;
  table.header = {"index", "module", "call", "op", "n", "d", "score"};
  table.right_aligned = {true, false, true, false, true, true, true};
  if (batched) {
    table.header.insert(table.header.end(), {"std", "batches"});
    table.right_aligned.insert(table.right_aligned.end(), {true, true});
  }
  const std::vector<Measure> measures = MeasuresIn(signature);
  for (Measure measure : measures) {
    table.header.emplace_back(MeasureName(measure));
    table.right_aligned.push_back(true);
  }
  table.header.push_back("status");
  for (const SignatureEntry& e : signature) {
    std::string status(EntryStatusName(e.status));
    if (!e.reason.empty()) absl::StrAppend(&status, ": ", e.reason);
    std::vector<std::string> row = {absl::StrCat(e.index), e.module.empty() ? "(model)" : e.module,
                                    absl::StrCat(e.call),  e.op,
                                    absl::StrCat(e.n),     absl::StrCat(e.d),
                                    ScoreText(e)};
    if (batched) {
      row.push_back(e.status == EntryStatus::kOk ? absl::StrFormat("%.6f", e.score_std) : "-");
      row.push_back(absl::StrCat(e.batches, "/", e.batch_scores.size()));
    }
    for (Measure measure : measures) {
      const MeasureValue* value = FindMeasure(e, measure);
      row.push_back(value != nullptr && !std::isnan(value->mean)
                        ? absl::StrFormat("%.6g", value->mean)
                        : "-");
    }
    row.push_back(status);
    table.rows.push_back(std::move(row));
  }
  return RenderAligned(table);
}

std::string FormatSignatureJson(const Signature& signature) {
  const std::vector<Measure> measures = MeasuresIn(signature);
  std::vector<std::string> objects;
  for (const SignatureEntry& e : signature) {
    const bool ok = e.status == EntryStatus::kOk;
    std::vector<std::string> batch_scores;
    for (double score : e.batch_scores) batch_scores.push_back(JsonNumber(score));
    objects.push_back(absl::StrCat(
        "{\"index\": ", e.index, ", \"module\": ", JsonQuote(e.module), ", \"call\": ", e.call,
        ", \"op\": ", JsonQuote(e.op), ", \"n\": ", e.n, ", \"d\": ", e.d, ", \"score\": ",
        ok ? JsonNumber(e.score) : "null", ", \"status\": ", JsonQuote(EntryStatusName(e.status)),
        ", \"reason\": ", JsonQuote(e.reason), ", \"batches\": ", e.batches, ", \"std\": ",
        ok ? JsonNumber(e.score_std) : "null", ", \"min\": ", ok ? JsonNumber(e.score_min) : "null",
        ", \"max\": ", ok ? JsonNumber(e.score_max) : "null", ", \"batch_scores\": [",
        absl::StrJoin(batch_scores, ", "), "]"));
    for (Measure measure : measures) {
      const MeasureValue* value = FindMeasure(e, measure);
      absl::StrAppend(&objects.back(), ", ", JsonQuote(MeasureName(measure)), ": ",
                      value != nullptr ? JsonNumber(value->mean) : "null", ", ",
                      JsonQuote(absl::StrCat(MeasureName(measure), "_std")), ": ",
                      value != nullptr ? JsonNumber(value->std) : "null");
    }
    objects.back() += "}";
  }
  if (objects.empty()) return "[]";
  return absl::StrCat("[\n  ", absl::StrJoin(objects, ",\n  "), "\n]");
}

std::string FormatSignatureCsv(const Signature& signature) {
  TextTable table;
  table.header = {"index",  "module", "call", "op",  "n",   "d",      "score",
                  "status", "reason", "std",  "min", "max", "batches"};
  const std::vector<Measure> measures = MeasuresIn(signature);
  for (Measure measure : measures) {
    table.header.emplace_back(MeasureName(measure));
    table.header.push_back(absl::StrCat(MeasureName(measure), "_std"));
  }
  for (const SignatureEntry& e : signature) {
    const bool ok = e.status == EntryStatus::kOk;
    auto number = [ok](double value) { return ok ? absl::StrFormat("%.17g", value) : ""; };
    std::vector<std::string> row = {absl::StrCat(e.index), e.module, absl::StrCat(e.call), e.op,
                                    absl::StrCat(e.n), absl::StrCat(e.d), number(e.score),
                                    std::string(EntryStatusName(e.status)), e.reason,
                                    number(e.score_std), number(e.score_min), number(e.score_max),
                                    absl::StrCat(e.batches)};
    for (Measure measure : measures) {
      const MeasureValue* value = FindMeasure(e, measure);
      const bool defined = value != nullptr && !std::isnan(value->mean);
      row.push_back(defined ? absl::StrFormat("%.17g", value->mean) : "");
      row.push_back(defined ? absl::StrFormat("%.17g", value->std) : "");
    }
    table.rows.push_back(std::move(row));
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

std::string JsonNumber(double value) {
  return std::isfinite(value) ? absl::StrFormat("%.17g", value) : "null";
}

}  // namespace affsig
