#include "tests/python_reference.h"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/subprocess.h"

namespace affsig::testing {

absl::StatusOr<std::vector<std::vector<std::string>>> RunPythonReference(
    const std::string& script, absl::string_view command, const std::string& input,
    const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / absl::StrCat(command, ".input.txt");
  std::ofstream(path) << input;
  ASSIGN_OR_RETURN(const CommandResult result,
                   RunCommand({AFFSIG_PYTHON, script, std::string(command), path.string()}));
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat(std::filesystem::path(script).filename().string(), " ",
                                            command, " exited ", result.exit_code, ": ",
                                            result.err));
  }
  std::vector<std::vector<std::string>> lines;
  for (absl::string_view line : absl::StrSplit(result.out, '\n', absl::SkipWhitespace())) {
    lines.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
  }
  return lines;
}

std::string ExactNumbers(absl::Span<const double> values) {
  return absl::StrJoin(values, " ", [](std::string* out, double value) {
    absl::StrAppendFormat(out, "%.17g", value);
  });
}

double ParseNumber(const std::string& word) {
  double value = 0.0;
  if (!absl::SimpleAtod(word, &value)) {
    ADD_FAILURE() << "not a number: '" << word << "'";
    return std::numeric_limits<double>::quiet_NaN();
  }
  return value;
}

}  // namespace affsig::testing
