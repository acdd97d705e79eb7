#include "server/engine/assignment_solver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace affsig::engine {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// Augmenting row reduction stops after this many row scans per row, leaving the rest to the
// shortest augmenting paths: on dense geometric costs its reassignments can ping-pong.
constexpr int64_t kRowReductionBudget = 8;

// Working state of one solve; the vectors are reused across the n augmentations.
class ShortestAugmentingPath {
 public:
  ShortestAugmentingPath(const double* cost, int64_t n)
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

  Assignment Solve() {
    if (n_ == 0) return {};
    std::vector<int64_t> free_rows = ReduceColumns();
    for (int pass = 0; pass < 2 && !free_rows.empty(); ++pass) {
      free_rows = AugmentingRowReduction(free_rows);
    }
    // Dual feasibility for the assigned rows: each one's column has its smallest reduced cost.
    for (int64_t row = 0; row < n_; ++row) {
      const int64_t column = column_for_row_[row];
      if (column >= 0) row_potential_[row] = cost_[row * n_ + column] - column_potential_[column];
    }
    for (int64_t row : free_rows) Augment(row);
    Assignment result;
    result.column_for_row = std::move(column_for_row_);
    for (int64_t row = 0; row < n_; ++row) {
      result.total_cost += cost_[row * n_ + result.column_for_row[row]];
    }
    return result;
  }

