#include "tests/scratch_dir.h"

#include <gtest/gtest.h>

namespace affsig::testing {

std::filesystem::path FreshScratchDir() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    (std::string(test->test_suite_name()) + "." + test->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace affsig::testing
