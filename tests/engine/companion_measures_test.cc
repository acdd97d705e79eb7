// The companion measures (docs/affinity-score.md, section 5) within 1e-6 of measures_reference.py
// (scikit-learn's LedoitWolf, LinearRegression and r2_score, NumPy), run on the same matrices:
// the shared golden pairs, random pairs of every shape the score's paths take, a real model's
// activations as the engine captures them; sparsity on the unreduced tensors of a model that
// returns them; and cases whose answers are known.
#include "server/engine/companion_measures.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/npy.h"
#include "server/engine/activation_capture.h"
#include "server/engine/ledoit_wolf.h"
#include "server/engine/npy_tensor.h"
#include "server/engine/signature_engine.h"
#include "tests/golden_cases.h"
#include "tests/python_reference.h"
#include "tests/scratch_dir.h"

namespace affsig::engine {
namespace {

constexpr double kTolerance = 1e-6;

// measures_reference.py's line for one call: the measures but sparsity, then the Ledoit-Wolf
// shrinkage of x and of y.
struct Reference {
  double shrinkage_score = 0.0;
  double cka = 0.0;
  double entropy_before = 0.0;
  double entropy_after = 0.0;
  double norm = 0.0;
  double r2 = 0.0;
  double shrinkage_x = 0.0;
  double shrinkage_y = 0.0;
};

double ValueOf(const std::vector<MeasureValue>& values, Measure measure) {
  for (const MeasureValue& value : values) {
    if (value.measure == measure) return value.mean;
  }
  ADD_FAILURE() << "no " << MeasureName(measure);
  return std::numeric_limits<double>::quiet_NaN();
}

// NaN on both sides is a match: a measure undefined for both.
void ExpectNear(double actual, double expected, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual << ", expected nan";
  } else {
    EXPECT_NEAR(actual, expected, kTolerance) << what;
  }
}

void ExpectMatches(const std::vector<MeasureValue>& values, const Reference& reference,
                   const std::string& name) {
  ExpectNear(ValueOf(values, Measure::kShrinkageScore), reference.shrinkage_score,
             name + " shrinkage_score");
  ExpectNear(ValueOf(values, Measure::kCka), reference.cka, name + " cka");
  ExpectNear(ValueOf(values, Measure::kEntropyBefore), reference.entropy_before,
             name + " entropy_before");
  ExpectNear(ValueOf(values, Measure::kEntropyAfter), reference.entropy_after,
             name + " entropy_after");
  ExpectNear(ValueOf(values, Measure::kNorm), reference.norm, name + " norm");
  ExpectNear(ValueOf(values, Measure::kR2), reference.r2, name + " r2");
}

double Fraction(const NearZeroCount& count) {
  return static_cast<double>(count.near_zero) / static_cast<double>(count.total);
}

at::TensorOptions Options() {
  return at::TensorOptions().dtype(at::kFloat).device(c10::Device(testing::TestDevice()));
}

class CompanionMeasuresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { at::manual_seed(20261203); }
  void SetUp() override { dir_ = testing::FreshScratchDir(); }

  // The tensor as a .npy file of the scratch directory.
  std::string Write(const at::Tensor& tensor) {
    const std::string path = (dir_ / absl::StrCat("t", files_++, ".npy")).string();
    auto array = NpyFromTensor(tensor);
    EXPECT_TRUE(array.ok()) << array.status();
    if (array.ok()) EXPECT_TRUE(WriteNpyFile(path, *array).ok());
    return path;
  }

  std::vector<std::vector<std::string>> RunReference(const std::string& command,
                                                     const std::string& input) {
    auto lines = testing::RunPythonReference(AFFSIG_MEASURES_REFERENCE, command, input, dir_);
    EXPECT_TRUE(lines.ok()) << lines.status();
    return lines.ok() ? *lines : std::vector<std::vector<std::string>>();
  }

