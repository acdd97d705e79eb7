#include "server/worker/blob_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "server/store/blob_store.h"
#include "tests/scratch_dir.h"

namespace affsig::worker {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

int CountFiles(const fs::path& dir) {
  int count = 0;
  std::error_code error;
  for (const auto& entry : fs::recursive_directory_iterator(dir, error)) {
    if (entry.is_regular_file()) ++count;
  }
  return count;
}

// A blob of `size` bytes, different for each `fill`.
std::string Bytes(char fill, size_t size = 100) { return std::string(size, fill); }

// The cache fetches from a real BlobStore standing for the server's, counting the fetches.
class BlobCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshScratchDir();
    server_ = OpenStore(ServerDir());
  }

  static std::unique_ptr<store::BlobStore> OpenStore(const std::string& dir) {
    auto blobs = store::BlobStore::Open(dir, int64_t{1} << 30);
    EXPECT_TRUE(blobs.ok()) << blobs.status();
    return blobs.ok() ? *std::move(blobs) : nullptr;
  }

  static std::string Put(store::BlobStore& blobs, const std::string& bytes) {
    auto upload = blobs.BeginUpload();
    EXPECT_TRUE(upload.ok()) << upload.status();
    if (!upload.ok()) return "";
    EXPECT_TRUE((*upload)->Append(bytes).ok());
    auto stored = (*upload)->Finish();
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? stored->sha256 : "";
  }
  // A blob on the server.
  std::string Put(const std::string& bytes) { return Put(*server_, bytes); }

  // Streams the server's copy in small chunks, as the gRPC fetch does, unless `fetch_error_` or
  // `served_instead_` says to fail or to send other bytes.
  BlobCache::Fetch FetchFromServer() {
    return [this](const std::string& sha256, store::BlobUpload& upload) -> absl::Status {
      ++fetches_[sha256];
      if (!fetch_error_.ok()) return std::exchange(fetch_error_, absl::OkStatus());
      std::string bytes;
      if (served_instead_.has_value()) {
        bytes = *std::exchange(served_instead_, std::nullopt);
      } else {
        auto path = server_->PathOf(sha256);
        if (!path.ok()) return path.status();
        bytes = ReadFile(*path);
      }
      for (size_t at = 0; at < bytes.size(); at += 7) {
        if (absl::Status appended = upload.Append(bytes.substr(at, 7)); !appended.ok()) {
          return appended;
        }
      }
      return absl::OkStatus();
    };
  }

  // A cache of this process alone: blobs used moments ago are evicted as any other (one test
  // below shares its folder, as workers on one machine may).
  std::unique_ptr<BlobCache> OpenCache(int64_t max_bytes, const std::string& server_data_dir = "",
                                       absl::Duration keep_recent = absl::ZeroDuration()) {
    auto cache = BlobCache::Open({CacheDir(), max_bytes, server_data_dir, keep_recent},
                                 FetchFromServer());
    EXPECT_TRUE(cache.ok()) << cache.status();
    return cache.ok() ? *std::move(cache) : nullptr;
  }

  std::string ServerDir() const { return (dir_ / "server").string(); }
  std::string CacheDir() const { return (dir_ / "cache").string(); }
  bool Cached(const std::string& sha256) const {
    return fs::is_regular_file(store::BlobStore::PathIn(CacheDir(), sha256));
  }
  // Sets when the cached blob was last used, as a worker that ran earlier would have left it.
  void SetLastUse(const std::string& sha256, std::chrono::hours ago) const {
    fs::last_write_time(store::BlobStore::PathIn(CacheDir(), sha256),
                        fs::file_time_type::clock::now() - ago);
  }

  fs::path dir_;
  std::unique_ptr<store::BlobStore> server_;
  std::map<std::string, int> fetches_;
  absl::Status fetch_error_;
  std::optional<std::string> served_instead_;
};

TEST_F(BlobCacheTest, FetchesABlobOnceAndThenServesItFromTheCache) {
  const std::string a = Put(Bytes('a'));
  auto cache = OpenCache(1 << 20);
  ASSERT_NE(cache, nullptr);

  auto first = cache->Path(a);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(absl::StartsWith(*first, CacheDir())) << *first;
  EXPECT_EQ(ReadFile(*first), Bytes('a'));
  EXPECT_EQ(cache->size_bytes(), 100);
  auto again = cache->Path(a);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *first);
  // A later job too.
  cache->Release();
  auto next_job = cache->Path(a);
  ASSERT_TRUE(next_job.ok()) << next_job.status();
  EXPECT_EQ(*next_job, *first);

  EXPECT_EQ(fetches_[a], 1);
  EXPECT_EQ(cache->size_bytes(), 100);
}

