// A file read at given offsets from several threads at once: one descriptor, pread(2), no shared
// read position. The record and .npy datasets read their samples through it, so that a batch's
// samples can be read by a pool of threads (BatchStream's decode threads).
#ifndef AFFSIG_SERVER_DATASETS_POSITIONAL_FILE_H_
#define AFFSIG_SERVER_DATASETS_POSITIONAL_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace affsig::datasets {

class PositionalFile {
 public:
  // NOT_FOUND naming `path` when it cannot be opened for reading.
  static absl::StatusOr<std::unique_ptr<PositionalFile>> Open(const std::string& path);
  ~PositionalFile();
  PositionalFile(const PositionalFile&) = delete;
  PositionalFile& operator=(const PositionalFile&) = delete;

  // Exactly `size` bytes from `offset` into `out`; false when the file ends first or a read
  // fails.
  bool ReadAt(int64_t offset, void* out, int64_t size) const;

 private:
  explicit PositionalFile(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_POSITIONAL_FILE_H_