  std::vector<Reference> References(const std::vector<std::pair<at::Tensor, at::Tensor>>& pairs) {
    std::string input;
    for (const auto& [x, y] : pairs) absl::StrAppend(&input, Write(x), " ", Write(y), "\n");
    std::vector<Reference> references;
    for (const std::vector<std::string>& words : RunReference("measures", input)) {
      EXPECT_EQ(words.size(), 8u);
      if (words.size() != 8) continue;
      references.push_back({testing::ParseNumber(words[0]), testing::ParseNumber(words[1]),
                            testing::ParseNumber(words[2]), testing::ParseNumber(words[3]),
                            testing::ParseNumber(words[4]), testing::ParseNumber(words[5]),
                            testing::ParseNumber(words[6]), testing::ParseNumber(words[7])});
    }
    EXPECT_EQ(references.size(), pairs.size());
    return references;
  }

  std::vector<double> ReferenceSparsity(const std::vector<at::Tensor>& tensors) {
    std::string input;
    for (const at::Tensor& tensor : tensors) absl::StrAppend(&input, Write(tensor), "\n");
    std::vector<double> fractions;
    for (const std::vector<std::string>& words : RunReference("sparsity", input)) {
      fractions.push_back(words.empty() ? -1.0 : testing::ParseNumber(words[0]));
    }
    EXPECT_EQ(fractions.size(), tensors.size());
    return fractions;
  }

  // Every measure of each pair against the reference, the pairs being their own unreduced
  // tensors (2-D: reduction leaves them as they are), and the Ledoit-Wolf shrinkages.
  void ExpectPairsMatch(const std::vector<std::string>& names,
                        const std::vector<std::pair<at::Tensor, at::Tensor>>& pairs) {
    const std::vector<Reference> references = References(pairs);
    std::vector<at::Tensor> tensors;
    for (const auto& [x, y] : pairs) tensors.insert(tensors.end(), {x, y});
    const std::vector<double> sparsity = ReferenceSparsity(tensors);
    ASSERT_EQ(references.size(), pairs.size());
    ASSERT_EQ(sparsity.size(), 2 * pairs.size());
    for (size_t i = 0; i < pairs.size(); ++i) {
      SCOPED_TRACE(names[i]);
      const auto& [x, y] = pairs[i];
      auto measures = ComputeCompanionMeasures(x, y, {CountNearZero(x), CountNearZero(y)},
                                               MeasureSelection::All());
      ASSERT_TRUE(measures.ok()) << measures.status();
      ExpectMatches(*measures, references[i], names[i]);
      ExpectNear(ValueOf(*measures, Measure::kSparsityBefore), sparsity[2 * i], "sparsity_before");
      ExpectNear(ValueOf(*measures, Measure::kSparsityAfter), sparsity[2 * i + 1],
                 "sparsity_after");
      const at::Tensor xd = x.to(at::kDouble);
      const at::Tensor yd = y.to(at::kDouble);
      ExpectNear(EstimateLedoitWolf(xd - xd.mean(0, true)).shrinkage, references[i].shrinkage_x,
                 "shrinkage of x");
      ExpectNear(EstimateLedoitWolf(yd - yd.mean(0, true)).shrinkage, references[i].shrinkage_y,
                 "shrinkage of y");
    }
  }

  std::filesystem::path dir_;
  int files_ = 0;
};

TEST_F(CompanionMeasuresTest, MatchTheReferenceOnEveryGoldenPair) {
  auto golden = testing::ReadGoldenSet(testing::SharedGoldenDir());
  ASSERT_TRUE(golden.ok()) << golden.status();
  ASSERT_FALSE(golden->pairs.empty());
  std::vector<std::string> names;
  std::vector<std::pair<at::Tensor, at::Tensor>> pairs;
  for (const testing::GoldenPair& pair : golden->pairs) {
    auto x = ReadNpyTensor(pair.x_path);
    auto y = ReadNpyTensor(pair.y_path);
    ASSERT_TRUE(x.ok() && y.ok());
    names.push_back(pair.name);
    pairs.emplace_back(x->to(Options().device()), y->to(Options().device()));
  }
  ExpectPairsMatch(names, pairs);
}

