#include "server/datasets/image_datasets.h"

#include <ATen/ATen.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/datasets/image_decoder.h"
#include "server/datasets/positional_file.h"

namespace affsig::datasets {
namespace {

namespace fs = std::filesystem;

class ImageFolderDataset final : public SampleDataset {
 public:
  explicit ImageFolderDataset(std::vector<std::string> files) : files_(std::move(files)) {}
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  absl::StatusOr<at::Tensor> Read(int64_t index) const override {
    return DecodeImageFile(files_[static_cast<size_t>(index)], ColorMode::kRgb);
  }

 private:
  std::vector<std::string> files_;
};

// Fixed-size records in one or more files, each record an image of `shape` after `skip` bytes.
// A decompressed copy of a gzip file, removed with the last reference: gzip has no random
// access, and a copy on disk keeps memory bounded whatever the file's size.
class DecompressedFile {
 public:
  static absl::StatusOr<std::shared_ptr<DecompressedFile>> Of(const std::string& gzip_path) {
    std::string path = (fs::temp_directory_path() / "affsig-XXXXXX").string();
    const int fd = mkstemp(path.data());
    if (fd < 0) return absl::InternalError("cannot create a temporary file to decompress into");
    close(fd);
    auto file = std::shared_ptr<DecompressedFile>(new DecompressedFile(path));
    gzFile in = gzopen(gzip_path.c_str(), "rb");
    std::ofstream out(path, std::ios::binary);
    std::vector<char> buffer(1 << 20);
    int n = 0;
    while (in != nullptr &&
           (n = gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) {
      out.write(buffer.data(), n);
    }
    int code = Z_OK;
    const std::string why = in == nullptr ? "cannot be opened" : gzerror(in, &code);
    if (in != nullptr) gzclose(in);
    if (in == nullptr || n < 0 || !out) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", gzip_path, "' is not a readable gzip file: ", why));
    }
    return file;
  }
  ~DecompressedFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  explicit DecompressedFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

class RecordDataset final : public SampleDataset {
 public:
  struct File {
    std::string path;
    int64_t header = 0;  // bytes before the first record
    int64_t records = 0;
    std::shared_ptr<DecompressedFile> decompressed;  // set when `path` is a gzip file's copy
  };

  static absl::StatusOr<std::unique_ptr<RecordDataset>> Open(std::vector<File> files, int64_t skip,
                                                             std::vector<int64_t> shape) {
    std::vector<std::unique_ptr<PositionalFile>> opened;
    for (const File& file : files) {
      ASSIGN_OR_RETURN(opened.emplace_back(), PositionalFile::Open(file.path));
    }
    return std::unique_ptr<RecordDataset>(
        new RecordDataset(std::move(files), std::move(opened), skip, std::move(shape)));
  }

  int64_t size() const override { return total_; }

  absl::StatusOr<at::Tensor> Read(int64_t index) const override {
    size_t f = 0;
    while (index >= files_[f].records) index -= files_[f++].records;
    at::Tensor image = at::empty(shape_, at::kByte);
    if (!opened_[f]->ReadAt(files_[f].header + index * (skip_ + image_bytes_) + skip_,
                            image.data_ptr<uint8_t>(), image_bytes_)) {
      return absl::DataLossError(
          absl::StrCat("'", files_[f].path, "': cannot read record ", index));
    }
    return image;
  }

 private:
  RecordDataset(std::vector<File> files, std::vector<std::unique_ptr<PositionalFile>> opened,
                int64_t skip, std::vector<int64_t> shape)
      : files_(std::move(files)), opened_(std::move(opened)), skip_(skip),
        shape_(std::move(shape)) {
    image_bytes_ = 1;
    for (int64_t size : shape_) image_bytes_ *= size;
    for (const File& file : files_) total_ += file.records;
  }

