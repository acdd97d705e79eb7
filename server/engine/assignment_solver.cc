#include "server/engine/assignment_solver.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace affsig::engine {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// Augmenting row reduction stops after this many row scans per row, leaving the rest to the
// shortest augmenting paths: on dense geometric costs its reassignments can ping-pong.
constexpr int64_t kRowReductionBudget = 8;

// The scans over cost rows, where the solver spends its time, are written on vectors of lanes
// (GCC/Clang vector extensions): two lanes of doubles fill an SSE2 or NEON register, four an AVX2
// register. The AVX2 instantiation is compiled for that target alone and chosen at run time.
// (Literal sizes: GCC drops vector_size attributes whose size depends on a template parameter.)
template <int kLanes>
struct Lanes;
template <>
struct Lanes<2> {
  using Double = double __attribute__((vector_size(16)));
  using Index = int64_t __attribute__((vector_size(16)));
  using Float = float __attribute__((vector_size(8)));
};
template <>
struct Lanes<4> {
  using Double = double __attribute__((vector_size(32)));
  using Index = int64_t __attribute__((vector_size(32)));
  using Float = float __attribute__((vector_size(16)));
};

// Everything called from a solve is inlined into it, so that it is compiled for the solve's
// target.
#define AFFSIG_INLINE [[gnu::always_inline]] inline

template <typename Vector, typename T>
AFFSIG_INLINE Vector Load(const T* source) {
  Vector lanes;
  std::memcpy(&lanes, source, sizeof(lanes));
  return lanes;
}

// The lanes as an array (GCC does not subscript vectors whose type depends on a template
// parameter).
template <typename T, typename Vector>
AFFSIG_INLINE std::array<T, sizeof(Vector) / sizeof(T)> Unpack(const Vector& lanes) {
  std::array<T, sizeof(Vector) / sizeof(T)> values;
  std::memcpy(values.data(), &lanes, sizeof(lanes));
  return values;
}

// Single-precision costs widened to doubles (outside the class template: GCC does not convert
// vectors whose type depends on a template parameter).
AFFSIG_INLINE Lanes<2>::Double Widen(Lanes<2>::Float lanes) {
  return __builtin_convertvector(lanes, Lanes<2>::Double);
}
AFFSIG_INLINE Lanes<4>::Double Widen(Lanes<4>::Float lanes) {
  return __builtin_convertvector(lanes, Lanes<4>::Double);
}

template <typename Vector, typename T>
AFFSIG_INLINE void Store(T* destination, const Vector& lanes) {
  std::memcpy(destination, &lanes, sizeof(lanes));
}

// Working state of one solve; the vectors are reused across the n augmentations.
template <typename Element, int kLanes>
class ShortestAugmentingPath {
  using DoubleLanes = typename Lanes<kLanes>::Double;
  using IndexLanes = typename Lanes<kLanes>::Index;
  using FloatLanes = typename Lanes<kLanes>::Float;

 public:
  ShortestAugmentingPath(const Element* cost, int64_t n)
      : cost_(cost),
        n_(n),
        row_potential_(n, 0.0),
        column_potential_(n, 0.0),
        path_cost_(n, kInfinity),
        path_(n, -1),
        column_for_row_(n, -1),
        row_for_column_(n, -1),
        scanned_cost_(n, 0.0),
        search_potential_(n, 0.0),
        row_scanned_(n, 0),
        column_scanned_(n, 0) {}

  AFFSIG_INLINE Assignment Solve() {
    if (n_ == 0) return {};
    std::vector<int64_t> free_rows = ReduceColumns();
    for (int pass = 0; pass < 2 && !free_rows.empty(); ++pass) {
      free_rows = AugmentingRowReduction(free_rows);
    }
    // Dual feasibility for the assigned rows: each one's column has its smallest reduced cost.
    for (int64_t row = 0; row < n_; ++row) {
      const int64_t column = column_for_row_[row];
      if (column >= 0) row_potential_[row] = Cost(row, column) - column_potential_[column];
    }
    for (int64_t row : free_rows) Augment(row);
    Assignment result;
    for (int64_t row = 0; row < n_; ++row) {
      result.total_cost += Cost(row, column_for_row_[row]);
    }
    result.column_for_row = std::move(column_for_row_);
    result.row_potential = std::move(row_potential_);
    result.column_potential = std::move(column_potential_);
    return result;
  }

 private:
  AFFSIG_INLINE double Cost(int64_t row, int64_t column) const { return cost_[row * n_ + column]; }
  AFFSIG_INLINE const Element* CostRow(int64_t row) const { return cost_ + row * n_; }

