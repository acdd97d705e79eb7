// What the harnesses share: the input as a file, for the readers that take a path, and a check
// that stops the fuzzer with a message (a property that fails is a finding like a crash).
#ifndef AFFSIG_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define AFFSIG_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace affsig::fuzz {

// Writes the input to a file of this name in a folder of this process's own (removed when the
// fuzzer exits normally), replacing the last input of that name, and returns its path.
std::string WriteInputFile(const std::string& name, const uint8_t* data, size_t size);

// Aborts with `what` on stderr unless `holds`.
void Require(bool holds, absl::string_view what);

}  // namespace affsig::fuzz

#endif  // AFFSIG_TESTS_FUZZ_FUZZ_SUPPORT_H_
