// The SciPy and NumPy side of the analyses' tests: tests/analysis/scipy_reference.py, run with
// the Python that has SciPy (AFFSIG_PYTHON), on inputs the test writes.
#ifndef AFFSIG_TESTS_ANALYSIS_SCIPY_REFERENCE_H_
#define AFFSIG_TESTS_ANALYSIS_SCIPY_REFERENCE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace affsig::testing {

// Runs `scipy_reference.py COMMAND FILE` with `input` in FILE and returns its output, a line of
// words each.
absl::StatusOr<std::vector<std::vector<std::string>>> RunScipyReference(absl::string_view command,
                                                                        const std::string& input);

// `values` separated by spaces, each written so that it reads back exactly.
std::string ExactNumbers(absl::Span<const double> values);

// A word of the script's output as a number; a test failure (and NaN) when it is none.
double ParseNumber(const std::string& word);

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_ANALYSIS_SCIPY_REFERENCE_H_
