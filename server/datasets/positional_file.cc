#include "server/datasets/positional_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace affsig::datasets {

absl::StatusOr<std::unique_ptr<PositionalFile>> PositionalFile::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("'", path, "' cannot be read"));
  return std::unique_ptr<PositionalFile>(new PositionalFile(fd));
}

PositionalFile::~PositionalFile() { close(fd_); }

bool PositionalFile::ReadAt(int64_t offset, void* out, int64_t size) const {
  auto* bytes = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = pread(fd_, bytes, static_cast<size_t>(size), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    offset += n;
    size -= n;
  }
  return true;
}

}  // namespace affsig::datasets
