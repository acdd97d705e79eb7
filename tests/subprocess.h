// Runs a program to its end and keeps what it wrote to stdout and stderr apart: the client's
// command-line contract (exit codes, stdout for results only) and the server's refusals.
#ifndef AFFSIG_TESTS_SUBPROCESS_H_
#define AFFSIG_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/subprocess.h"

namespace affsig::testing {

using ProcessResult = CommandResult;

// `argv[0]` is the program's path; `environment` entries ("NAME=value") are added to ours. A
// program that cannot be started exits 127.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& environment = {});

// Sends `signal` to `pid` and waits for it; returns its exit status, or 128 + the signal that
// killed it.
int SignalAndWait(pid_t pid, int signal);

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_SUBPROCESS_H_
