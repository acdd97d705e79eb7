// Content-addressed files (uploaded models and inputs) under DATA_DIR/blobs/<sha256[0:2]>/<sha256>.
// An upload streams into a temporary file, is checked against its announced SHA-256 and size
// limit, and is renamed into place atomically; the same bytes are stored once.
#ifndef AFFSIG_SERVER_STORE_BLOB_STORE_H_
#define AFFSIG_SERVER_STORE_BLOB_STORE_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/sha256.h"

namespace affsig::store {

struct StoredBlob {
  std::string sha256;  // lower-case hex
  int64_t size = 0;
  bool already_stored = false;  // the same bytes were there before this upload
};

class BlobStore;

// One upload in progress; dropped without Finish, it leaves nothing behind.
class BlobUpload {
 public:
  ~BlobUpload();
  BlobUpload(const BlobUpload&) = delete;
  BlobUpload& operator=(const BlobUpload&) = delete;

  // RESOURCE_EXHAUSTED once the bytes exceed the store's limit.
  absl::Status Append(absl::string_view bytes);
  // Checks the digest against `expected_sha256` (when not empty) and stores the blob.
  absl::StatusOr<StoredBlob> Finish(absl::string_view expected_sha256 = "");

 private:
  friend class BlobStore;
  BlobUpload(const BlobStore& store, std::string temp_path);

  const BlobStore& store_;
  std::string temp_path_;
  std::ofstream out_;
  Sha256 hash_;
  int64_t size_ = 0;
  bool finished_ = false;
};

class BlobStore {
 public:
  // Creates DATA_DIR/blobs and DATA_DIR/tmp when missing; `max_bytes` limits one blob.
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& data_dir,
                                                         int64_t max_bytes);

  absl::StatusOr<std::unique_ptr<BlobUpload>> BeginUpload() const;
  bool Contains(absl::string_view sha256) const;
  // The file of a stored blob; NOT_FOUND when it is not stored, INVALID_ARGUMENT for a malformed
  // digest (which also keeps paths inside the store).
  absl::StatusOr<std::string> PathOf(absl::string_view sha256) const;
  int64_t max_bytes() const { return max_bytes_; }
  // Removes a stored blob (a worker's cache evicting it).
  absl::Status Remove(absl::string_view sha256) const;

  // Where the store rooted at `data_dir` keeps `sha256` (a well-formed digest), whether or not it
  // is there: for a worker that reads its server's blobs in place.
  static std::string PathIn(absl::string_view data_dir, absl::string_view sha256);

 private:
  friend class BlobUpload;
  BlobStore(std::string root, int64_t max_bytes) : root_(std::move(root)), max_bytes_(max_bytes) {}
  std::string BlobPath(absl::string_view sha256) const { return PathIn(root_, sha256); }

  std::string root_;
  int64_t max_bytes_;
};

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_BLOB_STORE_H_
