#include "server/store/blob_catalog.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace affsig::store {
namespace {

absl::string_view KindName(BlobKind kind) { return kind == BlobKind::kModel ? "model" : "input"; }

// The job count is of the jobs that use the blob in its role (model or input).
std::string SelectBlobs(BlobKind kind, absl::string_view where) {
  return absl::StrCat(
      "SELECT sha256, size, name, uploaded_at, (SELECT COUNT(*) FROM jobs WHERE jobs.",
      kind == BlobKind::kModel ? "model_sha256" : "input_sha256",
      " = blobs.sha256), seq FROM blobs WHERE kind = ? ", where);
}

BlobInfo BlobFromRow(const Statement& row, BlobKind kind) {
  BlobInfo blob;
  blob.sha256 = row.Text(0);
  blob.kind = kind;
  if (!row.IsNull(1)) blob.size = row.Int(1);
  blob.name = row.Text(2);
  blob.uploaded_at_ms = row.Int(3);
  blob.job_count = row.Int(4);
  return blob;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobCatalog>> BlobCatalog::Open(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Database::Open(path));
  return std::unique_ptr<BlobCatalog>(new BlobCatalog(std::move(db)));
}

absl::Status BlobCatalog::Record(absl::string_view sha256, BlobKind kind, int64_t size,
                                 absl::string_view name, absl::string_view owner) {
  absl::MutexLock lock(&mutex_);
  // A blob recorded without a size or name (by the migration, or as a model first uploaded as an
  // input) gets them now; otherwise the first name and time stay.
  ASSIGN_OR_RETURN(
      auto insert,
      db_->Prepare(
          "INSERT INTO blobs (sha256, kind, size, name, uploaded_at, owner) VALUES (?, ?, ?, ?, "
          "?, ?) "
          "ON CONFLICT (sha256, kind) DO UPDATE SET size = COALESCE(size, excluded.size), "
          "name = CASE WHEN name = '' THEN excluded.name ELSE name END"));
  insert->Bind(1, sha256).Bind(2, KindName(kind)).Bind(3, size).Bind(4, name).Bind(5, NowMs());
  insert->Bind(6, owner);
  return insert->Run();
}

absl::StatusOr<BlobInfo> BlobCatalog::Get(absl::string_view sha256, BlobKind kind) {
  absl::MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(auto select, db_->Prepare(SelectBlobs(kind, "AND sha256 = ?")));
  select->Bind(1, KindName(kind)).Bind(2, sha256);
  if (!select->Step()) {
    RETURN_IF_ERROR(select->status());
    return absl::NotFoundError(absl::StrCat("no ", KindName(kind), " ", sha256, " on this server"));
  }
  return BlobFromRow(*select, kind);
}

absl::StatusOr<Page<BlobInfo>> BlobCatalog::List(BlobKind kind, const PageRequest& page) {
  const std::string filter_key = absl::StrCat("blobs kind=", KindName(kind));
  ASSIGN_OR_RETURN(auto start, StartPage(page, filter_key));
  absl::MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(auto select, db_->Prepare(SelectBlobs(
                                    kind, start.before_seq ? "AND seq < ? ORDER BY seq DESC LIMIT ?"
                                                           : "ORDER BY seq DESC LIMIT ?")));
  int position = 1;
  select->Bind(position++, KindName(kind));
  if (start.before_seq) select->Bind(position++, *start.before_seq);
  select->Bind(position, static_cast<int64_t>(start.size) + 1);
  return ReadPage<BlobInfo>(*select, start, 5, filter_key,
                            [kind](const Statement& row) { return BlobFromRow(row, kind); });
}

absl::StatusOr<int64_t> BlobCatalog::BytesOwnedBy(absl::string_view owner) {
  absl::MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(auto select,
                   db_->Prepare("SELECT COALESCE(SUM(size), 0) FROM (SELECT MAX(COALESCE(size, "
                                "0)) AS size FROM blobs WHERE owner = ? GROUP BY sha256)"));
  select->Bind(1, owner);
  if (!select->Step()) return select->status();
  return select->Int(0);
}

}  // namespace affsig::store
