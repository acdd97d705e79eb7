#include "server/datasets/tensor_datasets.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/datasets/positional_file.h"
#include "server/datasets/torch_saved_tensor.h"
#include "server/engine/npy_tensor.h"

namespace affsig::datasets {
namespace {

class NpyDataset final : public SampleDataset {
 public:
  NpyDataset(std::unique_ptr<PositionalFile> file, std::string name, NpyHeader header)
      : file_(std::move(file)), name_(std::move(name)), header_(std::move(header)) {
    sample_shape_.assign(header_.shape.begin() + 1, header_.shape.end());
    sample_bytes_ = header_.shape[0] == 0 ? 0 : header_.data_bytes / header_.shape[0];
  }

  int64_t size() const override { return header_.shape[0]; }

  absl::StatusOr<at::Tensor> Read(int64_t index) const override {
    NpyArray sample;
    sample.dtype = header_.dtype;
    sample.shape = sample_shape_;
    sample.data.resize(static_cast<size_t>(sample_bytes_));
    if (!file_->ReadAt(header_.data_offset + index * sample_bytes_, sample.data.data(),
                       sample_bytes_)) {
      return absl::DataLossError(absl::StrCat(name_, ": cannot read sample ", index));
    }
    ASSIGN_OR_RETURN(auto tensor, engine::TensorFromNpy(sample));
    return tensor.to(at::kFloat);
  }

 private:
  std::unique_ptr<PositionalFile> file_;
  std::string name_;
  NpyHeader header_;
  std::vector<int64_t> sample_shape_;
  int64_t sample_bytes_ = 0;
};

class InMemoryDataset final : public SampleDataset {
 public:
  explicit InMemoryDataset(at::Tensor samples) : samples_(std::move(samples)) {}
  int64_t size() const override { return samples_.size(0); }
  absl::StatusOr<at::Tensor> Read(int64_t index) const override { return samples_[index]; }

 private:
  at::Tensor samples_;
};

class RandomDataset final : public SampleDataset {
 public:
  explicit RandomDataset(RandomSamples random) : random_(std::move(random)) {}
  int64_t size() const override { return random_.count; }
  absl::StatusOr<at::Tensor> Read(int64_t index) const override {
    // One generator per sample: sample i does not depend on which samples were drawn before.
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(
        random_.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(index));
    return at::normal(random_.mean, random_.std, random_.shape, generator);
  }

 private:
  RandomSamples random_;
};

absl::Status CheckSamples(const std::string& name, const std::vector<int64_t>& shape) {
  if (shape.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": a 0-d array has no samples; the first dimension counts samples"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SampleDataset>> OpenNpyDataset(const std::string& path,
                                                              const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(name, ": cannot be read"));
  std::string prefix(1 << 16, '\0');
  in.read(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  prefix.resize(static_cast<size_t>(in.gcount()));
  auto header = ParseNpyHeader(prefix);
  if (!header.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", header.status().message()));
  }
  const auto file_size = static_cast<int64_t>(std::filesystem::file_size(path));
  if (absl::Status size = CheckNpyDataSize(*header, file_size); !size.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", size.message()));
  }
  RETURN_IF_ERROR(CheckSamples(name, header->shape));
  auto file = PositionalFile::Open(path);
  if (!file.ok()) return absl::NotFoundError(absl::StrCat(name, ": cannot be read"));
  return std::make_unique<NpyDataset>(*std::move(file), name, *std::move(header));
}

absl::StatusOr<std::unique_ptr<SampleDataset>> OpenTensorFileDataset(const std::string& path,
                                                                     const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(name, ": cannot be read"));
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto tensor = ReadTorchSavedTensor(bytes);
  if (!tensor.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": neither a .npy file nor a torch.save'd tensor: ", tensor.status().message()));
  }
  std::vector<int64_t> shape(tensor->sizes().begin(), tensor->sizes().end());
  RETURN_IF_ERROR(CheckSamples(name, shape));
  return std::make_unique<InMemoryDataset>(tensor->to(at::kFloat));
}

std::unique_ptr<SampleDataset> MakeRandomDataset(const RandomSamples& random) {
  return std::make_unique<RandomDataset>(random);
}

}  // namespace affsig::datasets
