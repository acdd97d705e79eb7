#include "tests/analysis/scipy_reference.h"

#include "tests/scratch_dir.h"

namespace affsig::testing {

absl::StatusOr<std::vector<std::vector<std::string>>> RunScipyReference(absl::string_view command,
                                                                        const std::string& input) {
  return RunPythonReference(AFFSIG_SCIPY_REFERENCE, command, input, FreshScratchDir());
}

}  // namespace affsig::testing
