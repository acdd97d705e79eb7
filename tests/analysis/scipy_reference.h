// The SciPy and NumPy side of the analyses' tests: tests/analysis/scipy_reference.py
// (tests/python_reference.h), on inputs the test writes.
#ifndef AFFSIG_TESTS_ANALYSIS_SCIPY_REFERENCE_H_
#define AFFSIG_TESTS_ANALYSIS_SCIPY_REFERENCE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/python_reference.h"

namespace affsig::testing {

// Runs `scipy_reference.py COMMAND FILE` with `input` in FILE and returns its output, a line of
// words each.
absl::StatusOr<std::vector<std::vector<std::string>>> RunScipyReference(absl::string_view command,
                                                                        const std::string& input);

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_ANALYSIS_SCIPY_REFERENCE_H_
