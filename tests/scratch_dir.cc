#include "tests/scratch_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace affsig::testing {

std::filesystem::path FreshScratchDir() {
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  // In SetUpTestSuite there is a suite but no test yet: the directory is the suite's, and the
  // process's (ctest runs each test of a suite in a process of its own, side by side).
  const std::string name = unit.current_test_info() != nullptr
                               ? std::string(unit.current_test_info()->test_suite_name()) + "." +
                                     unit.current_test_info()->name()
                               : std::string(unit.current_test_suite()->name()) + "." +
                                     std::to_string(getpid());
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace affsig::testing
