// One row of a hierarchical clustering's linkage matrix in SciPy's format: the server computes
// them (server/analysis/hierarchical_clustering.h), clients draw them (common/text_dendrogram.h).
#ifndef AFFSIG_COMMON_CLUSTER_MERGE_H_
#define AFFSIG_COMMON_CLUSTER_MERGE_H_

#include <cstdint>

namespace affsig {

// Of n observations, the observations are clusters 0..n-1 and the cluster made by row r is
// n + r; row r merges clusters a < b at `distance` into a cluster of `size` observations.
struct Merge {
  int64_t a = 0;
  int64_t b = 0;
  double distance = 0.0;
  int64_t size = 0;
};

}  // namespace affsig

#endif  // AFFSIG_COMMON_CLUSTER_MERGE_H_
