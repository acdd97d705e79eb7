#include "common/text_dendrogram.h"

#include <gtest/gtest.h>

namespace affsig {
namespace {

TEST(TextDendrogramTest, LeavesInSciPysOrderAndMergesAtTheirDistances) {
  // SciPy's linkage of 4 observations: 0 and 1 at 0.5, 2 and 3 at 1.5, both pairs at 3.
  const std::string expected = R"(a ─────────┬───────────────────────────────────────┐
b ─────────┘                                       │
c ─────────────────────────┬───────────────────────┘
d ─────────────────────────┘
   ┬───────────┬───────────┬───────────┬───────────┬
   0           0.75        1.5         2.25        3
)";
  EXPECT_EQ(TextDendrogram({{0, 1, 0.5, 2}, {2, 3, 1.5, 2}, {4, 5, 3.0, 4}}, {"a", "b", "c", "d"}),
            expected);
}

TEST(TextDendrogramTest, FirstClusterOfEachMergeAboveTheSecondAndUnnamedLeavesNumbered) {
  // The last merge joins cluster 6 ({0, 1, 3}) over cluster 7 ({2, 4}); within 6, leaf 0 over
  // cluster 5 ({1, 3}). Leaves 3 and 4 have no name.
  const std::string expected =
      R"(alexnet  ─────────────────┬───────────────────────────────┐
vgg11    ────┬────────────┘                               │
3        ────┘                                            │
resnet18 ─────────────────┬───────────────────────────────┘
4        ─────────────────┘
          ┬───────────┬───────────┬───────────┬───────────┬
          0           0.075       0.15        0.225       0.3
)";
  EXPECT_EQ(TextDendrogram({{1, 3, 0.02, 2}, {0, 5, 0.1, 3}, {2, 4, 0.1, 2}, {6, 7, 0.3, 5}},
                           {"alexnet", "vgg11", "resnet18"}),
            expected);
}

TEST(TextDendrogramTest, MergesAtDistanceZeroStillShowTheirLines) {
  const std::string expected = R"(c ─┐
a ─┤
b ─┘
   ┬───────────┬───────────┬───────────┬───────────┬
   0
)";
  EXPECT_EQ(TextDendrogram({{0, 1, 0.0, 2}, {2, 3, 0.0, 3}}, {"a", "b", "c"}), expected);
}

TEST(TextDendrogramTest, OneLeaf) {
  const std::string expected = R"(only ─
      ┬───────────┬───────────┬───────────┬───────────┬
      0
)";
  EXPECT_EQ(TextDendrogram({}, {"only"}), expected);
}

}  // namespace
}  // namespace affsig