  std::vector<File> files_;
  std::vector<std::unique_ptr<PositionalFile>> opened_;  // one per file
  int64_t skip_ = 0;
  std::vector<int64_t> shape_;
  int64_t image_bytes_ = 0;
  int64_t total_ = 0;
};

bool IsImageFile(const fs::path& path) {
  const std::string extension = absl::AsciiStrToLower(path.extension().string());
  return extension == ".jpeg" || extension == ".jpg" || extension == ".png";
}

// `path` itself when it is a file, else its regular files whose names `matches` accepts, sorted.
absl::StatusOr<std::vector<std::string>> FilesOf(const std::string& path,
                                                 bool (*matches)(const std::string& name),
                                                 absl::string_view what) {
  std::error_code error;
  if (fs::is_regular_file(path, error)) return std::vector<std::string>{path};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, error)) {
    if (entry.is_regular_file() && matches(entry.path().filename().string())) {
      files.push_back(entry.path().string());
    }
  }
  if (error) return absl::NotFoundError(absl::StrCat("'", path, "' cannot be read"));
  if (files.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no ", what, " files in '", path, "'"));
  }
  std::sort(files.begin(), files.end());
  return files;
}

int64_t FileSize(const std::string& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  return error ? -1 : static_cast<int64_t>(size);
}

uint32_t BigEndian32(const unsigned char* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

}  // namespace

absl::StatusOr<std::unique_ptr<SampleDataset>> OpenImageFolder(const std::string& root) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return absl::InvalidArgumentError(absl::StrCat("'", root, "' is not a folder"));
  }
  std::vector<fs::path> classes;
  for (const auto& entry : fs::directory_iterator(root, error)) {
    if (entry.is_directory()) classes.push_back(entry.path());
  }
  std::sort(classes.begin(), classes.end());
  std::vector<std::string> files;
  for (const fs::path& class_dir : classes) {
    std::vector<std::string> images;
    for (const auto& entry : fs::directory_iterator(class_dir, error)) {
      if (entry.is_regular_file() && IsImageFile(entry.path())) {
        images.push_back(entry.path().string());
      }
    }
    std::sort(images.begin(), images.end());
    files.insert(files.end(), images.begin(), images.end());
  }
  if (files.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no images in '", root, "': expected root/class/image.{JPEG,jpg,png}"));
  }
  return std::make_unique<ImageFolderDataset>(std::move(files));
}

absl::StatusOr<std::unique_ptr<SampleDataset>> OpenCifar(const std::string& path, int labels) {
  ASSIGN_OR_RETURN(auto paths,
                   FilesOf(
                       path, [](const std::string& name) { return absl::EndsWith(name, ".bin"); },
                       "CIFAR .bin"));
  constexpr int64_t kImageBytes = 3 * 32 * 32;
  const int64_t record = labels + kImageBytes;
  std::vector<RecordDataset::File> files;
  for (const std::string& file : paths) {
    const int64_t size = FileSize(file);
    if (size <= 0 || size % record != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", file, "' is not a CIFAR-", labels == 1 ? "10" : "100", " binary file: ", size,
          " bytes is not a whole number of ", record, "-byte records"));
    }
    files.push_back({file, 0, size / record});
  }
  return RecordDataset::Open(std::move(files), labels, std::vector<int64_t>{3, 32, 32});
}

absl::StatusOr<std::unique_ptr<SampleDataset>> OpenIdxImages(const std::string& path) {
  ASSIGN_OR_RETURN(auto paths, FilesOf(
                                   path,
                                   [](const std::string& name) {
                                     return absl::StrContains(name, "-images-idx3-ubyte");
                                   },
                                   "IDX image (*-images-idx3-ubyte[.gz])"));
  std::vector<RecordDataset::File> files;
  int64_t rows = 0, cols = 0;
  for (const std::string& given : paths) {
    // MNIST is distributed gzipped: read a decompressed copy, errors still name the given file.
    std::shared_ptr<DecompressedFile> decompressed;
    if (absl::EndsWith(given, ".gz")) {
      ASSIGN_OR_RETURN(decompressed, DecompressedFile::Of(given));
    }
    const std::string& file = decompressed ? decompressed->path() : given;
    unsigned char header[16];
    std::ifstream in(file, std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(header), sizeof(header)) ||
        BigEndian32(header) != 0x00000803) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", given, "' is not an IDX image file (magic 0x00000803)"));
    }
    const int64_t count = BigEndian32(header + 4);
    const int64_t file_rows = BigEndian32(header + 8), file_cols = BigEndian32(header + 12);
    if ((rows != 0 && (file_rows != rows || file_cols != cols)) || file_rows == 0 ||
        file_cols == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", given, "': images of ", file_rows, " x ", file_cols,
          rows != 0 ? absl::StrCat(", the other files' are ", rows, " x ", cols) : ""));
    }
    rows = file_rows;
    cols = file_cols;
    // The header's three 32-bit sizes are the file's claim, and their product can overflow: the
    // pixels the file has are divided by an image's size instead (rows x cols < 2^64). A file of
    // no image is refused, so that an image, read or allocated, is never larger than its file.
    if (count == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", given, "': its header announces no images"));
    }
    const uint64_t image_bytes = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols);
    const int64_t pixels = FileSize(file) - 16;
    if (pixels < 0 || static_cast<uint64_t>(pixels) % image_bytes != 0 ||
        static_cast<uint64_t>(pixels) / image_bytes != static_cast<uint64_t>(count)) {
      return absl::InvalidArgumentError(absl::StrCat("'", given, "': its header announces ", count,
                                                     " images of ", rows, " x ", cols,
                                                     " but it has ", pixels, " bytes of pixels"));
    }
    files.push_back({file, 16, count, std::move(decompressed)});
  }
  return RecordDataset::Open(std::move(files), 0, std::vector<int64_t>{1, rows, cols});
}

}  // namespace affsig::datasets
