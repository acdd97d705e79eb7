#include "server/store/blob_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/scratch_dir.h"

namespace affsig::store {
namespace {

using ::testing::HasSubstr;

// sha256("hello world")
constexpr char kHelloSha[] = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshScratchDir();
    auto store = BlobStore::Open(dir_.string(), /*max_bytes=*/64);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  absl::StatusOr<StoredBlob> Upload(const std::vector<std::string>& chunks,
                                    absl::string_view expected = "") {
    auto upload = store_->BeginUpload();
    if (!upload.ok()) return upload.status();
    for (const std::string& chunk : chunks) {
      if (absl::Status status = (*upload)->Append(chunk); !status.ok()) return status;
    }
    return (*upload)->Finish(expected);
  }

  size_t FilesUnder(const std::string& sub) {
    size_t count = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ / sub)) {
      count += entry.is_regular_file();
    }
    return count;
  }

  std::filesystem::path dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, StoresChunkedUploadsByTheirSha256) {
  auto info = Upload({"hello", " ", "world"}, kHelloSha);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->sha256, kHelloSha);
  EXPECT_EQ(info->size, 11);
  EXPECT_FALSE(info->already_stored);
  auto path = store_->PathOf(kHelloSha);
  ASSERT_TRUE(path.ok());
  std::ifstream in(*path);
  std::stringstream contents;
  contents << in.rdbuf();
  EXPECT_EQ(contents.str(), "hello world");
  EXPECT_EQ(FilesUnder("tmp"), 0u);
}

TEST_F(BlobStoreTest, TheSameBytesAreStoredOnce) {
  ASSERT_TRUE(Upload({"hello world"}).ok());
  auto again = Upload({"hello wor", "ld"});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_stored);
  EXPECT_EQ(FilesUnder("blobs"), 1u);
}

TEST_F(BlobStoreTest, RejectsCorruptedAndOversizeUploadsLeavingNothing) {
  const std::string wrong(64, 'a');
  EXPECT_THAT(Upload({"hello world"}, wrong).status().message(), HasSubstr("upload corrupted"));
  auto oversize = Upload({std::string(40, 'x'), std::string(40, 'y')});
  EXPECT_EQ(oversize.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(store_->Contains(wrong));
  EXPECT_EQ(FilesUnder("blobs"), 0u);
  EXPECT_EQ(FilesUnder("tmp"), 0u);
}

TEST_F(BlobStoreTest, LooksUpOnlyWellFormedDigests) {
  EXPECT_EQ(store_->PathOf("../../etc/passwd").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PathOf(kHelloSha).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(IsSha256Hex("xyz"));
  EXPECT_TRUE(IsSha256Hex(kHelloSha));
}

}  // namespace
}  // namespace affsig::store