TEST_F(BlobCacheTest, RefusesFetchedBytesThatHashToAnotherDigestAndKeepsNone) {
  const std::string a = Put(Bytes('a'));
  auto cache = OpenCache(1 << 20);
  ASSERT_NE(cache, nullptr);
  served_instead_ = Bytes('x');

  auto corrupted = cache->Path(a);
  ASSERT_FALSE(corrupted.ok());
  EXPECT_EQ(corrupted.status().code(), absl::StatusCode::kInvalidArgument) << corrupted.status();
  EXPECT_THAT(corrupted.status().message(), HasSubstr(a));
  EXPECT_EQ(cache->size_bytes(), 0);
  // Neither under the digest asked for nor under the bytes' own, nor half-written.
  EXPECT_EQ(CountFiles(fs::path(CacheDir()) / "blobs"), 0);
  EXPECT_EQ(CountFiles(fs::path(CacheDir()) / "tmp"), 0);

  // The next use fetches again, and this time gets the right bytes.
  auto fetched = cache->Path(a);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(ReadFile(*fetched), Bytes('a'));
  EXPECT_EQ(fetches_[a], 2);
  EXPECT_EQ(cache->size_bytes(), 100);
}

TEST_F(BlobCacheTest, RetriesAFetchCutShortAndReportsOneThatFailsForGood) {
  const std::string a = Put(Bytes('a')), b = Put(Bytes('b'));
  auto cache = OpenCache(1 << 20);
  ASSERT_NE(cache, nullptr);
  // The server restarting: the fetch is made again, and the blob arrives.
  fetch_error_ = absl::UnavailableError("cannot fetch blob: the server is restarting");
  auto retried = cache->Path(a);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(ReadFile(*retried), Bytes('a'));
  EXPECT_EQ(fetches_[a], 2);

  // A refusal is reported at once, keeps nothing, and the next use fetches again.
  fetch_error_ = absl::PermissionDeniedError("cannot fetch blob: not allowed");
  auto failed = cache->Path(b);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kPermissionDenied) << failed.status();
  EXPECT_FALSE(Cached(b));
  EXPECT_EQ(fetches_[b], 1);
  auto fetched = cache->Path(b);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetches_[b], 2);
}

TEST_F(BlobCacheTest, RefusesABlobLargerThanTheWholeCache) {
  const std::string big = Put(Bytes('b', 100));
  auto cache = OpenCache(50);
  ASSERT_NE(cache, nullptr);
  auto refused = cache->Path(big);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_EQ(cache->size_bytes(), 0);
  EXPECT_EQ(CountFiles(CacheDir()), 0);
}

TEST_F(BlobCacheTest, EvictsTheLeastRecentlyUsedBlobsOnceOverItsSize) {
  const std::string a = Put(Bytes('a')), b = Put(Bytes('b')), c = Put(Bytes('c'));
  auto cache = OpenCache(250);
  ASSERT_NE(cache, nullptr);
  // Three jobs of one blob each: the third one's does not fit beside both others.
  ASSERT_TRUE(cache->Path(a).ok());
  cache->Release();
  ASSERT_TRUE(cache->Path(b).ok());
  cache->Release();
  ASSERT_TRUE(cache->Path(c).ok());
  EXPECT_FALSE(Cached(a));
  EXPECT_TRUE(Cached(b));
  EXPECT_TRUE(Cached(c));
  EXPECT_EQ(cache->size_bytes(), 200);
  cache->Release();

  // Use counts, not fetch order: b used again is kept, and c, now the least recently used, goes.
  ASSERT_TRUE(cache->Path(b).ok());
  cache->Release();
  auto a_again = cache->Path(a);
  ASSERT_TRUE(a_again.ok()) << a_again.status();
  EXPECT_EQ(ReadFile(*a_again), Bytes('a'));
  EXPECT_TRUE(Cached(a));
  EXPECT_TRUE(Cached(b));
  EXPECT_FALSE(Cached(c));
  EXPECT_EQ(cache->size_bytes(), 200);
  EXPECT_EQ(fetches_[a], 2);
  EXPECT_EQ(fetches_[b], 1);
  EXPECT_EQ(fetches_[c], 1);
}

