#include "server/analysis/signature_distance.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <thread>
#include <utility>

#include "Eigen/Core"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace affsig::analysis {
namespace {

// DTW's recurrence is a chain (each cell waits for its left neighbour), so one pair at a time
// leaves the core idle between dependent instructions. Pairs of the same lengths run together
// instead, one per SIMD lane: eight chains that advance side by side (Eigen packets; 3x one pair
// at a time in bench/analysis_benchmark, and faster than four lanes).
constexpr int kLanes = 8;
using Lanes = Eigen::Array<double, kLanes, 1>;

double Min(double x, double y) { return y < x ? y : x; }
Lanes Min(const Lanes& x, const Lanes& y) { return x.min(y); }

// The smallest path sum of DTW between a[0..n) and b[0..m), for one pair (double) or kLanes
// pairs (Lanes), row by row in one rolling row of the cost matrix. The operations are the same
// for both, so a pair's distance does not depend on which lanes it shared.
template <typename Value>
Value SmallestPathSum(const Value* a, int64_t n, const Value* b, int64_t m) {
  std::vector<Value> row(m);
  const Value corner = a[0] - b[0];
  Value left = corner * corner;
  row[0] = left;
  for (int64_t j = 1; j < m; ++j) {
    const Value difference = a[0] - b[j];
    left = left + difference * difference;
    row[j] = left;
  }
  for (int64_t i = 1; i < n; ++i) {
    Value diagonal = row[0];
    const Value first = a[i] - b[0];
    left = row[0] + first * first;
    row[0] = left;
    for (int64_t j = 1; j < m; ++j) {
      const Value up = row[j];
      const Value difference = a[i] - b[j];
      left = Min(Min(diagonal, up), left) + difference * difference;
      diagonal = up;
      row[j] = left;
    }
  }
  return row[m - 1];
}

// Calls body(k) for every k in [0, count), on up to `threads` threads that each take the next k.
void ParallelFor(int64_t count, int threads, const std::function<void(int64_t)>& body) {
  if (threads < 1) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, count));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t k = next++; k < count; k = next++) body(k);
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& helper : helpers) helper.join();
}

struct Pair {
  int64_t a = 0;  // the shorter series of the two (DTW is symmetric)
  int64_t b = 0;
};

// Every pair, in blocks of up to kLanes pairs of the same two lengths.
std::vector<std::vector<Pair>> DtwBlocks(const std::vector<NamedSeries>& series) {
  std::map<std::pair<size_t, size_t>, std::vector<Pair>> by_lengths;
  for (size_t i = 0; i < series.size(); ++i) {
    for (size_t j = i + 1; j < series.size(); ++j) {
      Pair pair{static_cast<int64_t>(i), static_cast<int64_t>(j)};
      if (series[j].values.size() < series[i].values.size()) std::swap(pair.a, pair.b);
      by_lengths[{series[pair.a].values.size(), series[pair.b].values.size()}].push_back(pair);
    }
  }
  std::vector<std::vector<Pair>> blocks;
  for (const auto& [lengths, pairs] : by_lengths) {
    for (size_t start = 0; start < pairs.size(); start += kLanes) {
      const size_t end = std::min(pairs.size(), start + kLanes);
      blocks.emplace_back(pairs.begin() + start, pairs.begin() + end);
    }
  }
  return blocks;
}

// The DTW distances of one block into the matrix; unused lanes repeat the block's first pair.
void DtwBlock(const std::vector<NamedSeries>& series, const std::vector<Pair>& block,
              std::vector<double>& matrix) {
  const std::vector<double>& first_a = series[block.front().a].values;
  const std::vector<double>& first_b = series[block.front().b].values;
  const int64_t n = static_cast<int64_t>(first_a.size());
  const int64_t m = static_cast<int64_t>(first_b.size());
  std::vector<Lanes> a(n);
  std::vector<Lanes> b(m);
  for (int lane = 0; lane < kLanes; ++lane) {
    const Pair& pair = block[lane < static_cast<int>(block.size()) ? lane : 0];
    for (int64_t i = 0; i < n; ++i) a[i][lane] = series[pair.a].values[i];
    for (int64_t j = 0; j < m; ++j) b[j][lane] = series[pair.b].values[j];
  }
  const Lanes sums = SmallestPathSum(a.data(), n, b.data(), m);
  const int64_t size = static_cast<int64_t>(series.size());
  for (size_t lane = 0; lane < block.size(); ++lane) {
    const double distance = std::sqrt(sums[static_cast<Eigen::Index>(lane)]);
    matrix[block[lane].a * size + block[lane].b] = distance;
    matrix[block[lane].b * size + block[lane].a] = distance;
  }
}

