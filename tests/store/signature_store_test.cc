#include "server/store/signature_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include <sqlite3.h>

#include "server/store/job_queue.h"
#include "tests/scratch_dir.h"

namespace affsig::store {
namespace {

using ::testing::ElementsAre;

class SignatureStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (testing::FreshScratchDir() / "affsig.db").string();
    queue_ = *JobQueue::Open(path_);
    store_ = *SignatureStore::Open(path_);
  }

  // Submits, runs and completes a job with entries of these scores (NaN: a non-finite entry).
  std::string Succeeded(const std::string& name, const std::string& arch,
                        const std::vector<double>& scores) {
    JobSpec spec;
    spec.name = name;
    spec.model_sha256 = "model-" + arch;
    spec.data.location = "input";  // an upload (DataKind::kUpload)
    spec.labels = {{"arch", arch}};
    const std::string id = queue_->Submit(spec)->id;
    auto claimed = queue_->Claim({"worker", "cpu", false});
    EXPECT_TRUE(claimed.ok() && claimed->has_value());
    if (!claimed.ok() || !claimed->has_value()) return id;
    EXPECT_EQ((*claimed)->job.id, id);
    Signature signature;
    for (double score : scores) {
      SignatureEntry entry;
      entry.index = static_cast<int64_t>(signature.size());
      entry.module = "act" + std::to_string(entry.index);
      entry.op = "ReLU";
      if (std::isnan(score)) {
        entry.status = EntryStatus::kNonFinite;
      } else {
        entry.score = score;
      }
      signature.push_back(entry);
    }
    EXPECT_TRUE(queue_->Complete((*claimed)->attempt.lease_id, signature).ok());
    return id;
  }

  std::string path_;
  std::unique_ptr<JobQueue> queue_;
  std::unique_ptr<SignatureStore> store_;
};

TEST_F(SignatureStoreTest, GetsEntriesInOrderWithASummary) {
  const std::string id = Succeeded("a", "resnet18", {0.5, std::nan(""), 0.9, 0.7});
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->job.id, id);
  ASSERT_EQ(stored->entries.size(), 4u);
  EXPECT_EQ(stored->entries[1].status, EntryStatus::kNonFinite);
  EXPECT_EQ(stored->entries[3].module, "act3");
  ASSERT_TRUE(stored->job.summary.has_value());
  const SignatureSummary& summary = *stored->job.summary;
  EXPECT_EQ(summary.entries, 4);
  EXPECT_EQ(summary.scored, 3);
  EXPECT_NEAR(summary.mean_score, 0.7, 1e-12);
  EXPECT_DOUBLE_EQ(summary.median_score, 0.7);
  EXPECT_NEAR(summary.std_score, std::sqrt(0.08 / 3), 1e-12);
  EXPECT_DOUBLE_EQ(summary.min_score, 0.5);
  EXPECT_DOUBLE_EQ(summary.max_score, 0.9);
  EXPECT_DOUBLE_EQ(summary.lowest_score_depth, 0.0);  // entry 0 of 0..3
  EXPECT_EQ(store_->Get("job-none").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SignatureStoreTest, ListsOnlySucceededJobsByLabelModelAndTime) {
  const std::string first = Succeeded("a", "resnet18", {0.5});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int64_t between = NowMs();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string second = Succeeded("b", "resnet18", {0.6, 0.8});
  const std::string vgg = Succeeded("c", "vgg11", {0.9});
  JobSpec queued;
  queued.model_sha256 = "model-resnet18";
  queued.labels = {{"arch", "resnet18"}};
  ASSERT_TRUE(queue_->Submit(queued).ok());

  JobFilter resnets;
  resnets.labels = {{"arch", "resnet18"}};
  auto listed = store_->List(resnets, /*with_entries=*/false, {});
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> ids;
  for (const StoredSignature& signature : listed->items) {
    ids.push_back(signature.job.id);
    EXPECT_TRUE(signature.entries.empty());
  }
  EXPECT_THAT(ids, ElementsAre(second, first));
  EXPECT_NEAR(listed->items[0].job.summary->mean_score, 0.7, 1e-12);

  resnets.created_after_ms = between;
  auto recent = store_->List(resnets, /*with_entries=*/true, {});
  ASSERT_EQ(recent->items.size(), 1u);
  EXPECT_EQ(recent->items[0].job.id, second);
  EXPECT_EQ(recent->items[0].entries.size(), 2u);

  JobFilter before;
  before.created_before_ms = between;
  ASSERT_EQ(store_->List(before, false, {})->items.size(), 1u);
  JobFilter by_model;
  by_model.model_sha256 = "model-vgg11";
  ASSERT_EQ(store_->List(by_model, false, {})->items.size(), 1u);
  EXPECT_EQ(store_->List(by_model, false, {})->items[0].job.id, vgg);

  auto page = store_->List({}, false, {2, ""});
  ASSERT_EQ(page->items.size(), 2u);
  auto rest = store_->List({}, false, {2, page->next_page_token});
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].job.id, first);
  EXPECT_TRUE(rest->next_page_token.empty());
}

