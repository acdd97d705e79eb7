#include "server/store/job_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "server/store/signature_store.h"
#include "tests/scratch_dir.h"

namespace affsig::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

class JobQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshScratchDir();
    path_ = (dir_ / "affsig.db").string();
  }

  std::unique_ptr<JobQueue> OpenQueue() {
    auto queue = JobQueue::Open(path_);
    EXPECT_TRUE(queue.ok()) << queue.status();
    return queue.ok() ? *std::move(queue) : nullptr;
  }

  static JobSpec Spec(const std::string& name, int64_t priority = 0) {
    JobSpec spec;
    spec.name = name;
    spec.model_sha256 = "m" + name;
    spec.input_sha256 = "i" + name;
    spec.priority = priority;
    return spec;
  }

  static Signature TwoEntries() {
    return {{0, "layer1.relu", 0, "ReLU", 64, 32, 0.75, EntryStatus::kOk, ""},
            {1, "", 0, "softmax", 10, 32, 0.0, EntryStatus::kNonFinite, "the output holds NaN"}};
  }

  Signature Entries(const std::string& id) {
    auto signatures = SignatureStore::Open(path_);
    EXPECT_TRUE(signatures.ok()) << signatures.status();
    auto stored = (*signatures)->Get(id);
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? stored->entries : Signature();
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(JobQueueTest, SubmittedJobIsQueuedWithItsSpecAndLabels) {
  auto queue = OpenQueue();
  JobSpec spec = Spec("a");
  spec.activations = "all";
  spec.labels = {{"arch", "resnet18"}, {"acc1", "69.8"}};
  auto job = queue->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->attempts, 0);
  EXPECT_GT(job->created_at_ms, 0);
  auto fetched = queue->Get(job->id);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->spec.activations, "all");
  EXPECT_THAT(fetched->spec.labels, ElementsAre(Pair("acc1", "69.8"), Pair("arch", "resnet18")));
  EXPECT_EQ(queue->Get("job-unknown").status().code(), absl::StatusCode::kNotFound);
  spec.activations = "some";
  EXPECT_THAT(queue->Submit(spec).status().message(), HasSubstr("'modules' or 'all'"));
}

TEST_F(JobQueueTest, WorkersTakeJobsByPriorityThenSubmissionOrder) {
  auto queue = OpenQueue();
  const std::string low1 = queue->Submit(Spec("low1"))->id;
  const std::string high = queue->Submit(Spec("high", 5))->id;
  const std::string low2 = queue->Submit(Spec("low2"))->id;
  std::vector<std::string> order;
  while (true) {
    auto next = queue->ClaimNext();
    ASSERT_TRUE(next.ok()) << next.status();
    if (!next->has_value()) break;
    EXPECT_EQ((*next)->state, JobState::kRunning);
    EXPECT_EQ((*next)->attempts, 1);
    order.push_back((*next)->id);
  }
  EXPECT_THAT(order, ElementsAre(high, low1, low2));
}

TEST_F(JobQueueTest, EntriesAndSuccessAreWrittenTogetherAndOnlyOnce) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  EXPECT_EQ(queue->Complete(id, TwoEntries()).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(queue->ClaimNext().ok());
  ASSERT_TRUE(queue->Complete(id, TwoEntries()).ok());
  EXPECT_EQ(queue->Get(id)->state, JobState::kSucceeded);
  // A second completion (a worker that did not know the job had ended) changes nothing.
  EXPECT_THAT(queue->Complete(id, TwoEntries()).message(), HasSubstr("SUCCEEDED, not RUNNING"));
  auto stored = Entries(id);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].module, "layer1.relu");
  EXPECT_DOUBLE_EQ(stored[0].score, 0.75);
  EXPECT_EQ(stored[1].status, EntryStatus::kNonFinite);
  EXPECT_EQ(stored[1].reason, "the output holds NaN");
}

TEST_F(JobQueueTest, JobsLeftRunningByACrashAreRequeuedWithTheirAttempts) {
  std::string running, queued;
  {
    auto queue = OpenQueue();
    running = queue->Submit(Spec("a"))->id;
    queued = queue->Submit(Spec("b"))->id;
    ASSERT_EQ((*queue->ClaimNext())->id, running);
    // The process dies here: the queue is dropped without the job ending.
  }
  auto queue = OpenQueue();
  EXPECT_EQ(queue->requeued_at_open(), 1);
  EXPECT_EQ(queue->Get(running)->state, JobState::kQueued);
  auto again = queue->ClaimNext();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->id, running);
  EXPECT_EQ((*again)->attempts, 2);
  ASSERT_TRUE(queue->Complete(running, TwoEntries()).ok());
  EXPECT_EQ(Entries(running).size(), 2u);
  EXPECT_EQ(queue->Get(queued)->state, JobState::kQueued);
}

