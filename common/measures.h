// The companion measures that the paper compares the affinity score with, per activation call
// (docs/affinity-score.md, section 5). A job asks for some by the names `affsig submit --measures`
// takes (MeasureSelection: none by default); each of its scored entries then carries their values
// (Measure), two each for sparsity and entropy: before and after the activation.
#ifndef AFFSIG_COMMON_MEASURES_H_
#define AFFSIG_COMMON_MEASURES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig {

enum class Measure {
  kShrinkageScore,  // the affinity score with Ledoit-Wolf shrunk covariances (+1e-6 I)
  kCka,             // linear CKA of the reduced input and output
  kSparsityBefore,  // fraction of the unreduced input's values with |v| <= 1e-3
  kSparsityAfter,   // the same of the unreduced output
  kEntropyBefore,   // per sample row of the reduced input, the entropy of a d-bin histogram plus
                    // log(d), averaged over samples
  kEntropyAfter,    // the same of the reduced output
  kNorm,            // Frobenius norm of x - y
  kR2,              // R^2 of an OLS fit with intercept of y from x, averaged over the outputs
};

inline constexpr int kMeasureCount = 8;

// "shrinkage_score", "cka", "sparsity_before", "sparsity_after", "entropy_before",
// "entropy_after", "norm", "r2": the API's fields and the output's columns.
absl::string_view MeasureName(Measure measure);
absl::StatusOr<Measure> ParseMeasure(absl::string_view name);

// The measures a job asks for, by the names --measures takes.
struct MeasureSelection {
  bool shrinkage = false;
  bool cka = false;
  bool sparsity = false;  // before and after
  bool entropy = false;   // before and after
  bool norm = false;
  bool r2 = false;

  bool any() const { return shrinkage || cka || sparsity || entropy || norm || r2; }
  static MeasureSelection All();
};

// From names among shrinkage, cka, sparsity, entropy, norm, r2 and all (every measure);
// INVALID_ARGUMENT naming an unknown one. No names: none.
absl::StatusOr<MeasureSelection> ParseMeasureSelection(const std::vector<std::string>& names);
// The same from a comma-separated list ("shrinkage,cka", "all", "").
absl::StatusOr<MeasureSelection> ParseMeasureList(absl::string_view list);
// The names selected, in the order above; none for an empty selection.
std::vector<std::string> MeasureSelectionNames(const MeasureSelection& selection);
// The values a scored entry gets, in Measure order.
std::vector<Measure> SelectedMeasures(const MeasureSelection& selection);

// One measure of an entry over the batches in which it was scored: the mean over those in which
// the measure was defined and the population standard deviation (NumPy's default), as for the
// score; both NaN when it was defined in none (the CKA of a constant output).
struct MeasureValue {
  Measure measure = Measure::kShrinkageScore;
  double mean = 0.0;
  double std = 0.0;
};

}  // namespace affsig

#endif  // AFFSIG_COMMON_MEASURES_H_
