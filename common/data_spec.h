// Where a job's samples come from and how they are prepared and batched (the datasets issue):
// an uploaded tensor file, a file or dataset on the server's storage, or random Gaussian samples;
// torchvision-style preprocessing; batches of a given size, in stored or shuffled order.
//
// The source is written as KIND:LOCATION, the syntax of `affsig submit --data`:
//   upload:SHA256                      an uploaded .npy or torch.save'd .pt (what --input makes)
//   server:/path/batch.npy             a .npy or .pt file under one of the server's --data-root
//   random:3x224x224,count=512,seed=0[,mean=0,std=1]   N(mean, std) samples of that shape
//   imagefolder:/path                  root/class/image.{JPEG,jpg,png}, classes sorted by name
//   cifar10:/path  cifar100:/path      the binary version: a file, or a folder of *.bin files
//   mnist:/path                        an IDX image file (MNIST, Fashion-MNIST; gzipped or not), or
//                                      a folder of *-images-idx3-ubyte[.gz] files
#ifndef AFFSIG_COMMON_DATA_SPEC_H_
#define AFFSIG_COMMON_DATA_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig {

enum class DataKind { kUpload, kServerFile, kRandom, kImageFolder, kCifar10, kCifar100, kMnist };

absl::string_view DataKindName(DataKind kind);
// Sources whose samples are images (8-bit pixels): they are scaled to [0, 1] before the rest.
bool IsImageSource(DataKind kind);

struct RandomSamples {
  std::vector<int64_t> shape;  // of one sample
  int64_t count = 0;
  uint64_t seed = 0;
  double mean = 0.0;
  double std = 1.0;
};

// torchvision's ImageClassification steps, each optional: resize the shorter side to `resize`
// (bilinear, antialiased), center-crop to `crop` x `crop`, normalize by `mean` and `std` (one
// value per channel). Unset resize and crop take ApplyDataDefaults' values; 0 turns them off.
struct Preprocessing {
  std::optional<int64_t> resize;
  std::optional<int64_t> crop;
  std::vector<double> mean;
  std::vector<double> std;
  bool grayscale_to_rgb = false;
};

struct Batching {
  int64_t batch_size = 0;  // 0: every sample in one batch
  int64_t batches = 0;     // 0: as many full batches as the source holds (a partial one dropped)
  std::optional<uint64_t> shuffle_seed;  // nullopt: stored order
};

struct DataSpec {
  DataKind kind = DataKind::kUpload;
  std::string location;  // a digest, a server path, or "" for random
  RandomSamples random;
  Preprocessing preprocessing;
  Batching batching;
};

// The KIND:LOCATION syntax above.
absl::StatusOr<DataSpec> ParseDataSource(absl::string_view text);
std::string FormatDataSource(const DataSpec& spec);

// Preprocessing and batching as "key=value,..." (batch_size, batches, shuffle_seed, resize, crop,
// mean=a/b/c, std=a/b/c, grayscale_to_rgb=1), only the keys that differ from the defaults.
std::string FormatDataOptions(const DataSpec& spec);
// Parses the options onto `spec` and checks them (CheckDataOptions).
absl::Status ParseDataOptions(absl::string_view text, DataSpec& spec);
// INVALID_ARGUMENT for a negative size or count, a std that is not positive, or mean and std of
// different lengths.
absl::Status CheckDataOptions(const DataSpec& spec);

// What a job gets when it does not say: image sources (8-bit pixels) are resized to 256,
// center-cropped to 224 and normalized with ImageNet's statistics, as torchvision's
// ImageClassification does; tensor sources are left as they are. Afterwards every step is
// explicit, so that a stored job says exactly what was done.
void ApplyDataDefaults(DataSpec& spec);

// The ImageNet statistics torchvision's ImageClassification normalizes with.
inline const std::vector<double>& ImageNetMean() {
  static const auto* mean = new std::vector<double>{0.485, 0.456, 0.406};
  return *mean;
}
inline const std::vector<double>& ImageNetStd() {
  static const auto* std = new std::vector<double>{0.229, 0.224, 0.225};
  return *std;
}

}  // namespace affsig

#endif  // AFFSIG_COMMON_DATA_SPEC_H_
