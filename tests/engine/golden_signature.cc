#include "tests/engine/golden_signature.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

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

void ExpectMatchesGoldenModel(const testing::GoldenModel& expected) {
  auto model = SignatureModel::Load(expected.model_path, {testing::TestDevice()});
  ASSERT_TRUE(model.ok()) << model.status();
  auto batch = ReadNpyTensor(expected.input_path);
  ASSERT_TRUE(batch.ok()) << batch.status();
  auto mode = ParseActivationMode(expected.activations);
  ASSERT_TRUE(mode.ok());

  std::vector<at::Tensor> captured_outputs;
  auto signature = (*model)->Compute(*batch, {*mode}, {}, &captured_outputs);
  ASSERT_TRUE(signature.ok()) << signature.status();
  auto bare_outputs = (*model)->Forward(*batch);
  ASSERT_TRUE(bare_outputs.ok()) << bare_outputs.status();
  ExpectSameOutputs(captured_outputs, *bare_outputs);

  ASSERT_EQ(signature->size(), expected.signature.size());
  for (size_t i = 0; i < expected.signature.size(); ++i) {
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
