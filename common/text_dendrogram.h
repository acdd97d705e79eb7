// A hierarchical clustering drawn in text for a terminal: the table view of `affsig cluster`.
#ifndef AFFSIG_COMMON_TEXT_DENDROGRAM_H_
#define AFFSIG_COMMON_TEXT_DENDROGRAM_H_

#include <string>
#include <vector>

#include "common/cluster_merge.h"

namespace affsig {

// The merges (SciPy's linkage format, n - 1 rows for n leaves) as a sideways dendrogram in
// box-drawing characters, one line per leaf: the names on the left (aligned, where the eye looks
// first; SciPy's orientation='right' layout), the leaves from top to bottom in the order of
// SciPy's dendrogram(Z)['leaves'] (each merge's first cluster above its second), each merge a
// vertical line at its distance, the distances scaled to a fixed width of 48 columns from 0 to
// the largest, and an axis line with tick values below. Leaf i is named `leaf_names[i]`, or by
// its number where `leaf_names` has no name for it. For merges 0+1 at 0.5, 2+3 at 1.5, both at 3:
//
//   a ─────────┬───────────────────────────────────────┐
//   b ─────────┘                                       │
//   c ─────────────────────────┬───────────────────────┘
//   d ─────────────────────────┘
//      ┬───────────┬───────────┬───────────┬───────────┬
//      0           0.75        1.5         2.25        3
std::string TextDendrogram(const std::vector<Merge>& merges,
                           const std::vector<std::string>& leaf_names);

}  // namespace affsig

#endif  // AFFSIG_COMMON_TEXT_DENDROGRAM_H_
