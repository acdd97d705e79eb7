#include "server/analysis/hierarchical_clustering.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"

// Ported from SciPy's scipy/cluster/_hierarchy.pyx and _hierarchy_distance_update.pxi (1.10;
// fcluster's maxclust search from 1.15), statement for statement where the result depends on it:
// the loops' strict comparisons decide between equal distances, the update formulas' order of
// operations decides the last bits of every merge distance.
namespace affsig::analysis {
namespace {

// Position of (i, j), i != j, in the condensed matrix (the upper triangle row by row).
int64_t CondensedIndex(int64_t n, int64_t i, int64_t j) {
  if (i > j) std::swap(i, j);
  return n * i - (i * (i + 1) / 2) + (j - i - 1);
}

// The distance from cluster i to the merge of x and y, from their distances and sizes
// (_hierarchy_distance_update.pxi; sizes are C ints there, as here).
double UpdatedDistance(Linkage linkage, double d_xi, double d_yi, double d_xy, int size_x,
                       int size_y, int size_i) {
  switch (linkage) {
    case Linkage::kSingle:
      return std::min(d_xi, d_yi);
    case Linkage::kComplete:
      return std::max(d_xi, d_yi);
    case Linkage::kAverage:
      return (size_x * d_xi + size_y * d_yi) / (size_x + size_y);
    case Linkage::kWard: {
      const double t = 1.0 / (size_x + size_y + size_i);
      return std::sqrt((size_i + size_x) * t * d_xi * d_xi + (size_i + size_y) * t * d_yi * d_yi -
                       size_i * t * d_xy * d_xy);
    }
  }
  return 0.0;
}

// Unsorted merges of clusters named by the slot that holds them; Relabel numbers them.
std::vector<Merge> NearestNeighbourChain(std::vector<double> distances, int n, Linkage linkage) {
  std::vector<Merge> merges(n - 1);
  std::vector<int> size(n, 1);  // 0: the slot's cluster was merged into another
  std::vector<int> chain(n);
  int chain_length = 0;
  int y = 0;
  for (int k = 0; k < n - 1; ++k) {
    if (chain_length == 0) {
      chain_length = 1;
      for (int i = 0; i < n; ++i) {
        if (size[i] > 0) {
          chain[0] = i;
          break;
        }
      }
    }
    // Follow nearest neighbours until two are each other's; the previous element of the chain is
    // preferred among equals, which keeps the chain from cycling.
    int x = 0;
    double current_min = 0.0;
    while (true) {
      x = chain[chain_length - 1];
      if (chain_length > 1) {
        y = chain[chain_length - 2];
        current_min = distances[CondensedIndex(n, x, y)];
      } else {
        current_min = std::numeric_limits<double>::infinity();
      }
      for (int i = 0; i < n; ++i) {
        if (size[i] == 0 || x == i) continue;
        const double distance = distances[CondensedIndex(n, x, i)];
        if (distance < current_min) {
          current_min = distance;
          y = i;
        }
      }
      if (chain_length > 1 && y == chain[chain_length - 2]) break;
      chain[chain_length++] = y;
    }
    chain_length -= 2;
    if (x > y) std::swap(x, y);  // fastcluster's convention: the new cluster takes slot y
    const int nx = size[x];
    const int ny = size[y];
    merges[k] = Merge{x, y, current_min, nx + ny};
    size[x] = 0;
    size[y] = nx + ny;
    for (int i = 0; i < n; ++i) {
      const int ni = size[i];
      if (ni == 0 || i == y) continue;
      distances[CondensedIndex(n, i, y)] =
          UpdatedDistance(linkage, distances[CondensedIndex(n, i, x)],
                          distances[CondensedIndex(n, i, y)], current_min, nx, ny, ni);
    }
  }
  return merges;
}

// Single linkage as Prim's minimum spanning tree: each merge joins the observation last added
// and the nearest one outside the tree (unsorted, unnumbered like NearestNeighbourChain's).
std::vector<Merge> MinimumSpanningTree(const std::vector<double>& distances, int n) {
  std::vector<Merge> merges(n - 1);
  std::vector<bool> merged(n, false);
  std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
  int x = 0;
  int y = 0;
  for (int k = 0; k < n - 1; ++k) {
    double current_min = std::numeric_limits<double>::infinity();
    merged[x] = true;
    for (int i = 0; i < n; ++i) {
      if (merged[i]) continue;
      const double distance = distances[CondensedIndex(n, x, i)];
      if (nearest[i] > distance) nearest[i] = distance;
      if (nearest[i] < current_min) {
        y = i;
        current_min = nearest[i];
      }
    }
    merges[k] = Merge{x, y, current_min, 0};
    x = y;
  }
  return merges;
}

// Sorts the merges by distance (stably: equal distances keep the algorithm's order) and names
// each merge's clusters by their numbers in the sorted order (n + row), smaller first, with the
// sizes (SciPy's label(), a union-find).
std::vector<Merge> SortAndRelabel(const std::vector<Merge>& unsorted, int n) {
  std::vector<Merge> merges = unsorted;
  std::stable_sort(merges.begin(), merges.end(),
                   [](const Merge& p, const Merge& q) { return p.distance < q.distance; });
  std::vector<int64_t> parent(2 * n - 1);
  std::iota(parent.begin(), parent.end(), 0);
  std::vector<int64_t> size(2 * n - 1, 1);
  auto find = [&](int64_t x) {
    int64_t root = x;
    while (parent[root] != root) root = parent[root];
    while (parent[x] != root) x = std::exchange(parent[x], root);
    return root;
  };
  for (int i = 0; i < n - 1; ++i) {
    const int64_t x_root = find(merges[i].a);
    const int64_t y_root = find(merges[i].b);
    merges[i].a = std::min(x_root, y_root);
    merges[i].b = std::max(x_root, y_root);
    const int64_t label = n + i;
    parent[x_root] = parent[y_root] = label;
    size[label] = size[x_root] + size[y_root];
    merges[i].size = size[label];
  }
  return merges;
}

// Walks the tree depth first from the last merge, first cluster first, as SciPy's loops over
// curr_node and a visited set do: enter(row) when a merge is reached, leave(row) once both of its
// clusters are done.
template <typename Enter, typename Leave>
void DepthFirst(const std::vector<Merge>& merges, Enter enter, Leave leave) {
  if (merges.empty()) return;
  const int64_t n = static_cast<int64_t>(merges.size()) + 1;
  std::vector<bool> visited(2 * n - 1, false);
  std::vector<int64_t> stack = {2 * n - 2};
  enter(n - 2);
  while (!stack.empty()) {
    const int64_t row = stack.back() - n;
    const int64_t left = merges[row].a;
    const int64_t right = merges[row].b;
    const int64_t next = left >= n && !visited[left]     ? left
                         : right >= n && !visited[right] ? right
                                                         : -1;
    if (next >= 0) {
      visited[next] = true;
      stack.push_back(next);
      enter(next - n);
      continue;
    }
    leave(row);
    stack.pop_back();
  }
}

// The largest merge distance in each merge's subtree (get_max_dist_for_each_cluster): the
// monotone criterion the flat clusterings cut on.
std::vector<double> MaxDistances(const std::vector<Merge>& merges) {
  const int64_t n = static_cast<int64_t>(merges.size()) + 1;
  std::vector<double> max_distances(merges.size());
  DepthFirst(
      merges, [](int64_t) {},
      [&](int64_t row) {
        double max_distance = merges[row].distance;
        for (int64_t child : {merges[row].a, merges[row].b}) {
          if (child >= n) max_distance = std::max(max_distance, max_distances[child - n]);
        }
        max_distances[row] = max_distance;
      });
  return max_distances;
}

// cluster_monocrit: every highest merge whose criterion is at most `cutoff` is a cluster, every
// observation outside such merges a cluster of its own; labels from 1 in walking order, an
// observation's when its merge is left.
std::vector<int> CutAt(const std::vector<Merge>& merges, const std::vector<double>& criterion,
                       double cutoff) {
  const int64_t n = static_cast<int64_t>(merges.size()) + 1;
  std::vector<int> labels(n, 1);
  int clusters = 0;
  int64_t leader = -1;  // the row of the cluster being labelled, -1 above every cluster
  DepthFirst(
      merges,
      [&](int64_t row) {
        if (leader == -1 && criterion[row] <= cutoff) {
          leader = row;
          ++clusters;
        }
      },
      [&](int64_t row) {
        for (int64_t child : {merges[row].a, merges[row].b}) {
          if (child >= n) continue;
          if (leader == -1) ++clusters;
          labels[child] = clusters;
        }
        if (leader == row) leader = -1;
      });
  return labels;
}

}  // namespace

absl::StatusOr<std::vector<Merge>> LinkageMatrix(const std::vector<double>& square_distances,
                                                 int64_t n, Linkage linkage) {
  if (n < 2) {
    return absl::InvalidArgumentError(absl::StrCat("clustering needs at least 2 series, got ", n));
  }
  if (n > std::numeric_limits<int>::max() / 2) {  // SciPy's int indices, and so ours
    return absl::InvalidArgumentError(absl::StrCat("too many series to cluster: ", n));
  }
  if (static_cast<int64_t>(square_distances.size()) != n * n) {
    return absl::InvalidArgumentError(absl::StrCat("a distance matrix of ", n, " series has ",
                                                   n * n, " values, got ",
                                                   square_distances.size()));
  }
  std::vector<double> condensed;
  condensed.reserve(n * (n - 1) / 2);
  for (int64_t i = 0; i < n; ++i) {
    if (square_distances[i * n + i] != 0.0) {
      return absl::InvalidArgumentError(absl::StrCat("the distance of series ", i, " to itself is ",
                                                     square_distances[i * n + i], ", not 0"));
    }
    for (int64_t j = i + 1; j < n; ++j) {
      const double distance = square_distances[i * n + j];
      if (!std::isfinite(distance)) {
        return absl::InvalidArgumentError(
            absl::StrCat("the distance between series ", i, " and ", j, " is ", distance));
      }
      if (square_distances[j * n + i] != distance) {
        return absl::InvalidArgumentError(
            absl::StrCat("the distance matrix is not symmetric: ", distance, " from series ", i,
                         " to ", j, ", ", square_distances[j * n + i], " back"));
      }
      condensed.push_back(distance);
    }
  }
  const int size = static_cast<int>(n);
  return SortAndRelabel(linkage == Linkage::kSingle
                            ? MinimumSpanningTree(condensed, size)
                            : NearestNeighbourChain(std::move(condensed), size, linkage),
                        size);
}

absl::StatusOr<std::vector<int>> ClustersByCount(const std::vector<Merge>& merges, int64_t k) {
  if (k < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the number of clusters must be at least 1, got ", k));
  }
  const int64_t n = static_cast<int64_t>(merges.size()) + 1;
  if (k >= n) {
    std::vector<int> labels(n);
    std::iota(labels.begin(), labels.end(), 1);
    return labels;
  }
  // Binary search for the first row whose criterion, as the cut, leaves at most k clusters;
  // row -1 stands for a cut below every merge, which leaves n > k. (SciPy counts the clusters
  // of a cut in a walk of its own that stops past k; the count is the same.)
  const std::vector<double> criterion = MaxDistances(merges);
  int64_t lower = -1;
  int64_t upper = n - 1;
  while (upper - lower > 1) {
    const int64_t middle = (lower + upper) >> 1;
    const std::vector<int> labels = CutAt(merges, criterion, criterion[middle]);
    if (*std::max_element(labels.begin(), labels.end()) > k) {
      lower = middle;
    } else {
      upper = middle;
    }
  }
  return CutAt(merges, criterion, criterion[upper]);
}

std::vector<int> ClustersByDistance(const std::vector<Merge>& merges, double t) {
  return CutAt(merges, MaxDistances(merges), t);
}

}  // namespace affsig::analysis
