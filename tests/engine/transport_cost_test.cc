#include "server/engine/transport_cost.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "server/engine/assignment_solver.h"
#include "tests/golden_cases.h"

namespace affsig::engine {
namespace {

class TransportCostTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { at::manual_seed(20261127); }

  static at::TensorOptions Options() {
    return at::TensorOptions().dtype(at::kDouble).device(c10::Device(testing::TestDevice()));
  }

  // The reference: every squared distance from the differences, in float64, and the exact solver.
  static double ReferenceCost(const at::Tensor& source, const at::Tensor& target) {
    const at::Tensor cost =
        (source.unsqueeze(1) - target.unsqueeze(0)).square().sum(2).to(at::kCPU).contiguous();
    auto assignment = SolveAssignment(cost.data_ptr<double>(), source.size(0));
    EXPECT_TRUE(assignment.ok());
    return assignment->total_cost / static_cast<double>(source.size(0));
  }

  static TransportCost Compute(const at::Tensor& source, const at::Tensor& target) {
    auto cost = ComputeTransportCost(source, target);
    EXPECT_TRUE(cost.ok()) << cost.status();
    return cost.ok() ? *cost : TransportCost{};
  }
};

TEST_F(TransportCostTest, ProvesTheFloat32ChoiceOptimalOnGeometricClouds) {
  for (int64_t n : {2, 5, 64, 400}) {
    for (int64_t d : {3, 24}) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " d=" << d);
      const at::Tensor source = at::randn({n, d}, Options());
      // A ReLU-like target: many duplicate points, so many ties.
      const at::Tensor target = at::relu(at::randn({n, d}, Options()));
      const TransportCost cost = Compute(source, target);
      const double reference = ReferenceCost(source, target);
      EXPECT_FALSE(cost.solved_in_float64);
      EXPECT_NEAR(cost.cost, reference, 1e-12 * reference);
    }
  }
}

TEST_F(TransportCostTest, ManyDuplicatePointsStillGiveTheOptimum) {
  // Half the targets are the same point: each is a tie for every row matched to one of them,
  // more pairs than are worth proving one by one.
  for (int64_t n : {2, 64, 400}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    const at::Tensor source = at::randn({n, 1}, Options());
    const at::Tensor target = at::relu(at::randn({n, 1}, Options()));
    const double reference = ReferenceCost(source, target);
    EXPECT_NEAR(Compute(source, target).cost, reference, 1e-12 * reference);
  }
}

TEST_F(TransportCostTest, SolvesNearTiesFloat32CannotOrderInFloat64) {
  // Pairs of source points 1e-4 apart, matched by target points 1e-6 from them: choosing within
  // a pair changes a cost by ~1e-10, below float32's resolution of costs of order 1, while W
  // itself is ~1e-12.
  const int64_t pairs = 100, d = 4;
  const at::Tensor centres = at::randn({pairs, 1, d}, Options());
  const at::Tensor source =
      (centres + 1e-4 * at::randn({pairs, 2, d}, Options())).reshape({2 * pairs, d});
  const at::Tensor target = source + 1e-6 * at::randn({2 * pairs, d}, Options());
  const TransportCost cost = Compute(source, target.flip(0));
  const double reference = ReferenceCost(source, target.flip(0));
  EXPECT_TRUE(cost.solved_in_float64);
  EXPECT_NEAR(cost.cost, reference, 1e-6 * reference);
}

TEST_F(TransportCostTest, SolvesCostsBeyondFloat32RangeInFloat64) {
  const at::Tensor source = 1e20 * at::randn({50, 3}, Options());
  const at::Tensor target = 1e20 * at::randn({50, 3}, Options());
  const TransportCost cost = Compute(source, target);
  EXPECT_TRUE(cost.solved_in_float64);
  EXPECT_NEAR(cost.cost, ReferenceCost(source, target), 1e-9 * cost.cost);
}

TEST_F(TransportCostTest, IdenticalSourcePointsCostTheTargetsMeanSquaredDistance) {
  // Every permutation is optimal: the degenerate map's case.
  for (int64_t n : {3, 300}) {
    const at::Tensor source = at::zeros({n, 5}, Options());
    const at::Tensor target = at::randn({n, 5}, Options());
    const TransportCost cost = Compute(source, target);
    EXPECT_NEAR(cost.cost, target.square().sum(1).mean().item<double>(), 1e-12 * cost.cost);
  }
}

}  // namespace
}  // namespace affsig::engine
