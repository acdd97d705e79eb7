#include "server/engine/assignment_solver.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace affsig::engine {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

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
        row_scanned_(n, false),
        column_scanned_(n, false),
        remaining_(n) {}

  Assignment Solve() {
    for (int64_t row = 0; row < n_; ++row) Augment(row);
    Assignment result;
    result.column_for_row = std::move(column_for_row_);
    for (int64_t row = 0; row < n_; ++row) {
      result.total_cost += cost_[row * n_ + result.column_for_row[row]];
    }
    return result;
  }

 private:
  // Finds a shortest path of reduced costs from `start_row` to a free column (Dijkstra over
  // columns), updates the potentials so reduced costs stay non-negative, and flips the path.
  void Augment(int64_t start_row) {
    int64_t unscanned = n_;
    for (int64_t k = 0; k < n_; ++k) remaining_[k] = n_ - k - 1;
    std::fill(row_scanned_.begin(), row_scanned_.end(), false);
    std::fill(column_scanned_.begin(), column_scanned_.end(), false);
    std::fill(path_cost_.begin(), path_cost_.end(), kInfinity);

    double min_value = 0.0;
    int64_t row = start_row;
    int64_t sink = -1;
    while (sink == -1) {
      row_scanned_[row] = true;
      const double* cost_row = cost_ + row * n_;
      const double base = min_value - row_potential_[row];
      int64_t best = -1;
      double lowest = kInfinity;
      for (int64_t k = 0; k < unscanned; ++k) {
        const int64_t column = remaining_[k];
        const double reduced = base + cost_row[column] - column_potential_[column];
        if (reduced < path_cost_[column]) {
          path_[column] = row;
          path_cost_[column] = reduced;
        }
        // Ties prefer a free column: the augmentation ends sooner.
        if (path_cost_[column] < lowest ||
            (path_cost_[column] == lowest && row_for_column_[column] == -1)) {
          lowest = path_cost_[column];
          best = k;
        }
      }
      min_value = lowest;
      const int64_t column = remaining_[best];
      column_scanned_[column] = true;
      remaining_[best] = remaining_[--unscanned];
      if (row_for_column_[column] == -1) {
        sink = column;
      } else {
        row = row_for_column_[column];
      }
    }

    row_potential_[start_row] += min_value;
    for (int64_t r = 0; r < n_; ++r) {
      if (row_scanned_[r] && r != start_row) {
        row_potential_[r] += min_value - path_cost_[column_for_row_[r]];
      }
    }
    for (int64_t c = 0; c < n_; ++c) {
      if (column_scanned_[c]) column_potential_[c] -= min_value - path_cost_[c];
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
  std::vector<int64_t> path_;
  std::vector<int64_t> column_for_row_;
  std::vector<int64_t> row_for_column_;
  std::vector<bool> row_scanned_;
  std::vector<bool> column_scanned_;
  std::vector<int64_t> remaining_;
};

}  // namespace

absl::StatusOr<Assignment> SolveAssignment(const double* cost, int64_t n) {
  if (n < 0) return absl::InvalidArgumentError("assignment: negative size");
  for (int64_t i = 0; i < n * n; ++i) {
    if (!std::isfinite(cost[i])) {
      return absl::InvalidArgumentError(absl::StrCat("assignment: cost[", i / n, "][", i % n,
                                                     "] is not finite"));
    }
  }
  return ShortestAugmentingPath(cost, n).Solve();
}

}  // namespace affsig::engine
