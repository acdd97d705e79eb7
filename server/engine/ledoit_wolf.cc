#include "server/engine/ledoit_wolf.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace affsig::engine {

LedoitWolfShrinkage EstimateLedoitWolf(const at::Tensor& centered) {
  const auto n = static_cast<double>(centered.size(0));
  const auto d = static_cast<double>(centered.size(1));
  const at::Tensor squares = centered.square();
  // trace(S), and scikit-learn's names for the rest: beta_ sums the entries of X2^T X2 (X2 the
  // squared samples), i.e. the squared norms of the rows, squared; delta_ the squared entries of
  // X^T X, i.e. ||X^T X||_F^2 = ||X X^T||_F^2, from the smaller of the two products.
  const double trace = squares.sum().item<double>() / n;
  LedoitWolfShrinkage result;
  result.mu = trace / d;
  if (centered.size(1) == 1) return result;
  const double beta_sum = squares.sum(1).square().sum().item<double>();
  const at::Tensor gram = centered.size(0) < centered.size(1)
                              ? at::matmul(centered, centered.transpose(0, 1))
                              : at::matmul(centered.transpose(0, 1), centered);
  const double delta_sum = gram.square().sum().item<double>() / (n * n);
  const double beta = 1.0 / (d * n) * (beta_sum / n - delta_sum);
  const double delta = (delta_sum - 2.0 * result.mu * trace + d * result.mu * result.mu) / d;
  // As scikit-learn does, also where rounding makes delta (||S - mu I||^2 / d) negative.
  const double bounded = std::min(beta, delta);
  result.shrinkage = bounded == 0 ? 0.0 : bounded / delta;
  return result;
}

}  // namespace affsig::engine
