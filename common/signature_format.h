// Renders a signature for people (aligned table) and for tools (JSON, CSV).
#ifndef AFFSIG_COMMON_SIGNATURE_FORMAT_H_
#define AFFSIG_COMMON_SIGNATURE_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/signature.h"

namespace affsig {

enum class OutputFormat { kTable, kJson, kCsv };

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name);

// Columns: index, module, call, op, n, d, score, status (and reason when not ok); jobs of several
// batches also std and batches (scored / run); jobs with companion measures one column each
// (their means; "-" where an entry has none or it is undefined).
std::string FormatSignatureTable(const Signature& signature);
// A JSON array of objects with index, module, call, op, n, d, score (the mean over batches; null
// when not ok), status, reason, batches, std, min, max and batch_scores (null where a batch was
// not scored); for jobs with companion measures, each measure by its name and NAME_std (null
// where an entry has none or the measure is undefined).
std::string FormatSignatureJson(const Signature& signature);
// A header line, then one line per entry; fields quoted as RFC 4180 requires. Companion measures
// add the columns NAME and NAME_std each.
std::string FormatSignatureCsv(const Signature& signature);

std::string FormatSignature(const Signature& signature, OutputFormat format);

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);
// A JSON number that reads back to the same double, or null for NaN and infinities (JSON has
// neither).
std::string JsonNumber(double value);

}  // namespace affsig

#endif  // AFFSIG_COMMON_SIGNATURE_FORMAT_H_