  // kLanes costs as doubles: single-precision costs are widened, so that every sum the solver
  // forms is a double whatever the matrix holds.
  AFFSIG_INLINE static DoubleLanes LoadCosts(const Element* source) {
    if constexpr (std::is_same_v<Element, float>) {
      return Widen(Load<FloatLanes>(source));
    } else {
      return Load<DoubleLanes>(source);
    }
  }

  AFFSIG_INLINE static DoubleLanes Broadcast(double value) { return DoubleLanes{} + value; }
  AFFSIG_INLINE static IndexLanes Broadcast(int64_t value) { return IndexLanes{} + value; }

  // The column of each lane in the first block: 0, 1, ..
  AFFSIG_INLINE static IndexLanes FirstColumns() {
    std::array<int64_t, kLanes> columns;
    for (int lane = 0; lane < kLanes; ++lane) columns[lane] = lane;
    return Load<IndexLanes>(columns.data());
  }

  // Jonker-Volgenant initialisation. Column reduction: each column's potential is its smallest
  // cost, and a row that is the smallest of exactly the columns it gets keeps one; reduction
  // transfer then moves the slack of uniquely assigned rows into their column's potential.
  // Invariant from here on: an assigned row's column has the row's smallest reduced cost.
  AFFSIG_INLINE std::vector<int64_t> ReduceColumns() {
    std::fill(column_potential_.begin(), column_potential_.end(), kInfinity);
    std::vector<int64_t> argmin_row(n_, 0);
    double* column_min = column_potential_.data();
    int64_t* column_argmin = argmin_row.data();
    for (int64_t row = 0; row < n_; ++row) {
      const Element* cost_row = CostRow(row);
      const IndexLanes row_lanes = Broadcast(row);
      int64_t column = 0;
      for (; column + kLanes <= n_; column += kLanes) {
        const DoubleLanes cost = LoadCosts(cost_row + column);
        const DoubleLanes old_min = Load<DoubleLanes>(column_min + column);
        const IndexLanes lower = cost < old_min;
        Store(column_min + column, lower ? cost : old_min);
        Store(column_argmin + column, lower ? row_lanes : Load<IndexLanes>(column_argmin + column));
      }
      for (; column < n_; ++column) {
        if (cost_row[column] < column_min[column]) {
          column_min[column] = cost_row[column];
          column_argmin[column] = row;
        }
      }
    }
    std::vector<bool> unique(n_, true);
    for (int64_t column = n_ - 1; column >= 0; --column) {
      const int64_t row = argmin_row[column];
      if (column_for_row_[row] < 0) {
        column_for_row_[row] = column;
        row_for_column_[column] = row;
      } else {
        unique[row] = false;
      }
    }
    std::vector<int64_t> free_rows;
    for (int64_t row = 0; row < n_; ++row) {
      const int64_t column = column_for_row_[row];
      if (column < 0) {
        free_rows.push_back(row);
        continue;
      }
      if (!unique[row] || n_ == 1) continue;
      // The smallest reduced cost of the row's other columns: its own column is hidden by a
      // potential of -inf while the row is scanned.
      const double own_potential = column_potential_[column];
      column_potential_[column] = -kInfinity;
      int64_t best = -1, second = -1;
      double slack = kInfinity, unused = kInfinity;
      TwoSmallestReducedCosts(CostRow(row), &best, &slack, &second, &unused);
      column_potential_[column] = own_potential - slack;
    }
    return free_rows;
  }