TEST_F(CompanionMeasuresTest, MatchTheReferenceOnRandomPairsOfEveryShape) {
  std::vector<std::string> names;
  std::vector<std::pair<at::Tensor, at::Tensor>> pairs;
  auto add = [&](const std::string& name, const at::Tensor& x, const at::Tensor& y) {
    names.push_back(name);
    pairs.emplace_back(x, y);
  };
  auto correlated = [](int64_t n, int64_t d) {
    return at::matmul(at::randn({n, d}, Options()), at::randn({d, d}, Options())) /
           std::sqrt(static_cast<double>(d));
  };
  // N > d: the map from d x d covariances, R^2 an inexact fit.
  const at::Tensor tall = correlated(200, 12) + 0.3;
  add("relu 200 x 12", tall, at::relu(tall));
  // d > 2N: the map in the span of the samples, with other ridges outside it for x and y.
  const at::Tensor wide = correlated(16, 100);
  add("tanh 16 x 100", wide, at::tanh(2.0 * wide));
  // N <= d: an exact fit (R^2 = 1), the spec's form of the map on N x d samples.
  const at::Tensor square = correlated(30, 40);
  add("gelu 30 x 40", square, at::gelu(square));
  // Outputs dead in every sample (constant columns) and exact zeros: R^2's convention for
  // constant outputs, sparsity.
  const at::Tensor shifted = correlated(100, 10) - 1.5;
  add("relu with dead outputs", shifted, at::relu(shifted));
  // An input constant in one feature: a rank-deficient fit, decided as LAPACK's gelsd decides.
  at::Tensor constant_feature = correlated(60, 6);
  constant_feature.select(1, 2).fill_(0.25);
  add("sigmoid of a constant feature", constant_feature, at::sigmoid(constant_feature));
  // The output constant everywhere: CKA undefined, the shrinkage score that of A = 0.
  add("constant output", tall, at::zeros_like(tall) + 2.0);
  ExpectPairsMatch(names, pairs);
}

TEST_F(CompanionMeasuresTest, AnIdentityActivationIsAffineCorrelatedAndExactlyFitted) {
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{300, 16}, {12, 40}}) {
    SCOPED_TRACE(absl::StrCat(n, " x ", d));
    const at::Tensor x = at::matmul(at::randn({n, d}, Options()), at::randn({d, d}, Options()));
    auto measures = ComputeCompanionMeasures(x, x, {CountNearZero(x), CountNearZero(x)},
                                             MeasureSelection::All());
    ASSERT_TRUE(measures.ok()) << measures.status();
    EXPECT_NEAR(ValueOf(*measures, Measure::kShrinkageScore), 1.0, kTolerance);
    EXPECT_NEAR(ValueOf(*measures, Measure::kCka), 1.0, 1e-12);
    EXPECT_EQ(ValueOf(*measures, Measure::kNorm), 0.0);
    EXPECT_NEAR(ValueOf(*measures, Measure::kR2), 1.0, 1e-12);
    EXPECT_EQ(ValueOf(*measures, Measure::kEntropyBefore),
              ValueOf(*measures, Measure::kEntropyAfter));
    EXPECT_EQ(ValueOf(*measures, Measure::kSparsityBefore),
              ValueOf(*measures, Measure::kSparsityAfter));
  }
}

