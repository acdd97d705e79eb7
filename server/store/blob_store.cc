#include "server/store/blob_store.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include <atomic>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/error_reason.h"

namespace affsig::store {

namespace fs = std::filesystem;

BlobUpload::BlobUpload(const BlobStore& store, std::string temp_path)
    : store_(store),
      temp_path_(std::move(temp_path)),
      out_(temp_path_, std::ios::binary | std::ios::trunc) {}

BlobUpload::~BlobUpload() {
  if (!finished_) {
    out_.close();
    std::error_code ignored;
    fs::remove(temp_path_, ignored);
  }
}

absl::Status BlobUpload::Append(absl::string_view bytes) {
  if (finished_) return absl::FailedPreconditionError("the upload has already finished");
  size_ += static_cast<int64_t>(bytes.size());
  if (size_ > store_.max_bytes()) {
    return WithReason(
        absl::ResourceExhaustedError(absl::StrCat("upload exceeds the server's limit of ",
                                                  store_.max_bytes() / (1024 * 1024), " MiB")),
        reason::kUploadTooLarge);
  }
  hash_.Update(bytes);
  out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out_) return absl::DataLossError(absl::StrCat("cannot write '", temp_path_, "'"));
  return absl::OkStatus();
}

absl::StatusOr<StoredBlob> BlobUpload::Finish(absl::string_view expected_sha256) {
  if (finished_) return absl::FailedPreconditionError("the upload has already finished");
  if (size_ > store_.max_bytes()) {
    return WithReason(absl::ResourceExhaustedError("upload exceeds the server's limit"),
                      reason::kUploadTooLarge);
  }
  out_.flush();
  out_.close();
  if (!out_) return absl::DataLossError(absl::StrCat("cannot write '", temp_path_, "'"));
  StoredBlob info;
  info.sha256 = hash_.HexDigest();
  info.size = size_;
  if (!expected_sha256.empty() && absl::AsciiStrToLower(expected_sha256) != info.sha256) {
    return WithReason(absl::InvalidArgumentError(
                          absl::StrCat("upload corrupted: announced sha256 ", expected_sha256,
                                       " but the bytes hash to ", info.sha256)),
                      reason::kUploadCorrupted);
  }
  const fs::path destination = store_.BlobPath(info.sha256);
  std::error_code error;
  info.already_stored = fs::exists(destination, error);
  if (!info.already_stored) {
    fs::create_directories(destination.parent_path(), error);
    fs::rename(temp_path_, destination, error);  // atomic within one file system
    if (error) {
      return absl::DataLossError(
          absl::StrCat("cannot store blob ", info.sha256, ": ", error.message()));
    }
  }
  finished_ = true;
  fs::remove(temp_path_, error);
  return info;
}

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& data_dir,
                                                           int64_t max_bytes) {
  std::error_code error;
  for (const char* sub : {"blobs", "tmp"}) {
    fs::create_directories(fs::path(data_dir) / sub, error);
    if (error) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create '", data_dir, "/", sub, "': ", error.message()));
    }
  }
  // Partial uploads of a previous run are garbage — but not those of another process sharing the
  // folder (workers on one machine may share a cache): a temporary file is removed when the
  // process named in it is gone, or when it is a day old.
  const auto stale_before = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& entry : fs::directory_iterator(fs::path(data_dir) / "tmp", error)) {
    std::vector<std::string> parts = absl::StrSplit(entry.path().filename().string(), '-');
    pid_t pid = 0;
    const bool owner_alive = parts.size() == 3 && absl::SimpleAtoi(parts[1], &pid) && pid > 0 &&
                             (kill(pid, 0) == 0 || errno == EPERM);
    if (!owner_alive || entry.last_write_time(error) < stale_before) fs::remove(entry.path(), error);
  }
  return std::unique_ptr<BlobStore>(new BlobStore(data_dir, max_bytes));
}

absl::StatusOr<std::unique_ptr<BlobUpload>> BlobStore::BeginUpload() const {
  static std::atomic<uint64_t> counter{0};
  const std::string temp = absl::StrCat(root_, "/tmp/upload-", ::getpid(), "-", counter++);
  std::unique_ptr<BlobUpload> upload(new BlobUpload(*this, temp));
  if (!upload->out_) return absl::PermissionDeniedError(absl::StrCat("cannot write '", temp, "'"));
  return upload;
}

std::string BlobStore::PathIn(absl::string_view data_dir, absl::string_view sha256) {
  const std::string lower = absl::AsciiStrToLower(sha256);
  return absl::StrCat(data_dir, "/blobs/", lower.substr(0, 2), "/", lower);
}

absl::Status BlobStore::Remove(absl::string_view sha256) const {
  if (!IsSha256Hex(sha256)) return absl::InvalidArgumentError("not a sha256");
  std::error_code error;
  fs::remove(BlobPath(sha256), error);
  if (error) {
    return absl::DataLossError(absl::StrCat("cannot remove blob ", sha256, ": ", error.message()));
  }
  return absl::OkStatus();
}

bool BlobStore::Contains(absl::string_view sha256) const {
  std::error_code error;
  return IsSha256Hex(sha256) && fs::is_regular_file(BlobPath(sha256), error);
}

absl::StatusOr<std::string> BlobStore::PathOf(absl::string_view sha256) const {
  if (!IsSha256Hex(sha256)) {
    return WithReason(
        absl::InvalidArgumentError(absl::StrCat("'", sha256, "' is not a sha256 (64 hex digits)")),
        reason::kInvalidDigest);
  }
  if (!Contains(sha256)) return absl::NotFoundError(absl::StrCat("no blob ", sha256));
  return BlobPath(sha256);
}

}  // namespace affsig::store
