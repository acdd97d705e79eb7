// What is known about the uploaded blobs, beside their bytes in the BlobStore: their kind (model
// or input), size, the file name they were first uploaded under, when, and how many jobs use
// them. ListModels reads it.
#ifndef AFFSIG_SERVER_STORE_BLOB_CATALOG_H_
#define AFFSIG_SERVER_STORE_BLOB_CATALOG_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/blob_info.h"
#include "server/store/database.h"
#include "server/store/page_token.h"

namespace affsig::store {

class BlobCatalog {
 public:
  // Opens its own connection to the database at `path` (migrating it when needed).
  static absl::StatusOr<std::unique_ptr<BlobCatalog>> Open(const std::string& path);

  // Records a blob of `kind` that `owner` uploaded; a blob recorded before keeps its first
  // name, time and owner (a name or size it lacked is filled in).
  absl::Status Record(absl::string_view sha256, BlobKind kind, int64_t size, absl::string_view name,
                      absl::string_view owner);
  // NOT_FOUND when no blob of `kind` has this digest.
  absl::StatusOr<BlobInfo> Get(absl::string_view sha256, BlobKind kind);
  // Newest first.
  absl::StatusOr<Page<BlobInfo>> List(BlobKind kind, const PageRequest& page);
  // The bytes of the blobs `owner` uploaded first, each counted once (a model also recorded as
  // an input is one file).
  absl::StatusOr<int64_t> BytesOwnedBy(absl::string_view owner);

 private:
  explicit BlobCatalog(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  absl::Mutex mutex_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_BLOB_CATALOG_H_