TEST_F(CompanionMeasuresTest, GiveOnlyTheMeasuresAskedForInMeasureOrder) {
  const at::Tensor x = at::randn({50, 8}, Options());
  MeasureSelection selection;
  selection.r2 = true;
  selection.entropy = true;
  auto measures = ComputeCompanionMeasures(x, at::tanh(x), {}, selection);
  ASSERT_TRUE(measures.ok()) << measures.status();
  ASSERT_EQ(measures->size(), 3u);
  EXPECT_EQ((*measures)[0].measure, Measure::kEntropyBefore);
  EXPECT_EQ((*measures)[1].measure, Measure::kEntropyAfter);
  EXPECT_EQ((*measures)[2].measure, Measure::kR2);
}

TEST_F(CompanionMeasuresTest, NearZeroValuesAreCountedAsFloat64ComparesThem) {
  // 1e-3 rounds up in float32: the float32 value nearest it is above 1e-3 and does not count.
  const float above = static_cast<float>(1e-3);
  ASSERT_GT(static_cast<double>(above), 1e-3);
  const float below = std::nextafter(above, 0.0f);
  const at::Tensor values = at::tensor(
      {0.0f, -below, below, above, -above, 1.0f, std::numeric_limits<float>::quiet_NaN()});
  EXPECT_EQ(CountNearZero(values).near_zero, 3);
  EXPECT_EQ(CountNearZero(values).total, 7);
  // The same through tensor operations (a strided view) and in float64.
  EXPECT_EQ(CountNearZero(values.repeat({2}).slice(0, 0, 14, 2)).near_zero, 3);
  EXPECT_EQ(CountNearZero(values.to(at::kDouble)).near_zero, 3);
}

// The engine's entries: every measure of every call of a real model against the reference on
// the reduced tensors the capture gives, and sparsity as the capture counted it.
TEST_F(CompanionMeasuresTest, MatchTheReferenceOnARealModelsActivations) {
  struct Case {
    std::string model;
    std::string input;
    ActivationMode mode;
  };
  const std::string shared = testing::SharedGoldenDir();
  const std::string committed = testing::CommittedFixtureDir();
  for (const Case& c :
       {Case{shared + "/visible_net.pt", shared + "/visible_net.input.npy",
             ActivationMode::kModules},
        Case{committed + "/cnn_reused_relu_traced.pt",
             committed + "/cnn_reused_relu_traced.input.npy", ActivationMode::kAll}}) {
    SCOPED_TRACE(c.model);
    auto batch = ReadNpyTensor(c.input);
    ASSERT_TRUE(batch.ok());
    // The calls as the engine captures them, from the model's own forward.
    torch::jit::Module module = torch::jit::load(c.model);
    module.eval();
    auto forward = InstrumentedForward::Create(module, c.mode);
    ASSERT_TRUE(forward.ok()) << forward.status();
    CaptureRecorder recorder((*forward)->sites(), nullptr, /*count_near_zero=*/true);
    std::vector<CapturedCall> calls;
    {
      c10::InferenceMode inference;
      ASSERT_TRUE((*forward)->Run({*batch}, recorder).ok());
      calls = recorder.TakeCalls();
    }
    auto model = SignatureModel::Load(c.model, {"cpu"}, {/*optimize=*/false});
    ASSERT_TRUE(model.ok()) << model.status();
    auto signature = (*model)->Compute(*batch, {c.mode, {}, MeasureSelection::All()});
    ASSERT_TRUE(signature.ok()) << signature.status();
    ASSERT_EQ(signature->size(), calls.size());
    std::vector<std::pair<at::Tensor, at::Tensor>> pairs;
    for (const CapturedCall& call : calls) pairs.emplace_back(call.input, call.output);
    const std::vector<Reference> references = References(pairs);
    ASSERT_EQ(references.size(), calls.size());
    for (size_t i = 0; i < calls.size(); ++i) {
      const SignatureEntry& entry = (*signature)[i];
      const std::string name = absl::StrCat(entry.module, " #", entry.call);
      ASSERT_EQ(entry.status, EntryStatus::kOk) << name << ": " << entry.reason;
      ExpectMatches(entry.measures, references[i], name);
      EXPECT_EQ(ValueOf(entry.measures, Measure::kSparsityBefore),
                Fraction(calls[i].input_near_zero))
          << name;
      EXPECT_EQ(ValueOf(entry.measures, Measure::kSparsityAfter),
                Fraction(calls[i].output_near_zero))
          << name;
    }
  }
}

