// Command-line conventions shared by affsig's programs.
#ifndef AFFSIG_COMMON_COMMAND_LINE_H_
#define AFFSIG_COMMON_COMMAND_LINE_H_

#include <string>
#include <vector>

namespace affsig {

// The documented flags are spelled with dashes (--data-dir); Abseil's flag names are C
// identifiers. Rewrites "--data-dir=x" to "--data_dir=x" in place, before absl::ParseCommandLine.
void DashesToUnderscoresInFlagNames(int argc, char** argv);

// Abseil keeps only the last value of a repeated flag. Takes every "--NAME=value" and
// "--NAME value" (NAME with underscores, after DashesToUnderscoresInFlagNames) out of argv, in
// order, and returns the values; argc shrinks accordingly.
std::vector<std::string> TakeRepeatedFlag(int& argc, char** argv, const std::string& name);

// Makes --version print "PROGRAM VERSION" (Abseil's default prints the program's path and
// whether NDEBUG was defined when Abseil itself was built). Call before absl::ParseCommandLine.
void SetVersionFlag(const std::string& program, const std::string& version);

}  // namespace affsig

#endif  // AFFSIG_COMMON_COMMAND_LINE_H_
