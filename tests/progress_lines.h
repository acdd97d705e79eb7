// What the client's plain progress lines on stderr promise, checked without sampling: progress
// only moves forward and never past its total, and the last line is the job's final state. Which
// intermediate lines appear depends on when the client looked, so no test asserts on one.
#ifndef AFFSIG_TESTS_PROGRESS_LINES_H_
#define AFFSIG_TESTS_PROGRESS_LINES_H_

#include <string>

namespace affsig::testing {

// Checks the progress lines in `stderr_text` ("job ID STATE [batch B/K] D/T activations ...")
// of a job that ended in `final_state` (for instance "SUCCEEDED"), with gtest expectations.
void ExpectProgressLinesEndIn(const std::string& stderr_text, const std::string& final_state);

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_PROGRESS_LINES_H_