TEST_F(BlobCacheTest, ABlobAnotherWorkerUsedMomentsAgoIsNotEvicted) {
  const std::string a = Put(Bytes('a')), b = Put(Bytes('b')), c = Put(Bytes('c'));
  // Two workers on one folder: the first fetched a, the second uses b and c.
  auto first = OpenCache(250, "", absl::Minutes(10));
  ASSERT_TRUE(first->Path(a).ok());
  first->Release();
  auto second = OpenCache(250, "", absl::Minutes(10));
  ASSERT_TRUE(second->Path(b).ok());
  second->Release();
  ASSERT_TRUE(second->Path(c).ok());
  second->Release();
  // Over its size, the second cache would evict a, the least recently used: but the first worker
  // used it a moment ago, and may be reading it.
  EXPECT_TRUE(Cached(a));
  EXPECT_GT(second->size_bytes(), 250);
  // Once a's use is old, it goes.
  SetLastUse(a, std::chrono::hours(1));
  ASSERT_TRUE(second->Path(b).ok());
  second->Release();
  EXPECT_FALSE(Cached(a));
  EXPECT_LE(second->size_bytes(), 250);
}

TEST_F(BlobCacheTest, NeverEvictsABlobUsedSinceTheLastRelease) {
  const std::string a = Put(Bytes('a')), b = Put(Bytes('b')), c = Put(Bytes('c')),
                    d = Put(Bytes('d'));
  auto cache = OpenCache(250);
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(cache->Path(a).ok());
  ASSERT_TRUE(cache->Path(b).ok());
  cache->Release();

  // The next job uses a from the cache, then fetches c and d: b, unused, makes room for c, but
  // a, although now the least recently used, is this job's, so d takes the cache past its size.
  ASSERT_TRUE(cache->Path(a).ok());
  ASSERT_TRUE(cache->Path(c).ok());
  EXPECT_FALSE(Cached(b));
  ASSERT_TRUE(cache->Path(d).ok());
  EXPECT_TRUE(Cached(a));
  EXPECT_TRUE(Cached(c));
  EXPECT_TRUE(Cached(d));
  EXPECT_EQ(cache->size_bytes(), 300);
  EXPECT_EQ(fetches_[a], 1);

  // Once the job is over the cache shrinks back, least recently used first.
  cache->Release();
  EXPECT_FALSE(Cached(a));
  EXPECT_TRUE(Cached(c));
  EXPECT_TRUE(Cached(d));
  EXPECT_EQ(cache->size_bytes(), 200);
}

// Digests are accepted in either case (IsSha256Hex) and the store files them in lower case: the
// same blob named both ways is one blob, counted once and kept while the current job uses it.
TEST_F(BlobCacheTest, TreatsADigestInEitherCaseAsOneBlob) {
  const std::string a = Put(Bytes('a')), b = Put(Bytes('b'));
  auto cache = OpenCache(150);
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(cache->Path(absl::AsciiStrToUpper(a)).ok());
  cache->Release();

  auto lower = cache->Path(a);
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_EQ(cache->size_bytes(), 100);
  ASSERT_TRUE(cache->Path(b).ok());
  EXPECT_TRUE(Cached(a)) << "evicted while the current job uses it";
  EXPECT_EQ(ReadFile(*lower), Bytes('a'));
  EXPECT_EQ(fetches_[a] + fetches_[absl::AsciiStrToUpper(a)], 1);
}

TEST_F(BlobCacheTest, AReopenedCacheKnowsWhatItHoldsAndItsSize) {
  const std::string a = Put(Bytes('a')), b = Put(Bytes('b', 60));
  {
    auto cache = OpenCache(1 << 20);
    ASSERT_NE(cache, nullptr);
    ASSERT_TRUE(cache->Path(a).ok());
    ASSERT_TRUE(cache->Path(b).ok());
    cache->Release();
  }
  auto reopened = OpenCache(1 << 20);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->size_bytes(), 160);
  auto path_a = reopened->Path(a);
  auto path_b = reopened->Path(b);
  ASSERT_TRUE(path_a.ok()) << path_a.status();
  ASSERT_TRUE(path_b.ok()) << path_b.status();
  EXPECT_EQ(ReadFile(*path_a), Bytes('a'));
  EXPECT_EQ(ReadFile(*path_b), Bytes('b', 60));
  EXPECT_EQ(fetches_[a], 1);
  EXPECT_EQ(fetches_[b], 1);
  EXPECT_EQ(reopened->size_bytes(), 160);
}

