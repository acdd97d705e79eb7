// Ledoit and Wolf's shrunk covariance as scikit-learn's LedoitWolf estimates it:
// (1 - s) S + s mu I, with S the maximum-likelihood covariance of the samples (divided by N),
// mu = trace(S) / d and the shrinkage s from the samples' fourth moments. The shrinkage variant of
// the affinity score (docs/affinity-score.md, section 5) maps between such covariances.
#ifndef AFFSIG_SERVER_ENGINE_LEDOIT_WOLF_H_
#define AFFSIG_SERVER_ENGINE_LEDOIT_WOLF_H_

namespace at {
class Tensor;
}

namespace affsig::engine {

struct LedoitWolfShrinkage {
  double shrinkage = 0.0;  // s, in [0, 1]
  double mu = 0.0;         // trace(S) / d
};

// Of centred samples (N x d, float64, any device), by scikit-learn's ledoit_wolf_shrinkage:
// a single feature is not shrunk.
LedoitWolfShrinkage EstimateLedoitWolf(const at::Tensor& centered);

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_LEDOIT_WOLF_H_
