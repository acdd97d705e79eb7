#include "server/engine/tensor_reduction.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace affsig::engine {
namespace {

constexpr double kNearZero = 1e-3;
constexpr int64_t kCountGrain = 1 << 16;  // values per task of the parallel count

// The largest float32 at or below 1e-3: float32 |v| <= it exactly when float64 |v| <= 1e-3 (1e-3
// itself rounds up in float32).
float Float32NearZero() {
  float threshold = static_cast<float>(kNearZero);
  if (static_cast<double>(threshold) > kNearZero) threshold = std::nextafter(threshold, 0.0f);
  return threshold;
}

// Written for the vectoriser (this file is compiled with -O3): 32-bit counts over blocks too short
// to overflow them.
int64_t CountWithin(const float* values, int64_t count, float threshold) {
  constexpr int64_t kBlock = int64_t{1} << 30;
  int64_t total = 0;
  for (int64_t start = 0; start < count; start += kBlock) {
    const int64_t end = std::min(count, start + kBlock);
    int32_t block = 0;
    for (int64_t i = start; i < end; ++i) block += std::fabs(values[i]) <= threshold;
    total += block;
  }
  return total;
}

}  // namespace

at::Tensor ReduceToSamples(const at::Tensor& activation) {
  at::Tensor t = activation.detach();
  // Reduce in the activation's own precision, as the paper does, but never below float32.
  if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble) t = t.to(at::kFloat);
  at::Tensor reduced;
  switch (t.dim()) {
    case 0:
      reduced = t.reshape({1, 1}).clone();
      break;
    case 1:
      reduced = t.unsqueeze(1).clone();
      break;
    case 2:
      reduced = t.clone();
      break;
    case 3:
      reduced = t.mean(-1);
      break;
    case 4:
      reduced = t.mean({2, 3});
      break;
    default:
      reduced = t.flatten(2).mean(-1);
      break;
  }
  return reduced.contiguous();
}

NearZeroCount CountNearZero(const at::Tensor& activation) {
  at::Tensor t = activation.detach();
  NearZeroCount count;
  count.total = t.numel();
  if (count.total == 0) return count;
  if (t.scalar_type() == at::kDouble) {
    count.near_zero = t.abs().le(kNearZero).sum().item<int64_t>();
    return count;
  }
  if (t.scalar_type() != at::kFloat) t = t.to(at::kFloat);
  const float threshold = Float32NearZero();
  if (!t.is_cpu() || !t.is_non_overlapping_and_dense()) {
    count.near_zero = t.abs().le(threshold).sum().item<int64_t>();
    return count;
  }
  // Dense: the values fill [data, data + numel) in some order, which a count ignores.
  const float* data = t.data_ptr<float>();
  count.near_zero = at::parallel_reduce(
      0, count.total, kCountGrain, int64_t{0},
      [&](int64_t begin, int64_t end, int64_t partial) {
        return partial + CountWithin(data + begin, end - begin, threshold);
      },
      std::plus<int64_t>());
  return count;
}

}  // namespace affsig::engine