// A model that returns the tensors its in-place ReLU reads and writes, so that the reference can
// count them unreduced; run optimized too (its 4-D tensors channels_last).
TEST_F(CompanionMeasuresTest, SparsityIsThatOfTheUnreducedTensorsBeforeAndAfter) {
  torch::jit::Module probe("Probe");
  probe.register_parameter("weight", at::randn({6, 3, 3, 3}), /*is_buffer=*/false);
  probe.define(R"JIT(
def forward(self, x):
    h = torch.conv2d(x, self.weight, None, [1], [1])
    before = h.clone()
    after = torch.relu_(h)
    return before, after
)JIT");
  probe.eval();
  const std::string path = (dir_ / "probe.pt").string();
  probe.save(path);
  // Samples of zeros give exact zeros before the activation too.
  at::Tensor batch = at::randn({10, 3, 12, 12});
  batch.slice(0, 0, 3).zero_();
  MeasureSelection sparsity;
  sparsity.sparsity = true;
  for (bool optimize : {false, true}) {
    SCOPED_TRACE(optimize ? "optimized" : "the model's own forward");
    auto model = SignatureModel::Load(path, {"cpu"}, {optimize});
    ASSERT_TRUE(model.ok()) << model.status();
    std::vector<at::Tensor> outputs;
    auto signature = (*model)->Compute(batch, {ActivationMode::kAll, {}, sparsity}, {}, &outputs);
    ASSERT_TRUE(signature.ok()) << signature.status();
    ASSERT_EQ(signature->size(), 1u);
    ASSERT_EQ(outputs.size(), 2u);
    const std::vector<double> reference = ReferenceSparsity(outputs);
    ASSERT_EQ(reference.size(), 2u);
    EXPECT_GT(reference[0], 0.25);
    EXPECT_GT(reference[1], reference[0]);
    const std::vector<MeasureValue>& measures = signature->front().measures;
    ASSERT_EQ(measures.size(), 2u);
    ExpectNear(ValueOf(measures, Measure::kSparsityBefore), reference[0], "sparsity_before");
    ExpectNear(ValueOf(measures, Measure::kSparsityAfter), reference[1], "sparsity_after");
  }
}

TEST_F(CompanionMeasuresTest, AJobWithoutMeasuresGetsNone) {
  const std::string dir = testing::CommittedFixtureDir();
  auto model = SignatureModel::Load(dir + "/mlp_mixed.pt", {"cpu"});
  ASSERT_TRUE(model.ok()) << model.status();
  auto batch = ReadNpyTensor(dir + "/mlp_mixed.input.npy");
  ASSERT_TRUE(batch.ok());
  auto plain = (*model)->Compute(*batch, {});
  ASSERT_TRUE(plain.ok()) << plain.status();
  for (const SignatureEntry& entry : *plain) EXPECT_TRUE(entry.measures.empty());
  MeasureSelection cka;
  cka.cka = true;
  auto measured = (*model)->Compute(*batch, {ActivationMode::kModules, {}, cka});
  ASSERT_TRUE(measured.ok()) << measured.status();
  bool unscored = false;
  for (const SignatureEntry& entry : *measured) {
    if (entry.status != EntryStatus::kOk) {
      unscored = true;  // the GLU: input and output of other widths
      EXPECT_TRUE(entry.measures.empty());
      continue;
    }
    ASSERT_EQ(entry.measures.size(), 1u);
    EXPECT_EQ(entry.measures[0].measure, Measure::kCka);
  }
  EXPECT_TRUE(unscored);
}

}  // namespace
}  // namespace affsig::engine
