#include "server/datasets/data_roots.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace affsig::datasets {
namespace {

namespace fs = std::filesystem;

bool IsInside(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ResolveUnderRoots(absl::string_view path,
                                              const std::vector<std::string>& roots) {
  const fs::path requested{std::string(path)};
  if (roots.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "server path '", path, "' refused: this server has no --data-root; upload the data"));
  }
  if (!requested.is_absolute()) {
    return absl::InvalidArgumentError(absl::StrCat("server path '", path, "' must be absolute"));
  }
  for (const fs::path& part : requested) {
    if (part == "..") {
      return absl::PermissionDeniedError(
          absl::StrCat("server path '", path, "' refused: '..' is not allowed"));
    }
  }
  std::error_code error;
  const fs::path resolved = fs::canonical(requested, error);
  if (error) {
    return absl::NotFoundError(absl::StrCat("server path '", path, "' does not exist"));
  }
  for (const std::string& root : roots) {
    const fs::path canonical_root = fs::canonical(root, error);
    if (!error && IsInside(resolved, canonical_root)) return resolved.string();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("server path '", path, "' refused: it is outside the server's data roots",
                   resolved != requested ? " once its symbolic links are followed" : ""));
}

}  // namespace affsig::datasets