absl::Status CheckValues(const NamedSeries& series) {
  if (series.values.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("series '", series.name, "' has no values (no scored entry)"));
  }
  for (size_t i = 0; i < series.values.size(); ++i) {
    if (!std::isfinite(series.values[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("series '", series.name, "' holds ", series.values[i], " at position ", i));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEqualLengths(const std::vector<NamedSeries>& series, SignatureDistance distance) {
  for (const NamedSeries& other : series) {
    if (other.values.size() != series.front().values.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(SignatureDistanceName(distance), " distance needs series of one length: '",
                       series.front().name, "' has ", series.front().values.size(), " values, '",
                       other.name, "' has ", other.values.size(),
                       " values; resampling every series to one length (--resample=L) makes them "
                       "equal, or use dtw"));
    }
  }
  return absl::OkStatus();
}

// Each series minus its mean, for Pearson's r; INVALID_ARGUMENT for a constant series, whose r
// is undefined. Constant means exactly equal values: their mean, rounded, may not be.
absl::StatusOr<std::vector<std::vector<double>>> Centred(const std::vector<NamedSeries>& series) {
  std::vector<std::vector<double>> centred;
  for (const NamedSeries& one : series) {
    const std::vector<double>& values = one.values;
    if (std::all_of(values.begin(), values.end(), [&](double v) { return v == values[0]; })) {
      return absl::InvalidArgumentError(
          absl::StrCat("correlation distance is undefined for the constant series '", one.name,
                       "' (all ", values.size(), " values are ", values[0], ")"));
    }
    double sum = 0.0;
    for (double v : values) sum += v;
    const double mean = sum / static_cast<double>(values.size());
    std::vector<double>& row = centred.emplace_back();
    for (double v : values) row.push_back(v - mean);
  }
  return centred;
}

double Dot(const std::vector<double>& x, const std::vector<double>& y) {
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) sum += x[i] * y[i];
  return sum;
}

}  // namespace

std::vector<double> Resample(absl::Span<const double> values, int64_t length) {
  if (values.empty() || length < 1) return {};
  std::vector<double> resampled(length, values.front());
  const int64_t last = static_cast<int64_t>(values.size()) - 1;
  if (last == 0 || length == 1) return resampled;
  for (int64_t k = 1; k < length; ++k) {
    // Position k/(length-1) of the way along `values`, in units of its steps.
    const double position =
        static_cast<double>(k) * static_cast<double>(last) / static_cast<double>(length - 1);
    const int64_t below = std::min(static_cast<int64_t>(position), last);
    const double fraction = position - static_cast<double>(below);
    resampled[k] = below == last ? values[last]
                                 : values[below] + fraction * (values[below + 1] - values[below]);
  }
  return resampled;
}

double Dtw(absl::Span<const double> a, absl::Span<const double> b) {
  if (a.empty() || b.empty()) return std::numeric_limits<double>::infinity();
  return std::sqrt(SmallestPathSum(a.data(), static_cast<int64_t>(a.size()), b.data(),
                                   static_cast<int64_t>(b.size())));
}

absl::StatusOr<std::vector<double>> PairwiseDistances(const std::vector<NamedSeries>& series,
                                                      SignatureDistance distance, int threads) {
  for (const NamedSeries& one : series) RETURN_IF_ERROR(CheckValues(one));
  const int64_t n = static_cast<int64_t>(series.size());
  std::vector<double> matrix(n * n, 0.0);
  switch (distance) {
    case SignatureDistance::kDtw: {
      const std::vector<std::vector<Pair>> blocks = DtwBlocks(series);
      ParallelFor(static_cast<int64_t>(blocks.size()), threads,
                  [&](int64_t k) { DtwBlock(series, blocks[k], matrix); });
      break;
    }
    case SignatureDistance::kEuclidean: {
      RETURN_IF_ERROR(CheckEqualLengths(series, distance));
      ParallelFor(n, threads, [&](int64_t i) {
        for (int64_t j = i + 1; j < n; ++j) {
          double sum = 0.0;
          for (size_t t = 0; t < series[i].values.size(); ++t) {
            const double difference = series[i].values[t] - series[j].values[t];
            sum += difference * difference;
          }
          matrix[i * n + j] = matrix[j * n + i] = std::sqrt(sum);
        }
      });
      break;
    }
    case SignatureDistance::kCorrelation: {
      RETURN_IF_ERROR(CheckEqualLengths(series, distance));
      ASSIGN_OR_RETURN(const std::vector<std::vector<double>> centred, Centred(series));
      std::vector<double> squares(n);
      for (int64_t i = 0; i < n; ++i) squares[i] = Dot(centred[i], centred[i]);
      ParallelFor(n, threads, [&](int64_t i) {
        for (int64_t j = i + 1; j < n; ++j) {
          const double r = Dot(centred[i], centred[j]) / std::sqrt(squares[i] * squares[j]);
          matrix[i * n + j] = matrix[j * n + i] = std::clamp(1.0 - r, 0.0, 2.0);
        }
      });
      break;
    }
  }
  return matrix;
}

}  // namespace affsig::analysis
