#include "server/worker/blob_cache.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log_line.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace affsig::worker {

namespace fs = std::filesystem;

namespace {

constexpr int kFetchAttempts = 5;

}  // namespace

absl::StatusOr<std::unique_ptr<BlobCache>> BlobCache::Open(BlobCacheOptions options, Fetch fetch) {
  ASSIGN_OR_RETURN(auto store, store::BlobStore::Open(options.dir, options.max_bytes));
  std::unique_ptr<BlobCache> cache(
      new BlobCache(std::move(options), std::move(fetch), std::move(store)));
  // What an earlier run left, oldest use first.
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  std::error_code error;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(cache->options_.dir) / "blobs",
                                                             error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(error) && IsSha256Hex(name)) {
      found.emplace_back(entry.last_write_time(error), name);
    }
  }
  std::sort(found.begin(), found.end());
  for (const auto& [time, sha256] : found) {
    cache->Touch(sha256, static_cast<int64_t>(fs::file_size(
                             store::BlobStore::PathIn(cache->options_.dir, sha256), error)));
  }
  cache->Evict();
  return cache;
}

BlobCache::BlobCache(BlobCacheOptions options, Fetch fetch, std::unique_ptr<store::BlobStore> store)
    : options_(std::move(options)), fetch_(std::move(fetch)), store_(std::move(store)) {}

void BlobCache::Touch(const std::string& sha256, int64_t size) {
  if (auto it = entries_.find(sha256); it != entries_.end()) {
    by_use_.splice(by_use_.begin(), by_use_, it->second.position);
    return;
  }
  by_use_.push_front(sha256);
  entries_[sha256] = {by_use_.begin(), size};
  size_bytes_ += size;
}

void BlobCache::Evict() {
  const auto recent = fs::file_time_type::clock::now() -
                      std::chrono::duration_cast<fs::file_time_type::duration>(
                          absl::ToChronoNanoseconds(options_.keep_recent));
  auto it = by_use_.end();
  while (size_bytes_ > options_.max_bytes && it != by_use_.begin()) {
    --it;
    if (in_use_.count(*it) > 0) continue;
    std::error_code error;
    const auto used = fs::last_write_time(store::BlobStore::PathIn(options_.dir, *it), error);
    if (!error && used > recent) continue;  // another worker's, just now
    const std::string sha256 = *it;
    if (absl::Status removed = store_->Remove(sha256); !removed.ok()) {
      LogLine(std::string(removed.message()));
      continue;
    }
    size_bytes_ -= entries_[sha256].size;
    entries_.erase(sha256);
    it = by_use_.erase(it);
  }
}

absl::StatusOr<std::string> BlobCache::Path(const std::string& digest) {
  if (!IsSha256Hex(digest)) {
    return absl::InvalidArgumentError(absl::StrCat("'", digest, "' is not a sha256"));
  }
  // One blob, however its digest is spelled: the store files it under lower case.
  const std::string sha256 = absl::AsciiStrToLower(digest);
  if (!options_.server_data_dir.empty()) {
    const std::string shared = store::BlobStore::PathIn(options_.server_data_dir, sha256);
    std::error_code error;
    if (fs::is_regular_file(shared, error)) return shared;
  }
  in_use_.insert(sha256);
  if (auto path = store_->PathOf(sha256); path.ok()) {
    std::error_code error;
    fs::last_write_time(*path, fs::file_time_type::clock::now(), error);  // its last use
    Touch(sha256, entries_.count(sha256) > 0 ? entries_[sha256].size
                                              : static_cast<int64_t>(fs::file_size(*path, error)));
    return path;
  }
  // A fetch cut short by a server that restarts is started again from its first byte.
  absl::Duration pause = absl::Seconds(1);
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(auto upload, store_->BeginUpload());
    absl::Status fetched = fetch_(sha256, *upload);
    if (fetched.ok()) {
      ASSIGN_OR_RETURN(store::StoredBlob stored, upload->Finish(sha256));
      Touch(sha256, stored.size);
      Evict();
      return store_->PathOf(sha256);
    }
    if (fetched.code() != absl::StatusCode::kUnavailable || attempt == kFetchAttempts) {
      return fetched;
    }
    absl::SleepFor(pause);
    pause *= 2;
  }
}

void BlobCache::Release() {
  in_use_.clear();
  Evict();
}

}  // namespace affsig::worker
