#include "server/engine/transport_cost.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/status_macros.h"
#include "server/engine/assignment_solver.h"

namespace affsig::engine {
namespace {

// Unit roundoffs of the float32 cost matrix's products: IEEE single precision, or TensorFloat-32
// inputs when a CUDA device may use them for float32 products.
constexpr double kFloat32Roundoff = 0x1p-24;
constexpr double kTensorFloat32Roundoff = 0x1p-11;
// Float64 evaluation error allowed in a pair's constraint, relative to the squared norms involved.
constexpr double kFloat64Rounding = 1e-13;
// Beyond this many unproven pairs per row on average (exact ties by the thousand, such as many
// equal points), checking them one by one costs more than the float64 solve.
constexpr int64_t kMaxCheckedPairsPerRow = 16;

// Higham's gamma_m = m u / (1 - m u): |fl(p.q) - p.q| <= gamma_m |p|.|q| for m-term products.
double Gamma(int64_t terms, double roundoff) {
  const double mu = static_cast<double>(terms) * roundoff;
  return mu / (1.0 - mu);
}

std::vector<double> ToVector(const at::Tensor& values) {
  const at::Tensor cpu = values.to(at::kCPU, at::kDouble).contiguous();
  return std::vector<double>(cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
}

at::Tensor IndexTensor(const std::vector<int64_t>& indices, const at::Device& device) {
  return at::from_blob(const_cast<int64_t*>(indices.data()), {static_cast<int64_t>(indices.size())},
                       at::kLong)
      .to(device);
}

// ||source_i - target_j||^2 in float64 for the listed pairs, a row block at a time on the tensors'
// device: the differences, so no cancellation.
std::vector<double> PairDistances(const at::Tensor& source, const at::Tensor& target,
                                  const std::vector<int64_t>& rows,
                                  const std::vector<int64_t>& columns) {
  std::vector<double> distances;
  distances.reserve(rows.size());
  const int64_t block = std::max<int64_t>(source.size(0), 1);
  for (size_t begin = 0; begin < rows.size(); begin += block) {
    const size_t end = std::min(rows.size(), begin + block);
    const std::vector<int64_t> block_rows(rows.begin() + begin, rows.begin() + end);
    const std::vector<int64_t> block_columns(columns.begin() + begin, columns.begin() + end);
    const at::Tensor difference =
        source.index_select(0, IndexTensor(block_rows, source.device())) -
        target.index_select(0, IndexTensor(block_columns, target.device()));
    const std::vector<double> block_distances = ToVector(difference.square().sum(1));
    distances.insert(distances.end(), block_distances.begin(), block_distances.end());
  }
  return distances;
}

// ||source_i - target_s(i)||^2 in float64 for every row i and its assigned column s(i).
std::vector<double> MatchedDistances(const at::Tensor& source, const at::Tensor& target,
                                     const std::vector<int64_t>& column_for_row) {
  const at::Tensor matched = IndexTensor(column_for_row, target.device());
  return ToVector((source - target.index_select(0, matched)).square().sum(1));
}

// W: the mean of the matched squared distances.
double MeanOf(const std::vector<double>& distances) {
  double total = 0.0;
  for (double distance : distances) total += distance;
  return total / static_cast<double>(distances.size());
}

// A pair the float32 costs could not prove: the constraint v'_j - v'_s(row) <= slack, with slack
// = d_ij - d_is(i) in float64.
struct CandidatePair {
  int64_t row;
  int64_t column;
  double slack;
};

// Lowers column potentials until every candidate's constraint holds (Bellman-Ford over columns:
// the constraint of row i links its assigned column s(i) to column j), within float64 rounding
// (tolerance per row). True when that converges with no potential lowered by more than its
// assigned row's bound, which keeps every other pair's constraint. A negative cycle (a better
// assignment: float32 mis-ordered near-ties) or larger corrections give false.
bool RepairPotentials(const std::vector<CandidatePair>& candidates,
                      const std::vector<int64_t>& column_for_row, const std::vector<double>& bound,
                      const std::vector<double>& tolerance, const std::vector<double>& potential) {
  const int64_t n = static_cast<int64_t>(column_for_row.size());
  std::vector<int64_t> row_for_column(n);
  for (int64_t i = 0; i < n; ++i) row_for_column[column_for_row[i]] = i;
  // The candidates of each row, contiguous: they were listed row by row.
  std::vector<int64_t> first(n + 1, 0);
  for (const CandidatePair& pair : candidates) ++first[pair.row + 1];
  for (int64_t i = 0; i < n; ++i) first[i + 1] += first[i];

  std::vector<double> repaired = potential;
  std::vector<char> queued(n, 0);
  std::vector<int64_t> queue;
  for (const CandidatePair& pair : candidates) {
    const int64_t column = column_for_row[pair.row];
    if (!queued[column]) {
      queued[column] = 1;
      queue.push_back(column);
    }
  }
  // Bellman-Ford converges within n rounds; beyond that there is a negative cycle.
  const int64_t max_relaxations = n * static_cast<int64_t>(candidates.size()) + 1;
  int64_t relaxations = 0;
  for (size_t next = 0; next < queue.size(); ++next) {
    const int64_t column = queue[next];
    queued[column] = 0;
    const int64_t row = row_for_column[column];
    for (int64_t p = first[row]; p < first[row + 1]; ++p) {
      const CandidatePair& pair = candidates[p];
      const double limit = repaired[column] + pair.slack;
      if (repaired[pair.column] <= limit + tolerance[row]) continue;
      if (++relaxations > max_relaxations) return false;
      repaired[pair.column] = limit;
      if (potential[pair.column] - limit > bound[row_for_column[pair.column]]) return false;
      if (!queued[pair.column]) {
        queued[pair.column] = 1;
        queue.push_back(pair.column);
      }
    }
  }
  return true;
}

// The whole problem on float64 costs ||p_i||^2 + ||q_j||^2 - 2 p_i.q_j.
absl::StatusOr<TransportCost> SolveInFloat64(const at::Tensor& source, const at::Tensor& target) {
  const at::Tensor cost =
      at::addmm(source.square().sum(1, true) + target.square().sum(1).unsqueeze(0), source,
                target.transpose(0, 1), /*beta=*/1.0, /*alpha=*/-2.0)
          .to(at::kCPU)
          .contiguous();
  ASSIGN_OR_RETURN(auto assignment, SolveAssignment(cost.data_ptr<double>(), source.size(0)));
  return TransportCost{MeanOf(MatchedDistances(source, target, assignment.column_for_row)),
                       /*solved_in_float64=*/true};
}

}  // namespace

absl::StatusOr<TransportCost> ComputeTransportCost(const at::Tensor& source,
                                                   const at::Tensor& target) {
  const int64_t n = source.size(0);
  const int64_t k = source.size(1);
  const at::Tensor source_norms = source.square().sum(1);  // ||p_i||^2
  const at::Tensor target_norms = target.square().sum(1);  // ||q_j||^2

  // c_ij = ||q_j||^2 - 2 p_i.q_j in float32: the squared distance less the row constant ||p_i||^2,
  // which no permutation changes.
  const at::Tensor cost = at::addmm(target_norms.to(at::kFloat).unsqueeze(0), source.to(at::kFloat),
                                    target.to(at::kFloat).transpose(0, 1),
                                    /*beta=*/1.0, /*alpha=*/-2.0)
                              .to(at::kCPU)
                              .contiguous();
  auto assignment = SolveAssignment(cost.data_ptr<float>(), n);
  // Float32 overflow: points beyond its range.
  if (!assignment.ok()) return SolveInFloat64(source, target);
  const std::vector<int64_t>& column_for_row = assignment->column_for_row;
  const std::vector<double>& v = assignment->column_potential;

  // The certificate, in float64 with e_ij = ||p_i - q_j||^2 - ||p_i||^2 (the costs c_ij stand
  // for, |c_ij - e_ij| <= bound_i) and d_ij = ||p_i - q_j||^2. The assignment s is optimal for e
  // if some column potentials v' satisfy v'_j - v'_s(i) <= d_ij - d_is(i) for every pair (then
  // u'_i = e_is(i) - v'_s(i) and v' are dual feasible, tight on s). The solver's potentials v
  // satisfy it with a margin of bound_i for every pair except the candidates, those with
  // c_ij - v_j < 2 bound_i + e_is(i) - v_s(i), a few per hard row; lowering potentials by less
  // than bound_i keeps every other pair satisfied.
  const std::vector<double> row_norms = ToVector(source_norms);
  const std::vector<double> column_norms = ToVector(target_norms);
  const std::vector<double> matched = MatchedDistances(source, target, column_for_row);
  const double largest_column_norm = *std::max_element(column_norms.begin(), column_norms.end());
  const double roundoff = source.is_cuda() && at::globalContext().allowTF32CuBLAS()
                              ? kTensorFloat32Roundoff
                              : kFloat32Roundoff;
  // k products, the float32 roundings of p, q and ||q||^2, and the final sum.
  const double gamma = Gamma(k + 4, roundoff);
  std::vector<double> bound(n);
  for (int64_t i = 0; i < n; ++i) {
    bound[i] = 2.0 * gamma * (std::sqrt(row_norms[i] * largest_column_norm) + largest_column_norm);
  }

  const float* cost_data = cost.data_ptr<float>();
  std::vector<int64_t> rows, columns;
  for (int64_t i = 0; i < n; ++i) {
    const float* cost_row = cost_data + i * n;
    const int64_t s = column_for_row[i];
    const double threshold = 2.0 * bound[i] + (matched[i] - row_norms[i]) - v[s];
    // Counted first, a loop the compiler vectorises; listed only in the rows that have any.
    int64_t below = 0;
    for (int64_t j = 0; j < n; ++j) below += static_cast<double>(cost_row[j]) - v[j] < threshold;
    below -= static_cast<double>(cost_row[s]) - v[s] < threshold;
    if (below == 0) continue;
    if (static_cast<int64_t>(rows.size()) + below > kMaxCheckedPairsPerRow * n) {
      return SolveInFloat64(source, target);
    }
    for (int64_t j = 0; j < n; ++j) {
      if (j != s && static_cast<double>(cost_row[j]) - v[j] < threshold) {
        rows.push_back(i);
        columns.push_back(j);
      }
    }
  }
  if (!rows.empty()) {
    const std::vector<double> distances = PairDistances(source, target, rows, columns);
    std::vector<CandidatePair> candidates(rows.size());
    for (size_t p = 0; p < rows.size(); ++p) {
      candidates[p] = {rows[p], columns[p], distances[p] - matched[rows[p]]};
    }
    std::vector<double> tolerance(n);
    for (int64_t i = 0; i < n; ++i) {
      tolerance[i] = kFloat64Rounding * (row_norms[i] + largest_column_norm);
    }
    if (!RepairPotentials(candidates, column_for_row, bound, tolerance, v)) {
      return SolveInFloat64(source, target);
    }
  }
  return TransportCost{MeanOf(matched), /*solved_in_float64=*/false};
}

}  // namespace affsig::engine