 private:
  // Jonker-Volgenant initialisation. Column reduction: each column's potential is its smallest
  // cost, and a row that is the smallest of exactly the columns it gets keeps one; reduction
  // transfer then moves the slack of uniquely assigned rows into their column's potential.
  // Invariant from here on: an assigned row's column has the row's smallest reduced cost.
  std::vector<int64_t> ReduceColumns() {
    std::fill(column_potential_.begin(), column_potential_.end(), kInfinity);
    std::vector<int64_t> argmin_row(n_, 0);
    for (int64_t row = 0; row < n_; ++row) {
      const double* cost_row = cost_ + row * n_;
      for (int64_t column = 0; column < n_; ++column) {
        if (cost_row[column] < column_potential_[column]) {
          column_potential_[column] = cost_row[column];
          argmin_row[column] = row;
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
      if (!unique[row]) continue;
      const double* cost_row = cost_ + row * n_;
      double slack = kInfinity;
      for (int64_t other = 0; other < n_; ++other) {
        if (other != column) slack = std::min(slack, cost_row[other] - column_potential_[other]);
      }
      if (slack < kInfinity) column_potential_[column] -= slack;
    }
    return free_rows;
  }

  // The columns with the smallest and second smallest reduced cost c[j] - v[j] of one row,
  // tracked branch-free over four lanes so that the compiler vectorises the scan.
  void TwoSmallestReducedCosts(const double* cost_row, int64_t* best, double* best_value,
                               int64_t* second, double* second_value) const {
    const double* potential = column_potential_.data();
    double low[4] = {kInfinity, kInfinity, kInfinity, kInfinity};
    double next[4] = {kInfinity, kInfinity, kInfinity, kInfinity};
    int64_t low_arg[4] = {-1, -1, -1, -1};
    int64_t next_arg[4] = {-1, -1, -1, -1};
    auto visit = [&](int lane, int64_t j) {
      const double reduced = cost_row[j] - potential[j];
      const bool below_low = reduced < low[lane];
      const bool below_next = reduced < next[lane];
      next[lane] = below_low ? low[lane] : (below_next ? reduced : next[lane]);
      next_arg[lane] = below_low ? low_arg[lane] : (below_next ? j : next_arg[lane]);
      low[lane] = below_low ? reduced : low[lane];
      low_arg[lane] = below_low ? j : low_arg[lane];
    };
    int64_t column = 0;
    for (; column + 4 <= n_; column += 4) {
      for (int lane = 0; lane < 4; ++lane) visit(lane, column + lane);
    }
    for (; column < n_; ++column) visit(0, column);
    *best = -1;
    *best_value = kInfinity;
    int best_lane = 0;
    for (int lane = 0; lane < 4; ++lane) {
      if (low_arg[lane] >= 0 && low[lane] < *best_value) {
        *best_value = low[lane];
        *best = low_arg[lane];
        best_lane = lane;
      }
    }
    *second = -1;
    *second_value = kInfinity;
    for (int lane = 0; lane < 4; ++lane) {
      const double candidate = lane == best_lane ? next[lane] : low[lane];
      const int64_t candidate_arg = lane == best_lane ? next_arg[lane] : low_arg[lane];
      if (candidate_arg >= 0 && candidate < *second_value) {
        *second_value = candidate;
        *second = candidate_arg;
      }
    }
  }

  // Jonker-Volgenant augmenting row reduction: a free row takes the column of its smallest
  // reduced cost, lowering that column's potential to its second smallest so that the row
  // keeps the invariant, and the row that held the column becomes free. Most rows end here.
  std::vector<int64_t> AugmentingRowReduction(std::vector<int64_t> free_rows) {
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
      TwoSmallestReducedCosts(cost_ + row * n_, &best, &best_value, &second, &second_value);
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
  // `base`) and returns the unscanned column of smallest path cost. Branch-free over four
  // lanes, so that the compiler vectorises it: this loop is where the solver spends its time.
  int64_t RelaxRow(int64_t row, double base) {
    const double* cost_row = cost_ + row * n_;
    const double* potential = search_potential_.data();
    double* path_cost = path_cost_.data();
    int64_t* path = path_.data();
    double lane_min[4] = {kInfinity, kInfinity, kInfinity, kInfinity};
    int64_t lane_arg[4] = {-1, -1, -1, -1};
    int64_t column = 0;
    for (; column + 4 <= n_; column += 4) {
      for (int lane = 0; lane < 4; ++lane) {
        const int64_t j = column + lane;
        const double reduced = base + cost_row[j] - potential[j];
        const bool shorter = reduced < path_cost[j];
        path_cost[j] = shorter ? reduced : path_cost[j];
        path[j] = shorter ? row : path[j];
        const bool lower = path_cost[j] < lane_min[lane];
        lane_min[lane] = lower ? path_cost[j] : lane_min[lane];
        lane_arg[lane] = lower ? j : lane_arg[lane];
      }
    }
    for (; column < n_; ++column) {
      const double reduced = base + cost_row[column] - potential[column];
      if (reduced < path_cost[column]) {
        path_cost[column] = reduced;
        path[column] = row;
      }
      if (path_cost[column] < lane_min[0]) {
        lane_min[0] = path_cost[column];
        lane_arg[0] = column;
      }
    }
    int64_t best = -1;
    double lowest = kInfinity;
    for (int lane = 0; lane < 4; ++lane) {
      // Ties prefer a free column, which ends the augmentation at once.
      if (lane_arg[lane] < 0) continue;
      if (lane_min[lane] < lowest ||
          (lane_min[lane] == lowest && best >= 0 && row_for_column_[lane_arg[lane]] == -1 &&
           row_for_column_[best] != -1)) {
        lowest = lane_min[lane];
        best = lane_arg[lane];
      }
    }
    return best;
  }

  // Finds a shortest path of reduced costs from `start_row` to a free column (Dijkstra over
  // columns), updates the potentials so reduced costs stay non-negative, and flips the path.
  void Augment(int64_t start_row) {
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

  const double* cost_;
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

}  // namespace

absl::StatusOr<Assignment> SolveAssignment(const double* cost, int64_t n) {
  if (n < 0) return absl::InvalidArgumentError("assignment: negative size");
  for (int64_t i = 0; i < n * n; ++i) {
    if (!std::isfinite(cost[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("assignment: cost[", i / n, "][", i % n, "] is not finite"));
    }
  }
  return ShortestAugmentingPath(cost, n).Solve();
}

}  // namespace affsig::engine
