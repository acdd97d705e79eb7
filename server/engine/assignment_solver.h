// Exact solver of the linear assignment problem: the optimal transport plan between two uniform
// clouds of N points is a permutation, so W = min over permutations of (1/N) sum_i C[i][s(i)].
#ifndef AFFSIG_SERVER_ENGINE_ASSIGNMENT_SOLVER_H_
#define AFFSIG_SERVER_ENGINE_ASSIGNMENT_SOLVER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace affsig::engine {

struct Assignment {
  std::vector<int64_t> column_for_row;  // the optimal permutation.
  double total_cost = 0.0;              // sum_i cost[i][column_for_row[i]].
  // Optimal dual potentials: cost[i][j] - row_potential[i] - column_potential[j] >= 0 for every
  // pair, with equality on the assignment.
  std::vector<double> row_potential;
  std::vector<double> column_potential;
};

struct AssignmentOptions {
  // Scan rows with AVX2 instructions where the CPU has them; false forces the portable two-lane
  // scans (the tests compare the two).
  bool allow_avx2 = true;
};

// Minimum-cost perfect matching of an n x n row-major cost matrix: Jonker-Volgenant (1987)
// column reduction and augmenting row reduction assign most rows cheaply, then the rest are
// assigned by shortest augmenting paths with dual potentials (Crouse, 2016, the algorithm of
// SciPy's linear_sum_assignment). O(n^3) worst case, exact. Costs must be finite.
absl::StatusOr<Assignment> SolveAssignment(const double* cost, int64_t n,
                                           const AssignmentOptions& options = {});
// The same for single-precision costs, exact for the costs as given (every sum is formed in
// double precision); half the memory traffic of the row scans.
absl::StatusOr<Assignment> SolveAssignment(const float* cost, int64_t n,
                                           const AssignmentOptions& options = {});

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_ASSIGNMENT_SOLVER_H_
