// How a SUCCEEDED job's signature lies in the database: its entries (signature_entries), their
// per-batch scores (entry_batch_scores), their companion measures when the job asked for them
// (entry_measures) and its summary statistics (signature_summaries). Written once, in the
// transaction that ends the job; the callers hold the connection's lock.
#ifndef AFFSIG_SERVER_STORE_SIGNATURE_RECORD_H_
#define AFFSIG_SERVER_STORE_SIGNATURE_RECORD_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/job.h"
#include "common/signature.h"
#include "server/store/database.h"

namespace affsig::store {

// Writes the entries and their summary.
absl::Status WriteSignature(Database& db, absl::string_view job_id, const Signature& signature);

// The entries in execution order, with their batch scores and measures; none for a job without a
// signature.
absl::StatusOr<Signature> ReadSignatureEntries(Database& db, absl::string_view job_id);

// The summary; nullopt for a job without a signature.
absl::StatusOr<std::optional<SignatureSummary>> ReadSignatureSummary(Database& db,
                                                                     absl::string_view job_id);

// Summarizes the SUCCEEDED jobs that have no summary, those that succeeded before migration 7,
// inside the caller's transaction. Returns how many.
absl::StatusOr<int64_t> SummarizeEarlierSignatures(Database& db);

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_SIGNATURE_RECORD_H_
