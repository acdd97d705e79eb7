#include "server/datasets/batch_stream.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace affsig::datasets {
namespace {

using ::testing::HasSubstr;

// Sample i is a 1-element tensor holding i; samples from `bad` on fail to read.
class CountingDataset final : public SampleDataset {
 public:
  explicit CountingDataset(int64_t size, int64_t bad = -1) : size_(size), bad_(bad) {}
  int64_t size() const override { return size_; }
  absl::StatusOr<at::Tensor> Read(int64_t index) const override {
    if (bad_ >= 0 && index >= bad_) {
      return absl::InvalidArgumentError(
          absl::StrCat("image 'x/", index, ".png': not a readable PNG"));
    }
    return at::full({1}, static_cast<float>(index));
  }

 private:
  int64_t size_, bad_;
};

DataSpec Batches(int64_t batch_size, int64_t batches = 0,
                 std::optional<uint64_t> seed = std::nullopt) {
  DataSpec spec;
  spec.kind = DataKind::kRandom;
  spec.batching.batch_size = batch_size;
  spec.batching.batches = batches;
  spec.batching.shuffle_seed = seed;
  return spec;
}

std::vector<std::vector<int>> Drain(BatchStream& stream) {
  std::vector<std::vector<int>> batches;
  while (true) {
    auto batch = stream.Next();
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok() || !batch->has_value()) break;
    std::vector<int> values;
    for (int64_t i = 0; i < (*batch)->size(0); ++i) values.push_back((**batch)[i][0].item<int>());
    batches.push_back(values);
  }
  return batches;
}

TEST(BatchStreamTest, FullBatchesInStoredOrderDropTheLastPartialOne) {
  auto stream = BatchStream::Start(std::make_unique<CountingDataset>(10), Batches(3));
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ((*stream)->batch_count(), 3);
  EXPECT_EQ(Drain(**stream), (std::vector<std::vector<int>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}));
  auto all = BatchStream::Start(std::make_unique<CountingDataset>(4), Batches(0));
  EXPECT_EQ(Drain(**all), (std::vector<std::vector<int>>{{0, 1, 2, 3}}));
  auto two = BatchStream::Start(std::make_unique<CountingDataset>(10), Batches(3, 2));
  EXPECT_EQ((*two)->batch_count(), 2);
  EXPECT_EQ(Drain(**two).size(), 2u);
}

TEST(BatchStreamTest, ASeedShufflesTheSameWayEveryTime) {
  auto first = BatchStream::Start(std::make_unique<CountingDataset>(12), Batches(4, 0, 42));
  auto again = BatchStream::Start(std::make_unique<CountingDataset>(12), Batches(4, 0, 42));
  auto other = BatchStream::Start(std::make_unique<CountingDataset>(12), Batches(4, 0, 43));
  const auto batches = Drain(**first);
  EXPECT_EQ(batches, Drain(**again));
  EXPECT_NE(batches, Drain(**other));
  std::set<int> seen;
  for (const auto& batch : batches) seen.insert(batch.begin(), batch.end());
  EXPECT_EQ(seen.size(), 12u);  // a permutation: every sample once
  EXPECT_NE(batches.front(), (std::vector<int>{0, 1, 2, 3}));
}

TEST(BatchStreamTest, TooFewSamplesAndUnreadableSamplesAreClearErrors) {
  EXPECT_THAT(
      BatchStream::Start(std::make_unique<CountingDataset>(2), Batches(3)).status().message(),
      HasSubstr("fewer than one batch of 3"));
  EXPECT_THAT(
      BatchStream::Start(std::make_unique<CountingDataset>(10), Batches(3, 4)).status().message(),
      HasSubstr("asked for 4 batches of 3 but the data holds 10 samples: 3 batches"));
  EXPECT_THAT(
      BatchStream::Start(std::make_unique<CountingDataset>(0), Batches(0)).status().message(),
      HasSubstr("no samples"));
  auto stream = BatchStream::Start(std::make_unique<CountingDataset>(9, 7), Batches(3));
  ASSERT_TRUE(stream.ok());
  EXPECT_TRUE((*stream)->Next().ok());
  EXPECT_TRUE((*stream)->Next().ok());
  auto failed = (*stream)->Next();
  EXPECT_THAT(failed.status().message(), HasSubstr("x/7.png"));
  EXPECT_FALSE((*stream)->Next()->has_value());  // and nothing after it
}

// Several threads read a batch's samples: the same batches, and the same first error, as one.
TEST(BatchStreamTest, DecodeThreadsMakeTheSameBatchesAndReportTheFirstBadSample) {
  for (int threads : {2, 3, 8}) {
    SCOPED_TRACE(threads);
    StreamOptions options;
    options.decode_threads = threads;
    auto one = BatchStream::Start(std::make_unique<CountingDataset>(50), Batches(7, 0, 5));
    auto many =
        BatchStream::Start(std::make_unique<CountingDataset>(50), Batches(7, 0, 5), options);
    ASSERT_TRUE(one.ok() && many.ok());
    EXPECT_EQ(Drain(**many), Drain(**one));

    auto failing = BatchStream::Start(std::make_unique<CountingDataset>(9, 4), Batches(9), options);
    ASSERT_TRUE(failing.ok());
    EXPECT_THAT((*failing)->Next().status().message(), HasSubstr("x/4.png"));
  }
}

// Records which threads read each sample, each read taking a little while.
class ThreadRecordingDataset final : public SampleDataset {
 public:
  explicit ThreadRecordingDataset(int64_t size) : size_(size) {}
  int64_t size() const override { return size_; }
  absl::StatusOr<at::Tensor> Read(int64_t index) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    absl::MutexLock lock(&mutex_);
    readers_[index] = std::this_thread::get_id();
    return at::full({1}, static_cast<float>(index));
  }
  // The threads that read samples [first, first + count).
  size_t ThreadsReading(int64_t first, int64_t count) const {
    absl::MutexLock lock(&mutex_);
    std::set<std::thread::id> threads;
    for (int64_t i = first; i < first + count; ++i) threads.insert(readers_.at(i));
    return threads.size();
  }

 private:
  int64_t size_;
  mutable absl::Mutex mutex_;
  mutable std::map<int64_t, std::thread::id> readers_ ABSL_GUARDED_BY(mutex_);
};

TEST(BatchStreamTest, EveryCoreDecodesTheFirstBatchAndDecodeThreadsTheOnesMadeAhead) {
  auto dataset = std::make_unique<ThreadRecordingDataset>(36);
  const ThreadRecordingDataset& readers = *dataset;
  StreamOptions options;
  options.prefetch = 1;
  options.decode_threads = 1;
  options.waiting_decode_threads = 3;
  auto stream = BatchStream::Start(std::move(dataset), Batches(12, 2), options);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Next().ok());
  // The second batch is made while the consumer is busy with the first (not waiting in Next).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE((*stream)->Next().ok());
  EXPECT_EQ(readers.ThreadsReading(0, 12), 3u);
  EXPECT_EQ(readers.ThreadsReading(12, 12), 1u);
}

}  // namespace
}  // namespace affsig::datasets