  // The columns with the smallest and second smallest reduced cost c[j] - v[j] of one row; ties
  // go to the lowest column.
  AFFSIG_INLINE void TwoSmallestReducedCosts(const Element* cost_row, int64_t* best,
                                             double* best_value, int64_t* second,
                                             double* second_value) const {
    const double* potential = column_potential_.data();
    DoubleLanes low = Broadcast(kInfinity), next = Broadcast(kInfinity);
    IndexLanes low_arg = Broadcast(int64_t{-1}), next_arg = Broadcast(int64_t{-1});
    IndexLanes columns = FirstColumns();
    int64_t column = 0;
    for (; column + kLanes <= n_; column += kLanes, columns += kLanes) {
      const DoubleLanes reduced =
          LoadCosts(cost_row + column) - Load<DoubleLanes>(potential + column);
      const IndexLanes below_low = reduced < low;
      const IndexLanes below_next = reduced < next;
      next = below_low ? low : (below_next ? reduced : next);
      next_arg = below_low ? low_arg : (below_next ? columns : next_arg);
      low = below_low ? reduced : low;
      low_arg = below_low ? columns : low_arg;
    }
    // Merge the lanes' pairs and the tail, in column order within each lane.
    *best = *second = -1;
    *best_value = *second_value = kInfinity;
    auto offer = [&](double value, int64_t arg) {
      if (arg < 0) return;
      if (value < *best_value || (value == *best_value && arg < *best)) {
        *second_value = *best_value;
        *second = *best;
        *best_value = value;
        *best = arg;
      } else if (value < *second_value || (value == *second_value && arg < *second)) {
        *second_value = value;
        *second = arg;
      }
    };
    const auto lows = Unpack<double>(low), nexts = Unpack<double>(next);
    const auto low_args = Unpack<int64_t>(low_arg), next_args = Unpack<int64_t>(next_arg);
    for (int lane = 0; lane < kLanes; ++lane) {
      offer(lows[lane], low_args[lane]);
      offer(nexts[lane], next_args[lane]);
    }
    for (; column < n_; ++column) offer(cost_row[column] - potential[column], column);
  }

  // Jonker-Volgenant augmenting row reduction: a free row takes the column of its smallest
  // reduced cost, lowering that column's potential to its second smallest so that the row
  // keeps the invariant, and the row that held the column becomes free. Most rows end here.
  AFFSIG_INLINE std::vector<int64_t> AugmentingRowReduction(std::vector<int64_t> free_rows) {
    std::vector<int64_t> still_free;
    size_t current = 0;
    int64_t steps = 0;
    const int64_t step_limit_factor = n_;
    while (current < free_rows.size()) {
      ++steps;
      const int64_t row = free_rows[current++];
      int64_t best = 0;
      int64_t second = -1;
      double best_value = 0.0;
      double second_value = kInfinity;
      TwoSmallestReducedCosts(CostRow(row), &best, &best_value, &second, &second_value);
      int64_t displaced = row_for_column_[best];
      const double lowered = column_potential_[best] - (second_value - best_value);
      const bool lowers = lowered < column_potential_[best];
      if (steps < static_cast<int64_t>(current) * step_limit_factor &&
          steps < kRowReductionBudget * n_) {
        if (lowers) {
          column_potential_[best] = lowered;
        } else if (displaced >= 0 && second >= 0) {
          best = second;
          displaced = row_for_column_[second];
        }
        if (displaced >= 0) {
          if (lowers) {
            free_rows[--current] = displaced;
          } else {
            still_free.push_back(displaced);
          }
        }
      } else if (displaced >= 0) {
        still_free.push_back(displaced);
      }
      if (displaced >= 0) column_for_row_[displaced] = -1;
      column_for_row_[row] = best;
      row_for_column_[best] = row;
    }
    return still_free;
  }

  // Relaxes the path costs of the unscanned columns through `row` (reduced costs offset by
  // `base`) and returns the unscanned column of smallest path cost.
  AFFSIG_INLINE int64_t RelaxRow(int64_t row, double base) {
    const Element* cost_row = CostRow(row);
    const double* potential = search_potential_.data();
    double* path_cost = path_cost_.data();
    int64_t* path = path_.data();
    const DoubleLanes base_lanes = Broadcast(base);
    const IndexLanes row_lanes = Broadcast(row);
    DoubleLanes lane_min = Broadcast(kInfinity);
    IndexLanes lane_arg = Broadcast(int64_t{-1});
    IndexLanes columns = FirstColumns();
    int64_t column = 0;
    for (; column + kLanes <= n_; column += kLanes, columns += kLanes) {
      const DoubleLanes reduced =
          base_lanes + LoadCosts(cost_row + column) - Load<DoubleLanes>(potential + column);
      const DoubleLanes old_cost = Load<DoubleLanes>(path_cost + column);
      const IndexLanes shorter = reduced < old_cost;
      const DoubleLanes new_cost = shorter ? reduced : old_cost;
      Store(path_cost + column, new_cost);
      Store(path + column, shorter ? row_lanes : Load<IndexLanes>(path + column));
      const IndexLanes lower = new_cost < lane_min;
      lane_min = lower ? new_cost : lane_min;
      lane_arg = lower ? columns : lane_arg;
    }
    int64_t best = -1;
    double lowest = kInfinity;
    // Ties prefer a free column, which ends the augmentation at once.
    auto offer = [&](double value, int64_t arg) {
      if (arg < 0) return;
      if (value < lowest || (value == lowest && best >= 0 && row_for_column_[arg] == -1 &&
                             row_for_column_[best] != -1)) {
        lowest = value;
        best = arg;
      }
    };
    const auto minima = Unpack<double>(lane_min);
    const auto arguments = Unpack<int64_t>(lane_arg);
    for (int lane = 0; lane < kLanes; ++lane) offer(minima[lane], arguments[lane]);
    for (; column < n_; ++column) {
      const double reduced = base + cost_row[column] - potential[column];
      if (reduced < path_cost[column]) {
        path_cost[column] = reduced;
        path[column] = row;
      }
      offer(path_cost[column], column);
    }
    return best;
  }

