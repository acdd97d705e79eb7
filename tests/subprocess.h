// Runs a program to its end and keeps what it wrote to stdout and stderr apart: the client's
// command-line contract (exit codes, stdout for results only) and the server's refusals.
#ifndef AFFSIG_TESTS_SUBPROCESS_H_
#define AFFSIG_TESTS_SUBPROCESS_H_

#include <string>
#include <vector>

namespace affsig::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// `argv[0]` is the program's path; `environment` entries ("NAME=value") are added to ours.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& environment = {});

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_SUBPROCESS_H_
