#include "server/store/signature_store.h"

#include <limits>
#include <utility>

#include "common/status_macros.h"

namespace affsig::store {

absl::StatusOr<std::unique_ptr<SignatureStore>> SignatureStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Database::Open(path));
  return std::unique_ptr<SignatureStore>(new SignatureStore(std::move(db)));
}

absl::Status SignatureStore::ReadEntries(StoredSignature& signature) {
  ASSIGN_OR_RETURN(
      auto select,
      db_->Prepare("SELECT idx, module, call, op, d, n, score, status, reason, batches, "
                   "COALESCE(score_std, 0), COALESCE(score_min, 0), COALESCE(score_max, 0) "
                   "FROM signature_entries WHERE job_id = ? ORDER BY idx"));
  select->Bind(1, signature.job.id);
  while (select->Step()) {
    const Statement& row = *select;
    SignatureEntry entry;
    entry.index = row.Int(0);
    entry.module = row.Text(1);
    entry.call = row.Int(2);
    entry.op = row.Text(3);
    entry.d = row.Int(4);
    entry.n = row.Int(5);
    entry.score = row.IsNull(6) ? 0.0 : row.Double(6);
    entry.status = ParseEntryStatus(row.Text(7)).value_or(EntryStatus::kFailed);
    entry.reason = row.Text(8);
    entry.batches = row.Int(9);
    entry.score_std = row.Double(10);
    entry.score_min = row.Double(11);
    entry.score_max = row.Double(12);
    signature.entries.push_back(std::move(entry));
  }
  RETURN_IF_ERROR(select->status());
  ASSIGN_OR_RETURN(
      auto batches,
      db_->Prepare(
          "SELECT idx, batch, score FROM entry_batch_scores WHERE job_id = ? ORDER BY idx, batch"));
  batches->Bind(1, signature.job.id);
  while (batches->Step()) {
    const Statement& row = *batches;
    const int64_t index = row.Int(0);
    if (index < 0 || index >= static_cast<int64_t>(signature.entries.size())) continue;
    signature.entries[static_cast<size_t>(index)].batch_scores.push_back(
        row.IsNull(2) ? std::numeric_limits<double>::quiet_NaN() : row.Double(2));
  }
  return batches->status();
}

absl::Status SignatureStore::ReadSummary(StoredSignature& signature) {
  ASSIGN_OR_RETURN(
      auto select,
      db_->Prepare(
          "SELECT COUNT(*), COUNT(score), COALESCE(AVG(score), 0), COALESCE(MIN(score), 0), "
          "COALESCE(MAX(score), 0) FROM signature_entries WHERE job_id = ?"));
  select->Bind(1, signature.job.id);
  if (!select->Step()) return select->status();
  SignatureSummary& summary = signature.summary;
  summary.entries = select->Int(0);
  summary.scored = select->Int(1);
  summary.mean_score = select->Double(2);
  summary.min_score = select->Double(3);
  summary.max_score = select->Double(4);
  return absl::OkStatus();
}

absl::StatusOr<StoredSignature> SignatureStore::Get(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  StoredSignature signature;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    ASSIGN_OR_RETURN(signature.job, ReadJob(*db_, id));
    RETURN_IF_ERROR(ReadEntries(signature));
    return ReadSummary(signature);
  }));
  return signature;
}

absl::StatusOr<Page<StoredSignature>> SignatureStore::List(JobFilter filter, bool with_entries,
                                                           const PageRequest& page) {
  filter.state = JobState::kSucceeded;
  absl::MutexLock lock(&mutex_);
  Page<StoredSignature> result;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    ASSIGN_OR_RETURN(auto jobs, ReadJobs(*db_, filter, page));
    result.next_page_token = std::move(jobs.next_page_token);
    for (Job& job : jobs.items) {
      StoredSignature& signature = result.items.emplace_back();
      signature.job = std::move(job);
      RETURN_IF_ERROR(ReadSummary(signature));
      if (!with_entries) continue;
      RETURN_IF_ERROR(ReadEntries(signature));
    }
    return absl::OkStatus();
  }));
  return result;
}

}  // namespace affsig::store
