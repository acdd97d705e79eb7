#include "common/measures.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/enum_names.h"

namespace affsig {
namespace {

constexpr EnumNames<Measure, kMeasureCount> kMeasureNames = {{
    {Measure::kShrinkageScore, "shrinkage_score"},
    {Measure::kCka, "cka"},
    {Measure::kSparsityBefore, "sparsity_before"},
    {Measure::kSparsityAfter, "sparsity_after"},
    {Measure::kEntropyBefore, "entropy_before"},
    {Measure::kEntropyAfter, "entropy_after"},
    {Measure::kNorm, "norm"},
    {Measure::kR2, "r2"},
}};

// Each name --measures takes, the selection's flag it sets and the values that flag gives.
struct Choice {
  absl::string_view name;
  bool MeasureSelection::*flag;
  std::vector<Measure> values;
};

const std::vector<Choice>& Choices() {
  static const auto* choices = new std::vector<Choice>{
      {"shrinkage", &MeasureSelection::shrinkage, {Measure::kShrinkageScore}},
      {"cka", &MeasureSelection::cka, {Measure::kCka}},
      {"sparsity",
       &MeasureSelection::sparsity,
       {Measure::kSparsityBefore, Measure::kSparsityAfter}},
      {"entropy", &MeasureSelection::entropy, {Measure::kEntropyBefore, Measure::kEntropyAfter}},
      {"norm", &MeasureSelection::norm, {Measure::kNorm}},
      {"r2", &MeasureSelection::r2, {Measure::kR2}},
  };
  return *choices;
}

}  // namespace

absl::string_view MeasureName(Measure measure) { return NameOf(kMeasureNames, measure, "unknown"); }

absl::StatusOr<Measure> ParseMeasure(absl::string_view name) {
  if (auto measure = ValueNamed(kMeasureNames, name)) return *measure;
  return absl::InvalidArgumentError(absl::StrCat("unknown measure '", name, "'"));
}

MeasureSelection MeasureSelection::All() {
  MeasureSelection all;
  for (const Choice& choice : Choices()) all.*choice.flag = true;
  return all;
}

absl::StatusOr<MeasureSelection> ParseMeasureSelection(const std::vector<std::string>& names) {
  MeasureSelection selection;
  for (const std::string& name : names) {
    if (name == "all") {
      selection = MeasureSelection::All();
      continue;
    }
    bool known = false;
    for (const Choice& choice : Choices()) {
      if (choice.name == name) {
        selection.*choice.flag = true;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown measure '", name, "': use shrinkage, cka, sparsity, entropy, norm, r2 or all"));
    }
  }
  return selection;
}

absl::StatusOr<MeasureSelection> ParseMeasureList(absl::string_view list) {
  const std::vector<std::string> names = absl::StrSplit(list, ',', absl::SkipEmpty());
  return ParseMeasureSelection(names);
}

std::vector<std::string> MeasureSelectionNames(const MeasureSelection& selection) {
  std::vector<std::string> names;
  for (const Choice& choice : Choices()) {
    if (selection.*choice.flag) names.emplace_back(choice.name);
  }
  return names;
}

std::vector<Measure> SelectedMeasures(const MeasureSelection& selection) {
  std::vector<Measure> measures;
  for (const Choice& choice : Choices()) {
    if (selection.*choice.flag) {
      measures.insert(measures.end(), choice.values.begin(), choice.values.end());
    }
  }
  return measures;
}

}  // namespace affsig
