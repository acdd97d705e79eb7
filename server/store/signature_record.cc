#include "server/store/signature_record.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "server/analysis/signature_statistics.h"

namespace affsig::store {
namespace {

// NaN (a statistic of no scored entry, a measure defined in no batch) is stored as NULL.
void BindScore(Statement& statement, int position, double value) {
  if (std::isnan(value)) {
    statement.BindNull(position);
  } else {
    statement.Bind(position, value);
  }
}

double ScoreColumn(const Statement& row, int column) {
  return row.IsNull(column) ? std::numeric_limits<double>::quiet_NaN() : row.Double(column);
}

absl::Status WriteSummary(Database& db, absl::string_view job_id, const Signature& signature) {
  const SignatureSummary summary = analysis::Summarize(signature);
  ASSIGN_OR_RETURN(
      auto insert,
      db.Prepare("INSERT INTO signature_summaries (job_id, entries, scored, mean_score, "
                 "median_score, std_score, min_score, max_score, lowest_depth) VALUES (?, ?, ?, "
                 "?, ?, ?, ?, ?, ?)"));
  insert->Bind(1, job_id).Bind(2, summary.entries).Bind(3, summary.scored);
  BindScore(*insert, 4, summary.mean_score);
  BindScore(*insert, 5, summary.median_score);
  BindScore(*insert, 6, summary.std_score);
  BindScore(*insert, 7, summary.min_score);
  BindScore(*insert, 8, summary.max_score);
  BindScore(*insert, 9, summary.lowest_score_depth);
  return insert->Run();
}

}  // namespace

absl::Status WriteSignature(Database& db, absl::string_view job_id, const Signature& signature) {
  ASSIGN_OR_RETURN(
      auto insert,
      db.Prepare("INSERT INTO signature_entries (job_id, idx, module, call, op, d, n, score, "
                 "status, reason, batches, score_std, score_min, score_max) VALUES (?, ?, ?, ?, "
                 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ASSIGN_OR_RETURN(auto insert_batch,
                   db.Prepare("INSERT INTO entry_batch_scores (job_id, idx, batch, score) "
                              "VALUES (?, ?, ?, ?)"));
  ASSIGN_OR_RETURN(auto insert_measure,
                   db.Prepare("INSERT INTO entry_measures (job_id, idx, measure, mean, std) "
                              "VALUES (?, ?, ?, ?, ?)"));
  for (const SignatureEntry& entry : signature) {
    Statement& row = *insert;
    row.Reset();
    row.Bind(1, job_id).Bind(2, entry.index).Bind(3, entry.module).Bind(4, entry.call);
    row.Bind(5, entry.op).Bind(6, entry.d).Bind(7, entry.n);
    row.Bind(9, EntryStatusName(entry.status)).Bind(10, entry.reason).Bind(11, entry.batches);
    if (entry.status == EntryStatus::kOk) {
      row.Bind(8, entry.score).Bind(12, entry.score_std);
      row.Bind(13, entry.score_min).Bind(14, entry.score_max);
    } else {
      row.BindNull(8).BindNull(12).BindNull(13).BindNull(14);
    }
    RETURN_IF_ERROR(row.Run());
    for (size_t b = 0; b < entry.batch_scores.size(); ++b) {
      Statement& batch = *insert_batch;
      batch.Reset();
      batch.Bind(1, job_id).Bind(2, entry.index).Bind(3, static_cast<int64_t>(b));
      BindScore(batch, 4, entry.batch_scores[b]);
      RETURN_IF_ERROR(batch.Run());
    }
    for (const MeasureValue& value : entry.measures) {
      Statement& measure = *insert_measure;
      measure.Reset();
      measure.Bind(1, job_id).Bind(2, entry.index).Bind(3, MeasureName(value.measure));
      BindScore(measure, 4, value.mean);
      BindScore(measure, 5, value.std);
      RETURN_IF_ERROR(measure.Run());
    }
  }
  return WriteSummary(db, job_id, signature);
}

absl::StatusOr<Signature> ReadSignatureEntries(Database& db, absl::string_view job_id) {
  ASSIGN_OR_RETURN(
      auto select,
      db.Prepare("SELECT idx, module, call, op, d, n, score, status, reason, batches, "
                 "COALESCE(score_std, 0), COALESCE(score_min, 0), COALESCE(score_max, 0) "
                 "FROM signature_entries WHERE job_id = ? ORDER BY idx"));
  select->Bind(1, job_id);
  Signature signature;
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
    signature.push_back(std::move(entry));
  }
  RETURN_IF_ERROR(select->status());
  ASSIGN_OR_RETURN(
      auto batches,
      db.Prepare(
          "SELECT idx, batch, score FROM entry_batch_scores WHERE job_id = ? ORDER BY idx, batch"));
  batches->Bind(1, job_id);
  while (batches->Step()) {
    const Statement& row = *batches;
    const int64_t index = row.Int(0);
    if (index < 0 || index >= static_cast<int64_t>(signature.size())) continue;
    signature[static_cast<size_t>(index)].batch_scores.push_back(ScoreColumn(row, 2));
  }
  RETURN_IF_ERROR(batches->status());
  ASSIGN_OR_RETURN(auto measures, db.Prepare("SELECT idx, measure, mean, std FROM entry_measures "
                                             "WHERE job_id = ? ORDER BY idx"));
  measures->Bind(1, job_id);
  while (measures->Step()) {
    const Statement& row = *measures;
    const int64_t index = row.Int(0);
    auto measure = ParseMeasure(row.Text(1));
    if (index < 0 || index >= static_cast<int64_t>(signature.size()) || !measure.ok()) continue;
    signature[static_cast<size_t>(index)].measures.push_back(
        {*measure, ScoreColumn(row, 2), ScoreColumn(row, 3)});
  }
  RETURN_IF_ERROR(measures->status());
  // In Measure order, as the engine makes them.
  for (SignatureEntry& entry : signature) {
    std::sort(entry.measures.begin(), entry.measures.end(),
              [](const MeasureValue& a, const MeasureValue& b) { return a.measure < b.measure; });
  }
  return signature;
}

absl::StatusOr<std::optional<SignatureSummary>> ReadSignatureSummary(Database& db,
                                                                     absl::string_view job_id) {
  ASSIGN_OR_RETURN(
      auto select,
      db.Prepare("SELECT entries, scored, mean_score, median_score, std_score, min_score, "
                 "max_score, lowest_depth FROM signature_summaries WHERE job_id = ?"));
  select->Bind(1, job_id);
  if (!select->Step()) {
    RETURN_IF_ERROR(select->status());
    return std::nullopt;
  }
  const Statement& row = *select;
  SignatureSummary summary;
  summary.entries = row.Int(0);
  summary.scored = row.Int(1);
  summary.mean_score = ScoreColumn(row, 2);
  summary.median_score = ScoreColumn(row, 3);
  summary.std_score = ScoreColumn(row, 4);
  summary.min_score = ScoreColumn(row, 5);
  summary.max_score = ScoreColumn(row, 6);
  summary.lowest_score_depth = ScoreColumn(row, 7);
  return summary;
}

absl::StatusOr<int64_t> SummarizeEarlierSignatures(Database& db) {
  std::vector<std::string> ids;
  ASSIGN_OR_RETURN(auto select,
                   db.Prepare("SELECT id FROM jobs WHERE state = 'SUCCEEDED' AND NOT EXISTS "
                              "(SELECT 1 FROM signature_summaries s WHERE s.job_id = jobs.id)"));
  while (select->Step()) ids.push_back(select->Text(0));
  RETURN_IF_ERROR(select->status());
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(Signature signature, ReadSignatureEntries(db, id));
    RETURN_IF_ERROR(WriteSummary(db, id, signature));
  }
  return static_cast<int64_t>(ids.size());
}

}  // namespace affsig::store
