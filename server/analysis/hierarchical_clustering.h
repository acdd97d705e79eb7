// Agglomerative clustering of a distance matrix, with SciPy's results to the last detail: the
// same merges, cluster numbering, row order and choices between equal distances as
// scipy.cluster.hierarchy.linkage on the condensed matrix, and the same flat cluster labels as
// scipy.cluster.hierarchy.fcluster. A notebook over the same matrix then agrees with the service.
#ifndef AFFSIG_SERVER_ANALYSIS_HIERARCHICAL_CLUSTERING_H_
#define AFFSIG_SERVER_ANALYSIS_HIERARCHICAL_CLUSTERING_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/analysis_options.h"
#include "common/cluster_merge.h"

namespace affsig::analysis {

// The n - 1 merges of the n observations whose distances are `square_distances` (n x n,
// row-major, symmetric, zero diagonal: PairwiseDistances' matrix), sorted by distance, as
// scipy.cluster.hierarchy.linkage(squareform(square_distances), LinkageName(linkage)) gives
// them. SciPy's algorithms: the minimum spanning tree for single linkage, the nearest-neighbour
// chain for the others, then a stable sort by distance and renumbering. INVALID_ARGUMENT for n < 2,
// a matrix of another size, a non-finite distance, an asymmetric matrix or a non-zero diagonal.
absl::StatusOr<std::vector<Merge>> LinkageMatrix(const std::vector<double>& square_distances,
                                                 int64_t n, Linkage linkage);

// Flat clusters of the merges' n = merges.size() + 1 observations: a label from 1 per
// observation, numbered as SciPy's fcluster numbers them (in the order a depth-first walk from
// the last merge meets them).

// fcluster(Z, k, criterion='maxclust'): cut at the lowest merge distance that leaves at most k
// clusters (each observation its own cluster when k >= n). This is SciPy 1.15's corrected search;
// earlier versions never cut below the second merge (k >= n - 1 gave fewer clusters than
// allowed). INVALID_ARGUMENT for k < 1.
absl::StatusOr<std::vector<int>> ClustersByCount(const std::vector<Merge>& merges, int64_t k);

// fcluster(Z, t, criterion='distance'): observations whose cophenetic distance is at most t share
// a cluster.
std::vector<int> ClustersByDistance(const std::vector<Merge>& merges, double t);

}  // namespace affsig::analysis

#endif  // AFFSIG_SERVER_ANALYSIS_HIERARCHICAL_CLUSTERING_H_