  // Finds a shortest path of reduced costs from `start_row` to a free column (Dijkstra over
  // columns), updates the potentials so reduced costs stay non-negative, and flips the path.
  AFFSIG_INLINE void Augment(int64_t start_row) {
    std::fill(row_scanned_.begin(), row_scanned_.end(), 0);
    std::fill(column_scanned_.begin(), column_scanned_.end(), 0);
    std::fill(path_cost_.begin(), path_cost_.end(), kInfinity);
    search_potential_ = column_potential_;

    double min_value = 0.0;
    int64_t row = start_row;
    int64_t sink = -1;
    while (sink == -1) {
      row_scanned_[row] = 1;
      const int64_t column = RelaxRow(row, min_value - row_potential_[row]);
      min_value = path_cost_[column];
      column_scanned_[column] = 1;
      scanned_cost_[column] = min_value;
      // A scanned column's path cost is final: a potential of -inf makes its reduced costs +inf,
      // which keeps it out of later relaxations and minima.
      search_potential_[column] = -kInfinity;
      path_cost_[column] = kInfinity;
      if (row_for_column_[column] == -1) {
        sink = column;
      } else {
        row = row_for_column_[column];
      }
    }

    row_potential_[start_row] += min_value;
    for (int64_t r = 0; r < n_; ++r) {
      if (row_scanned_[r] && r != start_row) {
        row_potential_[r] += min_value - scanned_cost_[column_for_row_[r]];
      }
    }
    for (int64_t c = 0; c < n_; ++c) {
      if (column_scanned_[c]) column_potential_[c] -= min_value - scanned_cost_[c];
    }
    for (int64_t column = sink;;) {
      const int64_t r = path_[column];
      row_for_column_[column] = r;
      std::swap(column_for_row_[r], column);
      if (r == start_row) break;
    }
  }

  const Element* cost_;
  const int64_t n_;
  std::vector<double> row_potential_;
  std::vector<double> column_potential_;
  std::vector<double> path_cost_;
  std::vector<int64_t> path_;  // predecessor row of each column.
  std::vector<int64_t> column_for_row_;
  std::vector<int64_t> row_for_column_;
  std::vector<double> scanned_cost_;      // final path cost of each scanned column.
  std::vector<double> search_potential_;  // column potentials, -inf once scanned.
  std::vector<char> row_scanned_;
  std::vector<char> column_scanned_;
};

template <typename Element, int kLanes>
AFFSIG_INLINE Assignment SolveWithLanes(const Element* cost, int64_t n) {
  return ShortestAugmentingPath<Element, kLanes>(cost, n).Solve();
}

#if defined(__x86_64__)
[[gnu::target("avx2")]] Assignment SolveWithAvx2(const double* cost, int64_t n) {
  return SolveWithLanes<double, 4>(cost, n);
}
[[gnu::target("avx2")]] Assignment SolveWithAvx2(const float* cost, int64_t n) {
  return SolveWithLanes<float, 4>(cost, n);
}
#endif

template <typename Element>
absl::StatusOr<Assignment> Solve(const Element* cost, int64_t n, const AssignmentOptions& options) {
  if (n < 0) return absl::InvalidArgumentError("assignment: negative size");
  for (int64_t i = 0; i < n * n; ++i) {
    if (!std::isfinite(cost[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("assignment: cost[", i / n, "][", i % n, "] is not finite"));
    }
  }
#if defined(__x86_64__)
  if (options.allow_avx2 && __builtin_cpu_supports("avx2")) return SolveWithAvx2(cost, n);
#endif
  return SolveWithLanes<Element, 2>(cost, n);
}

}  // namespace

absl::StatusOr<Assignment> SolveAssignment(const double* cost, int64_t n,
                                           const AssignmentOptions& options) {
  return Solve(cost, n, options);
}

absl::StatusOr<Assignment> SolveAssignment(const float* cost, int64_t n,
                                           const AssignmentOptions& options) {
  return Solve(cost, n, options);
}

}  // namespace affsig::engine
