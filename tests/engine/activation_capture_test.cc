#include "server/engine/activation_capture.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/engine/activation_catalog.h"
#include "server/engine/inference_optimizer.h"
#include "server/engine/npy_tensor.h"
#include "server/engine/tensor_reduction.h"
#include "tests/golden_cases.h"

namespace affsig::engine {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::UnorderedElementsAre;

auto Site(const std::string& module, const std::string& op) {
  return AllOf(Field(&ActivationSite::module, module), Field(&ActivationSite::op, op));
}

TEST(ActivationCatalogTest, RecognisesTorchNnActivationClassesOnly) {
  EXPECT_EQ(ActivationModuleClass("__torch__.torch.nn.modules.activation.ReLU"), "ReLU");
  EXPECT_EQ(ActivationModuleClass("__torch__.torch.nn.modules.activation.___torch_mangle_3.ReLU6"),
            "ReLU6");
  EXPECT_EQ(ActivationModuleClass("__torch__.torch.nn.modules.activation.Threshold"), "");
  EXPECT_EQ(ActivationModuleClass("__torch__.torch.nn.modules.activation.MultiheadAttention"), "");
  EXPECT_EQ(ActivationModuleClass("__torch__.mymodels.ReLU"), "");
  EXPECT_TRUE(
      IsMultiheadAttentionClass("__torch__.torch.nn.modules.activation.MultiheadAttention"));
  EXPECT_EQ(FunctionalActivationOp("aten::relu_"), "relu");
  EXPECT_EQ(FunctionalActivationOp("aten::log_softmax"), "log_softmax");
  EXPECT_EQ(FunctionalActivationOp("aten::add_"), "");
  EXPECT_EQ(FunctionalActivationOp("prim::relu"), "");
  EXPECT_FALSE(ParseActivationMode("everything").ok());
  EXPECT_EQ(*ParseActivationMode("all"), ActivationMode::kAll);
}

TEST(TensorReductionTest, ReducesEveryRankToSamplesByFeatures) {
  EXPECT_THAT(ReduceToSamples(at::randn({5})).sizes(), ElementsAre(5, 1));
  EXPECT_THAT(ReduceToSamples(at::randn({5, 7})).sizes(), ElementsAre(5, 7));
  EXPECT_THAT(ReduceToSamples(at::randn({5, 7, 3})).sizes(), ElementsAre(5, 7));
  EXPECT_THAT(ReduceToSamples(at::randn({5, 7, 3, 2})).sizes(), ElementsAre(5, 7));
  EXPECT_THAT(ReduceToSamples(at::randn({5, 7, 3, 2, 4})).sizes(), ElementsAre(5, 7));
  const at::Tensor image = at::randn({2, 3, 4, 4});
  EXPECT_TRUE(at::allclose(ReduceToSamples(image), image.mean({2, 3})));
  // The reduction owns its memory: an in-place op on the activation cannot change it.
  at::Tensor matrix = at::randn({4, 3});
  const at::Tensor reduced = ReduceToSamples(matrix);
  matrix.relu_();
  EXPECT_LT(reduced.min().item<float>(), 0.0f);
}

class ActivationCaptureTest : public ::testing::Test {
 protected:
  static torch::jit::Module Load(const std::string& name) {
    return torch::jit::load(testing::CommittedFixtureDir() + "/" + name);
  }
};

TEST_F(ActivationCaptureTest, FindsModuleCallsAndFunctionalCallsInExecutionOrder) {
  const torch::jit::Module cnn = Load("cnn_reused_relu_scripted.pt");
  auto modules = InstrumentedForward::Create(cnn, ActivationMode::kModules);
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT((*modules)->sites(), ElementsAre(Site("relu", "ReLU"), Site("relu", "ReLU")));
  auto all = InstrumentedForward::Create(cnn, ActivationMode::kAll);
  ASSERT_TRUE(all.ok());
  // The instrumented copy shares the model's tensors, never its methods.
  for (const torch::jit::Node* node : cnn.get_method("forward").graph()->nodes()) {
    EXPECT_NE(node->kind().toQualString(), std::string("affsig::capture"));
  }
  // Sites are places in the graph, not calls: the scripted F.relu and F.softmax each have two
  // branches, of which one runs. Execution order is the recorder's business.
  EXPECT_THAT((*all)->sites(),
              UnorderedElementsAre(Site("relu", "ReLU"), Site("relu", "ReLU"), Site("", "relu"),
                                   Site("", "relu"), Site("", "sigmoid"), Site("", "softmax"),
                                   Site("", "softmax")));
}

TEST_F(ActivationCaptureTest, CapturesEveryIterationOfALoopAsItsOwnCall) {
  const torch::jit::Module net = Load("control_flow.pt");
  auto forward = InstrumentedForward::Create(net, ActivationMode::kAll);
  ASSERT_TRUE(forward.ok());
  CaptureRecorder recorder((*forward)->sites());
  c10::InferenceMode inference;
  auto output = (*forward)->Run({at::randn({6, 16})}, recorder);
  ASSERT_TRUE(output.ok()) << output.status();
  std::vector<std::string> calls;
  for (const CapturedCall& call : recorder.TakeCalls()) {
    const ActivationSite& site = (*forward)->sites()[call.site];
    calls.push_back(site.module + "/" + site.op + "#" + std::to_string(call.call));
    EXPECT_TRUE(call.output.defined());
    EXPECT_EQ(call.input.size(0), 6);
  }
  EXPECT_THAT(calls, ElementsAre("act/Hardswish#0", "relu/ReLU#0", "/tanh#0", "relu/ReLU#1",
                                 "/tanh#1", "relu/ReLU#2", "/tanh#2", "/gelu#0"));
}

TEST_F(ActivationCaptureTest, InPlaceActivationInputIsCapturedBeforeItIsOverwritten) {
  const torch::jit::Module cnn = Load("cnn_reused_relu_traced.pt");
  auto forward = InstrumentedForward::Create(cnn, ActivationMode::kModules);
  ASSERT_TRUE(forward.ok());
  CaptureRecorder recorder((*forward)->sites());
  c10::InferenceMode inference;
  ASSERT_TRUE((*forward)->Run({at::randn({4, 3, 8, 8})}, recorder).ok());
  const std::vector<CapturedCall> calls = recorder.TakeCalls();
  ASSERT_EQ(calls.size(), 2u);
  // A ReLU's input has negative channel means somewhere; its output never does.
  EXPECT_LT(calls[0].input.min().item<float>(), 0.0f);
  EXPECT_GE(calls[0].output.min().item<float>(), 0.0f);
  EXPECT_EQ(calls[1].call, 1);
}

TEST_F(ActivationCaptureTest, AnOptimizedForwardCapturesTheSameCallsInTheSameOrder) {
  struct Case {
    std::string name;
    ActivationMode mode;
  };
  for (const Case& c : {Case{"control_flow", ActivationMode::kAll},
                        Case{"cnn_reused_relu_scripted", ActivationMode::kAll},
                        Case{"cnn_reused_relu_traced", ActivationMode::kModules},
                        Case{"mlp_mixed", ActivationMode::kAll},
                        Case{"vit_small", ActivationMode::kModules}}) {
    SCOPED_TRACE(c.name);
    const torch::jit::Module model = Load(c.name + ".pt");
    auto batch = ReadNpyTensor(testing::CommittedFixtureDir() + "/" + c.name + ".input.npy");
    ASSERT_TRUE(batch.ok()) << batch.status();
    auto plain = InstrumentedForward::Create(model, c.mode);
    auto optimized = InstrumentedForward::Create(model, c.mode);
    ASSERT_TRUE(plain.ok() && optimized.ok());
    ASSERT_TRUE((*optimized)->Optimize().ok());
    EXPECT_TRUE((*optimized)->optimized());
    c10::InferenceMode inference;
    CaptureRecorder plain_recorder((*plain)->sites());
    CaptureRecorder optimized_recorder((*optimized)->sites());
    auto plain_output = (*plain)->Run({*batch}, plain_recorder);
    auto optimized_output = (*optimized)->Run({InOptimizedLayout(*batch)}, optimized_recorder);
    ASSERT_TRUE(plain_output.ok()) << plain_output.status();
    ASSERT_TRUE(optimized_output.ok()) << optimized_output.status();
    EXPECT_TRUE(at::allclose(plain_output->toTensor(), optimized_output->toTensor(), 1e-4, 1e-5));
    const std::vector<CapturedCall> want = plain_recorder.TakeCalls();
    const std::vector<CapturedCall> got = optimized_recorder.TakeCalls();
    ASSERT_EQ(got.size(), want.size());
    ASSERT_FALSE(got.empty());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].site, want[i].site);
      EXPECT_EQ(got[i].call, want[i].call);
      EXPECT_TRUE(at::allclose(got[i].input, want[i].input, 1e-4, 1e-5)) << "call " << i;
      EXPECT_TRUE(at::allclose(got[i].output, want[i].output, 1e-4, 1e-5)) << "call " << i;
    }
  }
}

}  // namespace
}  // namespace affsig::engine
