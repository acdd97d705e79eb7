// Command-line conventions shared by affsig's programs.
#ifndef AFFSIG_COMMON_COMMAND_LINE_H_
#define AFFSIG_COMMON_COMMAND_LINE_H_

namespace affsig {

// The documented flags are spelled with dashes (--data-dir); Abseil's flag names are C
// identifiers. Rewrites "--data-dir=x" to "--data_dir=x" in place, before absl::ParseCommandLine.
void DashesToUnderscoresInFlagNames(int argc, char** argv);

}  // namespace affsig

#endif  // AFFSIG_COMMON_COMMAND_LINE_H_
