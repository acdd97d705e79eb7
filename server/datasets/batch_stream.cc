#include "server/datasets/batch_stream.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "server/datasets/preprocessing.h"

namespace affsig::datasets {

absl::StatusOr<std::unique_ptr<BatchStream>> BatchStream::Start(
    std::unique_ptr<SampleDataset> dataset, const DataSpec& spec, const StreamOptions& options) {
  const int64_t samples = dataset->size();
  const int64_t batch_size = spec.batching.batch_size > 0 ? spec.batching.batch_size : samples;
  const int64_t full_batches = batch_size > 0 ? samples / batch_size : 0;
  if (samples == 0) return absl::InvalidArgumentError("the data holds no samples");
  if (full_batches == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the data holds ", samples, " samples, fewer than one batch of ", batch_size));
  }
  const int64_t asked = spec.batching.batches;
  if (asked > full_batches) {
    return absl::InvalidArgumentError(absl::StrCat("asked for ", asked, " batches of ", batch_size,
                                                   " but the data holds ", samples,
                                                   " samples: ", full_batches, " batches"));
  }
  std::vector<int64_t> order(static_cast<size_t>(samples));
  std::iota(order.begin(), order.end(), 0);
  if (spec.batching.shuffle_seed) {
    // Fisher-Yates with a fixed generator: the same seed gives the same order everywhere.
    std::mt19937_64 random(*spec.batching.shuffle_seed);
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[random() % (i + 1)]);
  }
  return std::unique_ptr<BatchStream>(new BatchStream(std::move(dataset), spec, std::move(order),
                                                      batch_size, asked > 0 ? asked : full_batches,
                                                      options));
}

BatchStream::BatchStream(std::unique_ptr<SampleDataset> dataset, const DataSpec& spec,
                         std::vector<int64_t> order, int64_t batch_size, int64_t batch_count,
                         const StreamOptions& options)
    : dataset_(std::move(dataset)),
      preprocessing_(spec.preprocessing),
      order_(std::move(order)),
      batch_size_(batch_size),
      batch_count_(batch_count),
      prefetch_(static_cast<size_t>(std::max(options.prefetch, 1))),
      decode_threads_(std::max(options.decode_threads, 1)),
      waiting_decode_threads_(options.waiting_decode_threads > 0 ? options.waiting_decode_threads
                                                                 : decode_threads_),
      pinned_memory_(options.pinned_memory) {
  producer_ = std::thread([this] { Produce(); });
}

BatchStream::~BatchStream() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  producer_.join();
}

absl::StatusOr<at::Tensor> BatchStream::MakeSample(int64_t index) const {
  ASSIGN_OR_RETURN(auto sample, dataset_->Read(index));
  auto prepared = Preprocess(sample, preprocessing_);
  if (!prepared.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample ", index, ": ", prepared.status().message()));
  }
  return prepared;
}

absl::StatusOr<at::Tensor> BatchStream::MakeBatch(int64_t batch, int threads) {
  const auto* first = order_.data() + batch * batch_size_;
  std::vector<absl::StatusOr<at::Tensor>> made(static_cast<size_t>(batch_size_),
                                               absl::UnknownError("not made"));
  // The threads take samples in turn; each writes only its own slots.
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < batch_size_; i = next++) made[i] = MakeSample(first[i]);
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < std::min<int64_t>(threads, batch_size_); ++t) helpers.emplace_back(work);
  work();
  for (std::thread& helper : helpers) helper.join();

  // Errors in sample order, as a single thread would meet them.
  std::vector<at::Tensor> samples;
  samples.reserve(made.size());
  for (int64_t i = 0; i < batch_size_; ++i) {
    RETURN_IF_ERROR(made[i].status());
    const at::Tensor& prepared = *made[i];
    if (!samples.empty() && !prepared.sizes().equals(samples.front().sizes())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sample ", first[i], " has shape (", absl::StrJoin(prepared.sizes(), ", "),
          ") but the batch's first has (", absl::StrJoin(samples.front().sizes(), ", "),
          "): resize and crop them to one size"));
    }
    samples.push_back(prepared);
  }
  if (!pinned_memory_) return at::stack(samples);
  std::vector<int64_t> shape = {batch_size_};
  for (int64_t size : samples.front().sizes()) shape.push_back(size);
  at::Tensor pinned = at::empty(shape, samples.front().options().pinned_memory(true));
  at::stack_out(pinned, samples);
  return pinned;
}

void BatchStream::Produce() {
  for (int64_t batch = 0; batch < batch_count_; ++batch) {
    int threads = decode_threads_;
    {
      absl::MutexLock lock(&mutex_);
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || ready_.size() < prefetch_;
      };
      mutex_.Await(absl::Condition(&room));
      if (stopping_) return;
      if (batch == 0 || (consumer_waiting_ && ready_.empty())) threads = waiting_decode_threads_;
    }
    absl::StatusOr<at::Tensor> made = MakeBatch(batch, threads);
    const bool failed = !made.ok();
    absl::MutexLock lock(&mutex_);
    ready_.push_back(std::move(made));
    if (failed) return;  // the consumer gets the error in order and stops there
  }
}

absl::StatusOr<std::optional<at::Tensor>> BatchStream::Next() {
  if (taken_ == batch_count_) return std::optional<at::Tensor>();
  absl::MutexLock lock(&mutex_);
  auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return !ready_.empty(); };
  consumer_waiting_ = true;
  mutex_.Await(absl::Condition(&available));
  consumer_waiting_ = false;
  absl::StatusOr<at::Tensor> batch = std::move(ready_.front());
  ready_.pop_front();
  ++taken_;
  if (!batch.ok()) {
    taken_ = batch_count_;
    return batch.status();
  }
  return std::optional<at::Tensor>(*std::move(batch));
}

}  // namespace affsig::datasets
