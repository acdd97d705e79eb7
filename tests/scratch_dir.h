// A fresh, empty directory for the running test, TempDir()/<suite>.<test>, or in
// SetUpTestSuite for the suite in this process, TempDir()/<suite>.<pid>.
#ifndef AFFSIG_TESTS_SCRATCH_DIR_H_
#define AFFSIG_TESTS_SCRATCH_DIR_H_

#include <filesystem>

namespace affsig::testing {

std::filesystem::path FreshScratchDir();

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_SCRATCH_DIR_H_
