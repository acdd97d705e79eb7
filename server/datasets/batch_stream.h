// Batches of preprocessed samples, made on a thread ahead of the model: at most `prefetch`
// batches wait, so memory stays bounded by a few batches whatever the dataset's size. Batches hold
// `batch_size` samples in stored or seeded-shuffled order; a last partial batch is dropped, as
// the paper does. A batch's samples are read, decoded and preprocessed by `decode_threads`
// threads: each sample is made alone, so the batch is the same bit for bit whatever their number.
#ifndef AFFSIG_SERVER_DATASETS_BATCH_STREAM_H_
#define AFFSIG_SERVER_DATASETS_BATCH_STREAM_H_

#include <ATen/Tensor.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/data_spec.h"
#include "server/datasets/sample_dataset.h"

namespace affsig::datasets {

struct StreamOptions {
  int prefetch = 2;        // batches made ahead of the consumer
  int decode_threads = 1;  // threads that read and preprocess one batch's samples
  // Threads for a batch the consumer waits for: the first, or one its forward pass has caught
  // up with. Nothing else runs then, so every core may decode (0: decode_threads).
  int waiting_decode_threads = 0;
  // Batches in page-locked memory, for a CUDA device: the copy to it can then run without
  // blocking the host and at the bus's full speed. Needs a LibTorch that sees CUDA.
  bool pinned_memory = false;
};

class BatchStream {
 public:
  // INVALID_ARGUMENT when the source holds fewer samples than one batch, or than the batches
  // asked for.
  static absl::StatusOr<std::unique_ptr<BatchStream>> Start(std::unique_ptr<SampleDataset> dataset,
                                                            const DataSpec& spec,
                                                            const StreamOptions& options = {});
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  int64_t batch_count() const { return batch_count_; }
  int64_t batch_size() const { return batch_size_; }

  // The next batch (batch_size x sample shape, float32 on the CPU); nullopt after the last. An
  // error (an unreadable image, samples of different shapes) names the sample's source.
  absl::StatusOr<std::optional<at::Tensor>> Next();

 private:
  BatchStream(std::unique_ptr<SampleDataset> dataset, const DataSpec& spec,
              std::vector<int64_t> order, int64_t batch_size, int64_t batch_count,
              const StreamOptions& options);
  void Produce();
  absl::StatusOr<at::Tensor> MakeBatch(int64_t batch, int threads);
  // Sample `index` read and preprocessed; errors name it.
  absl::StatusOr<at::Tensor> MakeSample(int64_t index) const;

  std::unique_ptr<SampleDataset> dataset_;
  Preprocessing preprocessing_;
  std::vector<int64_t> order_;
  int64_t batch_size_ = 0;
  int64_t batch_count_ = 0;
  size_t prefetch_ = 2;
  int decode_threads_ = 1;
  int waiting_decode_threads_ = 1;
  bool pinned_memory_ = false;
  int64_t taken_ = 0;

  absl::Mutex mutex_;
  std::deque<absl::StatusOr<at::Tensor>> ready_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool consumer_waiting_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread producer_;
};

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_BATCH_STREAM_H_
