#include "common/command_line.h"

#include <cstring>

#include "absl/flags/usage_config.h"

namespace affsig {

void DashesToUnderscoresInFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) != 0) continue;
    for (char* c = argv[i] + 2; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
}

std::vector<std::string> TakeRepeatedFlag(int& argc, char** argv, const std::string& name) {
  const std::string with_value = "--" + name + "=";
  const std::string alone = "--" + name;
  std::vector<std::string> values;
  int kept = 0;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], with_value.c_str(), with_value.size()) == 0) {
      values.emplace_back(argv[i] + with_value.size());
    } else if (alone == argv[i] && i + 1 < argc) {
      values.emplace_back(argv[++i]);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return values;
}

void SetVersionFlag(const std::string& program, const std::string& version) {
  absl::FlagsUsageConfig config;
  config.version_string = [line = program + " " + version + "\n"] { return line; };
  absl::SetFlagsUsageConfig(config);
}

}  // namespace affsig