TEST_F(JobQueueTest, CancellingQueuedEndsAtOnceAndRunningAsksTheWorker) {
  auto queue = OpenQueue();
  const std::string first = queue->Submit(Spec("a"))->id;
  const std::string second = queue->Submit(Spec("b"))->id;
  ASSERT_EQ((*queue->ClaimNext())->id, first);
  auto cancelled = queue->Cancel(second);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_FALSE(queue->ClaimNext()->has_value());

  EXPECT_FALSE(queue->CancelRequested(first));
  EXPECT_EQ(queue->Cancel(first)->state, JobState::kRunning);
  EXPECT_TRUE(queue->CancelRequested(first));
  ASSERT_TRUE(queue->FinishCancelled(first).ok());
  EXPECT_EQ(queue->Get(first)->state, JobState::kCancelled);
  EXPECT_FALSE(queue->CancelRequested(first));
  EXPECT_THAT(queue->Cancel(first).status().message(), HasSubstr("already ended: CANCELLED"));
  EXPECT_EQ(queue->Cancel("job-none").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobQueueTest, FailedJobKeepsItsError) {
  auto queue = OpenQueue();
  const std::string id = queue->Submit(Spec("a"))->id;
  ASSERT_TRUE(queue->ClaimNext().ok());
  ASSERT_TRUE(queue->Fail(id, "the model's forward failed: bad shape").ok());
  auto job = queue->Get(id);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->error, "the model's forward failed: bad shape");
  EXPECT_GT(job->finished_at_ms, 0);
}

TEST_F(JobQueueTest, ListsNewestFirstByFilterInPagesThatTokensContinue) {
  auto queue = OpenQueue();
  std::vector<std::string> resnets;
  for (int i = 0; i < 7; ++i) {
    JobSpec spec = Spec(i % 2 == 0 ? "even" : "odd");
    spec.labels = {{"arch", i < 5 ? "resnet18" : "vgg11"}, {"seed", std::to_string(i)}};
    const std::string id = queue->Submit(spec)->id;
    if (i < 5) resnets.insert(resnets.begin(), id);  // newest first
  }
  JobFilter filter;
  filter.labels = {*ParseLabelFilter("arch=resnet18"), *ParseLabelFilter("seed")};
  std::vector<std::string> listed;
  PageRequest page{2, ""};
  int pages = 0;
  do {
    auto result = queue->List(filter, page);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_LE(result->items.size(), 2u);
    for (const Job& job : result->items) listed.push_back(job.id);
    page.page_token = result->next_page_token;
    ++pages;
  } while (!page.page_token.empty());
  EXPECT_EQ(listed, resnets);
  EXPECT_EQ(pages, 3);

  filter.name = "even";  // seeds 0, 2, 4 among the resnets
  EXPECT_EQ(queue->List(filter, {})->items.size(), 3u);
  auto first = queue->List(filter, {1, ""});
  ASSERT_FALSE(first->next_page_token.empty());
  filter.name = "odd";  // a token is valid only with the filter it was made for
  auto replayed = queue->List(filter, {1, first->next_page_token});
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(replayed.status().message(), HasSubstr("other filters"));
  EXPECT_EQ(queue->List({}, {1, "garbage"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queue->List({}, {-1, ""}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseLabelFilter("=v").ok());

  ASSERT_TRUE(queue->ClaimNext().ok());
  JobFilter running;
  running.state = JobState::kRunning;
  EXPECT_EQ(queue->List(running, {})->items.size(), 1u);
  auto counts = queue->CountByState();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[JobState::kQueued], 6);
  EXPECT_EQ((*counts)[JobState::kRunning], 1);
}

TEST_F(JobQueueTest, DeletesAnyJobButARunningOneWithItsEntries) {
  auto queue = OpenQueue();
  const std::string done = queue->Submit(Spec("done"))->id;
  const std::string queued = queue->Submit(Spec("queued"))->id;
  ASSERT_EQ((*queue->ClaimNext())->id, done);
  EXPECT_THAT(queue->Delete(done).message(), HasSubstr("cancel it first"));
  ASSERT_TRUE(queue->Complete(done, TwoEntries()).ok());
  ASSERT_TRUE(queue->Delete(done).ok());
  EXPECT_EQ(queue->Get(done).status().code(), absl::StatusCode::kNotFound);
  auto signatures = SignatureStore::Open(path_);
  EXPECT_EQ((*signatures)->Get(done).status().code(), absl::StatusCode::kNotFound);
  auto db = Database::Open(path_);
  auto rows = (*db)->Prepare("SELECT COUNT(*) FROM signature_entries");
  ASSERT_TRUE((*rows)->Step());
  EXPECT_EQ((*rows)->Int(0), 0);
  // A deleted queued job is never taken.
  ASSERT_TRUE(queue->Delete(queued).ok());
  EXPECT_FALSE(queue->ClaimNext()->has_value());
  EXPECT_EQ(queue->Delete(queued).code(), absl::StatusCode::kNotFound);
}

TEST_F(JobQueueTest, MigratesEmptyAndExistingDatabasesAndRefusesNewerOnes) {
  {
    auto db = Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.status();
    EXPECT_EQ((*db)->SchemaVersion(), BuiltInMigrations().back().version);
  }
  {
    auto db = Database::Open(path_);  // already migrated: nothing to do
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Execute("PRAGMA user_version = 999").ok());
  }
  auto newer = Database::Open(path_);
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.status().message(), HasSubstr("schema version 999"));
  EXPECT_THAT(newer.status().message(), HasSubstr("newer affsig-server"));
}

TEST_F(JobQueueTest, AFailingMigrationLeavesTheDatabaseAtItsLastVersion) {
  std::vector<Migration> migrations = BuiltInMigrations();
  migrations.push_back({migrations.back().version + 1, "9999_broken.sql",
                        "CREATE TABLE extra (x INTEGER); THIS IS NOT SQL;"});
  auto db = Database::Open(path_, migrations);
  EXPECT_THAT(db.status().message(), HasSubstr("9999_broken.sql"));
  auto reopened = Database::Open(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->SchemaVersion(), BuiltInMigrations().back().version);
  EXPECT_FALSE((*reopened)->Execute("SELECT x FROM extra").ok());
}

}  // namespace
}  // namespace affsig::store
