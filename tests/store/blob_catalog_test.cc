#include "server/store/blob_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/store/job_queue.h"
#include "tests/scratch_dir.h"

namespace affsig::store {
namespace {

using ::testing::HasSubstr;

std::string Digest(char c) { return std::string(64, c); }

TEST(BlobCatalogTest, RecordsOncePerContentAndKindWithJobCounts) {
  const std::string path = (testing::FreshScratchDir() / "affsig.db").string();
  auto catalog = BlobCatalog::Open(path);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  ASSERT_TRUE((*catalog)->Record(Digest('a'), BlobKind::kModel, 100, "resnet18.pt", "alice").ok());
  ASSERT_TRUE((*catalog)->Record(Digest('a'), BlobKind::kModel, 100, "again.pt", "alice").ok());
  ASSERT_TRUE((*catalog)->Record(Digest('b'), BlobKind::kModel, 200, "vgg.pt", "alice").ok());
  ASSERT_TRUE((*catalog)->Record(Digest('c'), BlobKind::kInput, 300, "batch.npy", "alice").ok());

  auto queue = JobQueue::Open(path);
  JobSpec spec;
  spec.model_sha256 = Digest('a');
  spec.data.location = Digest('c');  // an upload (DataKind::kUpload)
  ASSERT_TRUE((*queue)->Submit(spec).ok());
  ASSERT_TRUE((*queue)->Submit(spec).ok());

  auto model = (*catalog)->Get(Digest('a'), BlobKind::kModel);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->name, "resnet18.pt");  // the first name stays
  EXPECT_EQ(model->size, 100);
  EXPECT_EQ(model->job_count, 2);
  EXPECT_GT(model->uploaded_at_ms, 0);
  EXPECT_EQ((*catalog)->Get(Digest('c'), BlobKind::kModel).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*catalog)->Get(Digest('c'), BlobKind::kInput)->job_count, 2);

  auto first = (*catalog)->List(BlobKind::kModel, {1, ""});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->items.size(), 1u);
  EXPECT_EQ(first->items[0].name, "vgg.pt");  // newest first
  auto second = (*catalog)->List(BlobKind::kModel, {1, first->next_page_token});
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].name, "resnet18.pt");
  EXPECT_TRUE(second->next_page_token.empty());
  EXPECT_THAT((*catalog)->List(BlobKind::kInput, {1, first->next_page_token}).status().message(),
              HasSubstr("other filters"));
}

TEST(BlobCatalogTest, TheMigrationCatalogsTheBlobsOfEarlierJobs) {
  const std::string path = (testing::FreshScratchDir() / "affsig.db").string();
  {
    // A database as the first schema left it, with one job.
    auto db = Database::Open(path, {BuiltInMigrations().front()});
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_EQ((*db)->SchemaVersion(), 1);
    ASSERT_TRUE((*db)
                    ->Execute(absl::StrCat(
                        "INSERT INTO jobs (id, seq, model_sha256, input_sha256, "
                        "activations, state, created_at) VALUES ('job-old', 1, '",
                        Digest('d'), "', '", Digest('e'), "', 'modules', 'SUCCEEDED', 1000)"))
                    .ok());
  }
  auto catalog = BlobCatalog::Open(path);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  auto model = (*catalog)->Get(Digest('d'), BlobKind::kModel);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE(model->size.has_value());
  EXPECT_EQ(model->uploaded_at_ms, 1000);
  EXPECT_EQ(model->job_count, 1);
  // Uploaded again: the size is learnt, the first time stays.
  ASSERT_TRUE((*catalog)->Record(Digest('d'), BlobKind::kModel, 42, "old.pt", "alice").ok());
  model = (*catalog)->Get(Digest('d'), BlobKind::kModel);
  EXPECT_EQ(model->size, 42);
  EXPECT_EQ(model->name, "old.pt");
  EXPECT_EQ(model->uploaded_at_ms, 1000);
}

// A user's stored bytes: the blobs they uploaded first, each file once.
TEST(BlobCatalogTest, BytesOwnedCountTheBlobsAUserUploadedFirstOnce) {
  auto catalog = BlobCatalog::Open((testing::FreshScratchDir() / "affsig.db").string());
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  ASSERT_TRUE((*catalog)->Record(Digest('a'), BlobKind::kModel, 100, "m.pt", "alice").ok());
  ASSERT_TRUE((*catalog)->Record(Digest('a'), BlobKind::kInput, 100, "m.pt", "alice").ok());
  ASSERT_TRUE((*catalog)->Record(Digest('b'), BlobKind::kInput, 200, "x.npy", "alice").ok());
  ASSERT_TRUE((*catalog)->Record(Digest('b'), BlobKind::kInput, 200, "x.npy", "bob").ok());
  ASSERT_TRUE((*catalog)->Record(Digest('c'), BlobKind::kInput, 300, "y.npy", "bob").ok());
  EXPECT_EQ(*(*catalog)->BytesOwnedBy("alice"), 300);
  EXPECT_EQ(*(*catalog)->BytesOwnedBy("bob"), 300);
  EXPECT_EQ(*(*catalog)->BytesOwnedBy("carol"), 0);
}

}  // namespace
}  // namespace affsig::store
