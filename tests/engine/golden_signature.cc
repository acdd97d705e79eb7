#include "tests/engine/golden_signature.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <vector>

#include "server/engine/npy_tensor.h"
#include "server/engine/signature_engine.h"
#include "tests/golden_cases.h"

namespace affsig::engine {
namespace {

void ExpectSameOutputs(const std::vector<at::Tensor>& actual,
                       const std::vector<at::Tensor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    if (actual[i].device().is_cpu()) {
      EXPECT_TRUE(at::equal(actual[i], expected[i])) << "output " << i << " changed by capture";
    } else {
      EXPECT_TRUE(at::allclose(actual[i], expected[i], 1e-5, 1e-6)) << "output " << i;
    }
  }
}

// The signature of a golden model through one forward path, checked entry by entry.
Signature ExpectMatchesGoldenModelWith(const testing::GoldenModel& expected, bool optimize) {
  SCOPED_TRACE(optimize ? "optimized forward" : "unoptimized forward");
  auto model = SignatureModel::Load(expected.model_path, {testing::TestDevice()}, {optimize});
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  auto batch = ReadNpyTensor(expected.input_path);
  EXPECT_TRUE(batch.ok()) << batch.status();
  auto mode = ParseActivationMode(expected.activations);
  EXPECT_TRUE(mode.ok());
  if (!batch.ok() || !mode.ok()) return {};

  std::vector<at::Tensor> captured_outputs;
  auto signature = (*model)->Compute(*batch, {*mode}, {}, &captured_outputs);
  EXPECT_TRUE(signature.ok()) << signature.status();
  if (!signature.ok()) return {};
  auto bare_outputs = (*model)->Forward(*batch);
  EXPECT_TRUE(bare_outputs.ok()) << bare_outputs.status();
  if (bare_outputs.ok()) ExpectSameOutputs(captured_outputs, *bare_outputs);
  // Every golden model freezes: a fallback here would compare the unoptimized path with itself.
  EXPECT_EQ((*model)->unoptimized_reason(), "");

  EXPECT_EQ(signature->size(), expected.signature.size());
  for (size_t i = 0; i < expected.signature.size() && i < signature->size(); ++i) {
    const testing::GoldenEntry& want = expected.signature[i];
    const SignatureEntry& got = (*signature)[i];
    SCOPED_TRACE(::testing::Message()
                 << "entry " << i << " " << want.module << " #" << want.call << " " << want.op);
    EXPECT_EQ(got.index, static_cast<int64_t>(i));
    EXPECT_EQ(got.module, want.module);
    EXPECT_EQ(got.call, want.call);
    EXPECT_EQ(got.op, want.op);
    EXPECT_EQ(EntryStatusName(got.status), want.status) << got.reason;
    if (want.status == "ok") EXPECT_NEAR(got.score, want.score, kGoldenScoreTolerance);
  }
  return *std::move(signature);
}

// Both forward paths match the golden signature; how far apart they are is printed, for
// docs/benchmarks.md.
void ExpectMatchesGoldenModel(const testing::GoldenModel& expected) {
  const Signature optimized = ExpectMatchesGoldenModelWith(expected, /*optimize=*/true);
  const Signature unoptimized = ExpectMatchesGoldenModelWith(expected, /*optimize=*/false);
  if (optimized.size() != unoptimized.size()) return;
  double largest = 0;
  for (size_t i = 0; i < optimized.size(); ++i) {
    if (optimized[i].status == EntryStatus::kOk && unoptimized[i].status == EntryStatus::kOk) {
      largest = std::max(largest, std::abs(optimized[i].score - unoptimized[i].score));
    }
  }
  std::cout << "[ forward  ] " << expected.name << ": " << optimized.size()
            << " entries, largest score difference optimized - unoptimized " << largest << "\n";
}

}  // namespace

void ExpectMatchesGoldenSet(const std::string& dir) {
  auto golden = testing::ReadGoldenSet(dir);
  ASSERT_TRUE(golden.ok()) << golden.status();
  ASSERT_FALSE(golden->models.empty()) << dir;
  for (const testing::GoldenModel& expected : golden->models) {
    SCOPED_TRACE(expected.name);
    ExpectMatchesGoldenModel(expected);
  }
}

}  // namespace affsig::engine
