// Every architecture of the paper's comparison that Debian's torchvision 0.14 provides, with
// random weights, exported both scripted and traced: a complete signature in 'all' mode, equal to
// the paper's algorithm, and a forward output unchanged by the capture.
#include <gtest/gtest.h>

#include "tests/engine/golden_signature.h"
#include "tests/golden_cases.h"

namespace affsig::engine {
namespace {

TEST(ModelZooTest, EveryArchitectureScriptedAndTracedMatchesThePapersAlgorithm) {
  ExpectMatchesGoldenSet(testing::ZooFixtureDir());
}

}  // namespace
}  // namespace affsig::engine
