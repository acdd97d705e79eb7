// The blobs (models and uploaded inputs) a worker has fetched from its server, kept by sha256 in
// a folder (--cache-dir) and bounded in size: the least recently used go first, but never one the
// current job uses, nor one another worker sharing the folder used moments ago. A local worker
// reads its server's blob folder in place instead (--server-data-dir), copying nothing.
#ifndef AFFSIG_SERVER_WORKER_BLOB_CACHE_H_
#define AFFSIG_SERVER_WORKER_BLOB_CACHE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/blob_store.h"

namespace affsig::worker {

struct BlobCacheOptions {
  std::string dir;                           // the cache's own folder
  int64_t max_bytes = int64_t{10} << 30;     // the cache's size, and the largest blob it takes
  std::string server_data_dir;               // the server's --data-dir, when on this machine
  // Workers on one machine may share a folder: a blob any of them used this recently (each use
  // refreshes the file's time) is not evicted, whatever the size.
  absl::Duration keep_recent = absl::Minutes(10);
};

class BlobCache {
 public:
  // Streams the blob's bytes into `upload`, which checks their sha256 when it finishes.
  using Fetch = std::function<absl::Status(const std::string& sha256, store::BlobUpload& upload)>;

  // Opens (creating) the folder and learns what it holds, oldest use first (by modification
  // time, which each use refreshes).
  static absl::StatusOr<std::unique_ptr<BlobCache>> Open(BlobCacheOptions options, Fetch fetch);

  // The local file of `sha256`, fetched first when neither the server's folder nor the cache has
  // it. The blob stays until Release, whatever the cache's size.
  absl::StatusOr<std::string> Path(const std::string& digest);
  // The current job is over: its blobs may be evicted again.
  void Release();

  int64_t size_bytes() const { return size_bytes_; }

 private:
  BlobCache(BlobCacheOptions options, Fetch fetch, std::unique_ptr<store::BlobStore> store);
  void Touch(const std::string& sha256, int64_t size);
  void Evict();

  const BlobCacheOptions options_;
  const Fetch fetch_;
  std::unique_ptr<store::BlobStore> store_;
  std::list<std::string> by_use_;  // most recently used first
  struct Entry {
    std::list<std::string>::iterator position;
    int64_t size = 0;
  };
  std::map<std::string, Entry> entries_;
  std::set<std::string> in_use_;
  int64_t size_bytes_ = 0;
};

}  // namespace affsig::worker

#endif  // AFFSIG_SERVER_WORKER_BLOB_CACHE_H_
