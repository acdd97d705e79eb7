#include "tests/fuzz/fuzz_support.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace affsig::fuzz {
namespace {

const std::string& Folder();

void RemoveFolder() { std::filesystem::remove_all(Folder()); }

const std::string* MakeFolder() {
  std::string pattern = (std::filesystem::temp_directory_path() / "affsig-fuzz-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  std::atexit(RemoveFolder);
  return new std::string(pattern);
}

const std::string& Folder() {
  static const std::string* const folder = MakeFolder();
  return *folder;
}

}  // namespace

std::string WriteInputFile(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = Folder() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out.flush()) {
    std::perror(path.c_str());
    std::abort();
  }
  return path;
}

void Require(bool holds, absl::string_view what) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace affsig::fuzz