TEST_F(BlobCacheTest, AReopenedCacheOverItsSizeEvictsTheBlobsUsedLongestAgo) {
  const std::string a = Put(Bytes('a')), b = Put(Bytes('b'));
  {
    auto cache = OpenCache(1 << 20);
    ASSERT_NE(cache, nullptr);
    ASSERT_TRUE(cache->Path(a).ok());
    ASSERT_TRUE(cache->Path(b).ok());
  }
  // The older use goes to the digest that sorts last, so that name order would pick the other.
  const std::string older = std::max(a, b), newer = std::min(a, b);
  SetLastUse(older, std::chrono::hours(2));
  SetLastUse(newer, std::chrono::hours(1));

  auto reopened = OpenCache(150);
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(Cached(older));
  EXPECT_TRUE(Cached(newer));
  EXPECT_EQ(reopened->size_bytes(), 100);
}

TEST_F(BlobCacheTest, AUseFromTheCacheCountsAsRecentAfterARestart) {
  const std::string a = Put(Bytes('a')), b = Put(Bytes('b'));
  {
    auto cache = OpenCache(1 << 20);
    ASSERT_NE(cache, nullptr);
    ASSERT_TRUE(cache->Path(a).ok());
    ASSERT_TRUE(cache->Path(b).ok());
  }
  SetLastUse(a, std::chrono::hours(2));
  SetLastUse(b, std::chrono::hours(1));
  {
    // a, fetched longest ago, is used again: b is now the one used longest ago.
    auto cache = OpenCache(1 << 20);
    ASSERT_NE(cache, nullptr);
    ASSERT_TRUE(cache->Path(a).ok());
    cache->Release();
  }
  auto reopened = OpenCache(150);
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(Cached(a));
  EXPECT_FALSE(Cached(b));
  EXPECT_EQ(fetches_[a], 1);
}

TEST_F(BlobCacheTest, ReadsABlobInTheServersDataDirInPlaceAndNeverFetchesIt) {
  // The server's folder on this machine holds a; b is only to be had by fetching.
  const std::string local_dir = (dir_ / "local_server").string();
  auto local = OpenStore(local_dir);
  ASSERT_NE(local, nullptr);
  const std::string a = Put(*local, Bytes('a'));
  const std::string b = Put(Bytes('b'));
  auto cache = OpenCache(1 << 20, local_dir);
  ASSERT_NE(cache, nullptr);

  auto in_place = cache->Path(a);
  ASSERT_TRUE(in_place.ok()) << in_place.status();
  EXPECT_EQ(*in_place, store::BlobStore::PathIn(local_dir, a));
  EXPECT_EQ(fetches_.count(a), 0u);
  EXPECT_FALSE(Cached(a));
  EXPECT_EQ(cache->size_bytes(), 0);

  auto fetched = cache->Path(b);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_TRUE(absl::StartsWith(*fetched, CacheDir())) << *fetched;
  EXPECT_EQ(fetches_[b], 1);
  EXPECT_EQ(cache->size_bytes(), 100);
}

TEST_F(BlobCacheTest, RefusesAMalformedDigestWithoutLookingForIt) {
  auto cache = OpenCache(1 << 20, ServerDir());
  ASSERT_NE(cache, nullptr);
  for (const std::string& digest :
       {std::string(), std::string("abc"), std::string(63, 'a'), std::string(65, 'a'),
        std::string(64, 'g'), "../../" + std::string(58, 'a')}) {
    SCOPED_TRACE(digest);
    auto path = cache->Path(digest);
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument) << path.status();
  }
  EXPECT_THAT(fetches_, IsEmpty());
  EXPECT_EQ(cache->size_bytes(), 0);
}

}  // namespace
}  // namespace affsig::worker
