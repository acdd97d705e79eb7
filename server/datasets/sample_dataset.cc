#include "server/datasets/sample_dataset.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/datasets/data_roots.h"
#include "server/datasets/image_datasets.h"
#include "server/datasets/tensor_datasets.h"

namespace affsig::datasets {
namespace {

// .npy files are read piecewise; anything else is tried as a torch.save'd tensor.
absl::StatusOr<std::unique_ptr<SampleDataset>> OpenTensorFile(const std::string& path,
                                                              const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  char magic[6] = {};
  in.read(magic, sizeof(magic));
  if (absl::string_view(magic, static_cast<size_t>(in.gcount())) == "\x93NUMPY") {
    return OpenNpyDataset(path, name);
  }
  if (in.gcount() == 0)
    return absl::InvalidArgumentError(absl::StrCat(name, ": the file is empty"));
  return OpenTensorFileDataset(path, name);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SampleDataset>> OpenSampleDataset(const DataSpec& spec,
                                                                 const DataAccess& access) {
  if (spec.kind == DataKind::kRandom) return MakeRandomDataset(spec.random);
  if (spec.kind == DataKind::kUpload) {
    auto path = access.blob_path(spec.location);
    if (!path.ok()) {
      return absl::Status(path.status().code(),
                          absl::StrCat("input ", spec.location, ": ", path.status().message()));
    }
    return OpenTensorFile(*path, absl::StrCat("input ", spec.location));
  }
  ASSIGN_OR_RETURN(auto path, ResolveUnderRoots(spec.location, access.roots));
  switch (spec.kind) {
    case DataKind::kServerFile:
      return OpenTensorFile(path, absl::StrCat("'", spec.location, "'"));
    case DataKind::kImageFolder:
      return OpenImageFolder(path);
    case DataKind::kCifar10:
      return OpenCifar(path, 1);
    case DataKind::kCifar100:
      return OpenCifar(path, 2);
    case DataKind::kMnist:
      return OpenIdxImages(path);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("data source ", DataKindName(spec.kind), " cannot be opened"));
  }
}

}  // namespace affsig::datasets