TEST_F(SignatureStoreTest, ASignatureWithNothingScoredHasASummaryWithoutStatistics) {
  const std::string id = Succeeded("none", "resnet18", {std::nan(""), std::nan("")});
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->job.summary.has_value());
  EXPECT_EQ(stored->job.summary->entries, 2);
  EXPECT_EQ(stored->job.summary->scored, 0);
  EXPECT_TRUE(std::isnan(stored->job.summary->mean_score));
  EXPECT_TRUE(std::isnan(stored->job.summary->lowest_score_depth));
}

// Jobs that succeeded before the server stored summaries (migration 7) get theirs when the
// store opens, computed from their stored entries.
TEST_F(SignatureStoreTest, JobsThatSucceededBeforeSummariesGetThemWhenTheQueueOpens) {
  const std::string id = Succeeded("old", "resnet18", {0.9, 0.2, 0.4});
  queue_.reset();
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM signature_summaries", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  store_ = *SignatureStore::Open(path_);
  EXPECT_FALSE(store_->Get(id)->job.summary.has_value());

  queue_ = *JobQueue::Open(path_);
  EXPECT_EQ(queue_->recovery().summarized, 1);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok() && stored->job.summary.has_value());
  EXPECT_EQ(stored->job.summary->scored, 3);
  EXPECT_DOUBLE_EQ(stored->job.summary->median_score, 0.4);
  EXPECT_DOUBLE_EQ(stored->job.summary->lowest_score_depth, 0.5);
  queue_ = *JobQueue::Open(path_);
  EXPECT_EQ(queue_->recovery().summarized, 0);
}

TEST_F(SignatureStoreTest, KeepsTheMeasuresAJobAskedForAndNoneForAJobWithout) {
  JobSpec spec;
  spec.model_sha256 = "model";
  spec.data.location = "input";
  spec.measures.cka = true;
  spec.measures.sparsity = true;
  const std::string id = queue_->Submit(spec)->id;
  auto claimed = queue_->Claim({"worker", "cpu", false});
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  const double nan = std::nan("");
  Signature signature(3);
  for (int64_t i = 0; i < 3; ++i) {
    signature[i].index = i;
    signature[i].module = "act" + std::to_string(i);
    signature[i].score = 0.5;
  }
  signature[0].measures = {{Measure::kCka, 0.75, 0.125},
                           {Measure::kSparsityBefore, 0.0, 0.0},
                           {Measure::kSparsityAfter, 0.5, 0.25}};
  signature[1].status = EntryStatus::kNonFinite;  // unscored: no measures
  signature[2].measures = {{Measure::kCka, nan, nan},
                           {Measure::kSparsityBefore, 0.25, 0.0},
                           {Measure::kSparsityAfter, 0.75, 0.0}};
  ASSERT_TRUE(queue_->Complete((*claimed)->attempt.lease_id, signature).ok());
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_THAT(MeasureSelectionNames(stored->job.spec.measures), ElementsAre("cka", "sparsity"));
  ASSERT_EQ(stored->entries.size(), 3u);
  for (size_t i : {0, 2}) {
    const std::vector<MeasureValue>& measures = stored->entries[i].measures;
    ASSERT_EQ(measures.size(), 3u) << i;
    for (size_t m = 0; m < 3; ++m) {
      const MeasureValue& expected = signature[i].measures[m];
      EXPECT_EQ(measures[m].measure, expected.measure);
      EXPECT_EQ(std::isnan(measures[m].mean), std::isnan(expected.mean));
      if (!std::isnan(expected.mean)) EXPECT_EQ(measures[m].mean, expected.mean);
      EXPECT_EQ(std::isnan(measures[m].std), std::isnan(expected.std));
    }
  }
  EXPECT_TRUE(stored->entries[1].measures.empty());

  const std::string plain = Succeeded("plain", "resnet18", {0.5, 0.6});
  auto without = store_->Get(plain);
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->job.spec.measures.any());
  for (const SignatureEntry& entry : without->entries) EXPECT_TRUE(entry.measures.empty());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM entry_measures WHERE job_id = ?", -1,
                               &count, nullptr),
            SQLITE_OK);
  sqlite3_bind_text(count, 1, plain.c_str(), -1, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(count, 0), 0);
  sqlite3_finalize(count);
  sqlite3_close(db);
}

}  // namespace
}  // namespace affsig::store
