// Checks the engine against a golden set (golden.json): every model's signature entry by entry,
// and its forward output unchanged by the capture.
#ifndef AFFSIG_TESTS_ENGINE_GOLDEN_SIGNATURE_H_
#define AFFSIG_TESTS_ENGINE_GOLDEN_SIGNATURE_H_

#include <string>

namespace affsig::engine {

// Scores must match within this (docs/affinity-score.md: the paper's own two paths differ by up
// to 2e-4).
constexpr double kGoldenScoreTolerance = 1e-3;

// Adds a GoogleTest failure for every difference; the device is testing::TestDevice().
void ExpectMatchesGoldenSet(const std::string& dir);

}  // namespace affsig::engine

#endif  // AFFSIG_TESTS_ENGINE_GOLDEN_SIGNATURE_H_
