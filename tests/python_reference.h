// The Python side of the tests that check affsig against SciPy, NumPy and scikit-learn: a
// reference script run with the Python that has them (AFFSIG_PYTHON), on inputs a test writes.
#ifndef AFFSIG_TESTS_PYTHON_REFERENCE_H_
#define AFFSIG_TESTS_PYTHON_REFERENCE_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace affsig::testing {

// Runs `script COMMAND FILE` with `input` in FILE, a file of `dir`, and returns its output, a line
// of words each.
absl::StatusOr<std::vector<std::vector<std::string>>> RunPythonReference(
    const std::string& script, absl::string_view command, const std::string& input,
    const std::filesystem::path& dir);

// `values` separated by spaces, each written so that it reads back exactly.
std::string ExactNumbers(absl::Span<const double> values);

// A word of the script's output as a number ("nan" too); a test failure (and NaN) when it is none.
double ParseNumber(const std::string& word);

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_PYTHON_REFERENCE_H_
