#include "common/auth_token.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace affsig {
namespace {

std::string TokenFilePath() {
  const char* config = std::getenv("XDG_CONFIG_HOME");
  if (config != nullptr && *config != '\0') return absl::StrCat(config, "/affsig/token");
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : "", "/.config/affsig/token");
}

}  // namespace

absl::StatusOr<std::string> FindAuthToken(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* env = std::getenv("AFFSIG_TOKEN");
  if (env != nullptr && *env != '\0') return std::string(env);
  const std::string path = TokenFilePath();
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return std::string();
    return absl::PermissionDeniedError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s may be read by others (mode %04o): chmod 600 %s", path, info.st_mode & 07777, path));
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return absl::PermissionDeniedError(absl::StrCat("cannot read ", path));
  }
  return std::string(absl::StripAsciiWhitespace(line));
}

}  // namespace affsig
