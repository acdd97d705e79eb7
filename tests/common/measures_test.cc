#include "common/measures.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace affsig {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MeasuresTest, ASelectionIsParsedFromTheNamesOfMeasuresOrAll) {
  auto none = ParseMeasureList("");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->any());
  EXPECT_TRUE(MeasureSelectionNames(*none).empty());
  EXPECT_TRUE(SelectedMeasures(*none).empty());

  auto some = ParseMeasureList("r2,entropy,cka");
  ASSERT_TRUE(some.ok());
  EXPECT_THAT(MeasureSelectionNames(*some), ElementsAre("cka", "entropy", "r2"));
  EXPECT_THAT(SelectedMeasures(*some), ElementsAre(Measure::kCka, Measure::kEntropyBefore,
                                                   Measure::kEntropyAfter, Measure::kR2));

  auto all = ParseMeasureList("all");
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(MeasureSelectionNames(*all),
              ElementsAre("shrinkage", "cka", "sparsity", "entropy", "norm", "r2"));
  EXPECT_EQ(SelectedMeasures(*all).size(), static_cast<size_t>(kMeasureCount));

  EXPECT_THAT(ParseMeasureList("cka,kurtosis").status().message(),
              HasSubstr("unknown measure 'kurtosis': use shrinkage, cka"));
}

TEST(MeasuresTest, EveryMeasureHasTheNameItIsParsedFrom) {
  for (Measure measure : SelectedMeasures(MeasureSelection::All())) {
    EXPECT_EQ(*ParseMeasure(MeasureName(measure)), measure);
  }
  EXPECT_EQ(MeasureName(Measure::kShrinkageScore), "shrinkage_score");
  EXPECT_EQ(MeasureName(Measure::kSparsityBefore), "sparsity_before");
  EXPECT_FALSE(ParseMeasure("shrinkage").ok());  // a selection's name, not a value's
}

}  // namespace
}  // namespace affsig
