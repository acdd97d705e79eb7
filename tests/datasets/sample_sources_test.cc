// Every source of samples with small files the test writes itself: .npy of each dtype (read
// piecewise), torch.save'd .pt, random samples, CIFAR-10/100 records, IDX images, and the
// server-path rules (roots, "..", symbolic links).
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/npy.h"
#include "server/datasets/data_roots.h"
#include "server/datasets/sample_dataset.h"
#include "tests/scratch_dir.h"

namespace affsig::datasets {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class SampleSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::FreshScratchDir(); }

  std::string Write(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }

  absl::StatusOr<std::unique_ptr<SampleDataset>> Open(DataKind kind, const std::string& location) {
    DataSpec spec;
    spec.kind = kind;
    spec.location = location;
    DataAccess access;
    access.roots = {dir_.string()};
    access.blob_path = [this](const std::string& sha) { return (dir_ / sha).string(); };
    return OpenSampleDataset(spec, access);
  }

  fs::path dir_;
};

TEST_F(SampleSourcesTest, NpyFilesOfEveryDtypeAreReadOneSampleAtATime) {
  for (NpyDtype dtype :
       {NpyDtype::kFloat32, NpyDtype::kFloat16, NpyDtype::kFloat64, NpyDtype::kUint8}) {
    NpyArray array;
    array.dtype = dtype;
    array.shape = {3, 2, 2};
    const int item = NpyItemSize(dtype);
    array.data.assign(static_cast<size_t>(12 * item), '\0');
    for (int i = 0; i < 12; ++i) {
      char* p = array.data.data() + i * item;
      switch (dtype) {
        case NpyDtype::kFloat32: {
          const float v = static_cast<float>(i);
          std::memcpy(p, &v, 4);
          break;
        }
        case NpyDtype::kFloat64: {
          const double v = i;
          std::memcpy(p, &v, 8);
          break;
        }
        case NpyDtype::kFloat16: {
          const uint16_t v = at::Half(static_cast<float>(i)).x;
          std::memcpy(p, &v, 2);
          break;
        }
        default:
          *p = static_cast<char>(i);
      }
    }
    const std::string path = (dir_ / "array.npy").string();
    ASSERT_TRUE(WriteNpyFile(path, array).ok());
    auto dataset = Open(DataKind::kServerFile, path);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    ASSERT_EQ((*dataset)->size(), 3);
    auto last = (*dataset)->Read(2);
    ASSERT_TRUE(last.ok()) << last.status();
    EXPECT_EQ(last->scalar_type(), at::kFloat);
    EXPECT_TRUE(last->equal(at::arange(8, 12, at::kFloat).view({2, 2}))) << NpyDtypeName(dtype);
  }
  // A truncated file is refused at open, naming it.
  std::string bytes;
  {
    std::ifstream in(dir_ / "array.npy", std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), {});
  }
  const std::string cut = Write("cut.npy", bytes.substr(0, bytes.size() - 3));
  EXPECT_THAT(Open(DataKind::kServerFile, cut).status().message(), HasSubstr("truncated data"));
  EXPECT_THAT(Open(DataKind::kServerFile, cut).status().message(), HasSubstr("cut.npy"));
  // Samples of no element (tests/fuzz: regressions/tensor_file/samples-of-no-elements.npy).
  NpyArray empty;
  empty.shape = {2, 0};
  const std::string empty_path = (dir_ / "empty.npy").string();
  ASSERT_TRUE(WriteNpyFile(empty_path, empty).ok());
  auto empty_samples = Open(DataKind::kServerFile, empty_path);
  ASSERT_TRUE(empty_samples.ok()) << empty_samples.status();
  EXPECT_TRUE((*empty_samples)->Read(1)->sizes().equals({0}));
}

TEST_F(SampleSourcesTest, TorchSavedTensorsAndRandomSamples) {
  const at::Tensor saved = at::arange(24, at::kDouble).view({4, 6});
  const std::vector<char> pickled = torch::pickle_save(saved);
  const std::string path = Write("batch.pt", std::string(pickled.begin(), pickled.end()));
  auto tensors = Open(DataKind::kServerFile, path);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ((*tensors)->size(), 4);
  EXPECT_TRUE((*tensors)->Read(1)->equal(at::arange(6, 12, at::kFloat)));
  const std::string garbage = Write("garbage.pt", "PK not really");
  EXPECT_THAT(Open(DataKind::kServerFile, garbage).status().message(),
              HasSubstr("neither a .npy file nor a torch.save'd tensor"));

  DataSpec spec;
  spec.kind = DataKind::kRandom;
  spec.random = {{3, 4, 4}, 10, 7, 0.0, 1.0};
  auto random = OpenSampleDataset(spec, {});
  ASSERT_TRUE(random.ok());
  EXPECT_EQ((*random)->size(), 10);
  const at::Tensor fifth = *(*random)->Read(5);
  EXPECT_TRUE(fifth.sizes().equals({3, 4, 4}));
  // Sample 5 is sample 5 whatever was read before; other seeds give other samples.
  (*random)->Read(9).IgnoreError();
  EXPECT_TRUE((*random)->Read(5)->equal(fifth));
  EXPECT_FALSE((*random)->Read(4)->equal(fifth));
  spec.random.seed = 8;
  EXPECT_FALSE((*OpenSampleDataset(spec, {}))->Read(5)->equal(fifth));
}

TEST_F(SampleSourcesTest, CifarRecordsAndIdxImagesAsTheirAuthorsDistributeThem) {
  // Two CIFAR-100 records: coarse and fine label bytes, then 3 x 32 x 32 planes.
  std::string cifar;
  for (int record = 0; record < 2; ++record) {
    cifar += std::string{static_cast<char>(3), static_cast<char>(record)};
    cifar += std::string(3072, static_cast<char>(10 * (record + 1)));
  }
  const std::string cifar_file = Write("cifar100/train.bin", cifar);
  auto cifar100 = Open(DataKind::kCifar100, dir_.string() + "/cifar100");
  ASSERT_TRUE(cifar100.ok()) << cifar100.status();
  ASSERT_EQ((*cifar100)->size(), 2);
  const at::Tensor second = *(*cifar100)->Read(1);
  EXPECT_EQ(second.scalar_type(), at::kByte);
  EXPECT_TRUE(second.sizes().equals({3, 32, 32}));
  EXPECT_EQ(second.max().item<int>(), 20);
  // Read as CIFAR-10, the same bytes are not whole records.
  auto wrong = Open(DataKind::kCifar10, cifar_file);
  EXPECT_THAT(wrong.status().message(), HasSubstr("not a whole number of 3073-byte records"));
  EXPECT_THAT(wrong.status().message(), HasSubstr("train.bin"));

  // An IDX file of three 2 x 3 images.
  std::string idx = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int i = 0; i < 18; ++i) idx += static_cast<char>(i);
  Write("mnist/t10k-images-idx3-ubyte", idx);
  Write("mnist/t10k-labels-idx1-ubyte", "ignored");
  auto mnist = Open(DataKind::kMnist, dir_.string() + "/mnist");
  ASSERT_TRUE(mnist.ok()) << mnist.status();
  ASSERT_EQ((*mnist)->size(), 3);
  EXPECT_TRUE((*mnist)->Read(2)->equal(at::arange(12, 18, at::kByte).view({1, 2, 3})));
  // Gzipped, as MNIST is distributed: the same images.
  const std::string gz_path = (dir_ / "gz" / "train-images-idx3-ubyte.gz").string();
  fs::create_directories(dir_ / "gz");
  gzFile gz = gzopen(gz_path.c_str(), "wb");
  gzwrite(gz, idx.data(), static_cast<unsigned>(idx.size()));
  gzclose(gz);
  auto gzipped = Open(DataKind::kMnist, (dir_ / "gz").string());
  ASSERT_TRUE(gzipped.ok()) << gzipped.status();
  ASSERT_EQ((*gzipped)->size(), 3);
  EXPECT_TRUE((*gzipped)->Read(1)->equal(at::arange(6, 12, at::kByte).view({1, 2, 3})));
  const std::string bad_gz = Write("bad-images-idx3-ubyte.gz", std::string("\x1f\x8b") + "junk");
  EXPECT_THAT(Open(DataKind::kMnist, bad_gz).status().message(), HasSubstr("bad-images-idx3"));
  const std::string short_idx = Write("short-images-idx3-ubyte", idx.substr(0, 20));
  EXPECT_THAT(Open(DataKind::kMnist, short_idx).status().message(),
              HasSubstr("announces 3 images"));
  const std::string not_idx = Write("x-images-idx3-ubyte", std::string(20, 'x'));
  EXPECT_THAT(Open(DataKind::kMnist, not_idx).status().message(), HasSubstr("magic 0x00000803"));
}

// Found by tests/fuzz (regressions/idx): count x rows x cols, three 32-bit claims, overflowed.
TEST_F(SampleSourcesTest, IdxHeadersWhosePixelCountOverflowsAreRefused) {
  const std::string overflowing =
      Write("big-images-idx3-ubyte",
            std::string{0, 0, 8, 3, 0, 0, 0x21, 0, 2, 0, 0, 0, 0x4c, 0, 0, 0, 0, 3});
  EXPECT_THAT(Open(DataKind::kMnist, overflowing).status().message(),
              HasSubstr("announces 8448 images of 33554432 x 1275068416 but it has 2 bytes"));
  // 4 images of 2^31 x 2^31: 2^64 pixels, which wrapped to the 0 bytes the file has.
  const std::string wrapping =
      Write("wrap-images-idx3-ubyte",
            std::string{0, 0, 8, 3, 0, 0, 0, 4, '\x80', 0, 0, 0, '\x80', 0, 0, 0});
  EXPECT_THAT(Open(DataKind::kMnist, wrapping).status().message(),
              HasSubstr("but it has 0 bytes of pixels"));
  const std::string none =
      Write("none-images-idx3-ubyte", std::string{0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3});
  EXPECT_THAT(Open(DataKind::kMnist, none).status().message(), HasSubstr("announces no images"));
}

TEST_F(SampleSourcesTest, ServerPathsStayInsideTheRoots) {
  const fs::path root = dir_ / "root";
  const fs::path outside = dir_ / "outside";
  fs::create_directories(root / "sub");
  fs::create_directories(outside);
  std::ofstream(root / "sub" / "ok.npy") << "x";
  std::ofstream(outside / "secret.npy") << "x";
  fs::create_symlink(outside, root / "escape");
  fs::create_symlink(root / "sub" / "ok.npy", root / "alias.npy");
  const std::vector<std::string> roots = {root.string()};

  EXPECT_TRUE(ResolveUnderRoots((root / "sub" / "ok.npy").string(), roots).ok());
  EXPECT_EQ(*ResolveUnderRoots((root / "alias.npy").string(), roots),
            (fs::canonical(root) / "sub" / "ok.npy").string());  // a link inside is fine
  struct Case {
    std::string path;
    absl::StatusCode code;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {(root / "escape" / "secret.npy").string(), absl::StatusCode::kPermissionDenied,
            "once its symbolic links are followed"},
           {(root / ".." / "outside" / "secret.npy").string(), absl::StatusCode::kPermissionDenied,
            "'..' is not allowed"},
           {(outside / "secret.npy").string(), absl::StatusCode::kPermissionDenied,
            "outside the server's data roots"},
           {"sub/ok.npy", absl::StatusCode::kInvalidArgument, "must be absolute"},
           {(root / "missing.npy").string(), absl::StatusCode::kNotFound, "does not exist"},
           {(dir_ / "rootish").string(), absl::StatusCode::kNotFound, "does not exist"},
       }) {
    auto resolved = ResolveUnderRoots(c.path, roots);
    EXPECT_EQ(resolved.status().code(), c.code) << c.path;
    EXPECT_THAT(resolved.status().message(), HasSubstr(c.message)) << c.path;
  }
  // A sibling whose name starts like the root is not inside it.
  fs::create_directories(dir_ / "root2");
  std::ofstream(dir_ / "root2" / "x.npy") << "x";
  EXPECT_FALSE(ResolveUnderRoots((dir_ / "root2" / "x.npy").string(), roots).ok());
  EXPECT_THAT(ResolveUnderRoots((root / "sub" / "ok.npy").string(), {}).status().message(),
              HasSubstr("no --data-root"));
}

// BatchStream reads a batch's samples from several threads at once: every source must give each
// thread exactly what one thread reading in order gets.
TEST_F(SampleSourcesTest, EverySourceReadsTheSameFromManyThreadsAtOnce) {
  std::string cifar;
  for (int record = 0; record < 64; ++record) {
    cifar += std::string{static_cast<char>(record % 10)};
    for (int i = 0; i < 3072; ++i) cifar += static_cast<char>((record * 31 + i) % 251);
  }
  Write("cifar10/data_batch_1.bin", cifar);
  std::vector<float> values(64 * 5);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
  Write("samples.npy", SerializeNpy(MakeNpyArray({64, 5}, values)));
  DataSpec random;
  random.kind = DataKind::kRandom;
  random.random.shape = {3, 4};
  random.random.count = 64;
  std::vector<absl::StatusOr<std::unique_ptr<SampleDataset>>> sources;
  sources.push_back(Open(DataKind::kCifar10, dir_.string() + "/cifar10"));
  sources.push_back(Open(DataKind::kServerFile, (dir_ / "samples.npy").string()));
  sources.push_back(OpenSampleDataset(random, {}));
  for (const auto& source : sources) {
    ASSERT_TRUE(source.ok()) << source.status();
    const SampleDataset& dataset = **source;
    ASSERT_EQ(dataset.size(), 64);
    std::vector<at::Tensor> in_order;
    for (int64_t i = 0; i < 64; ++i) in_order.push_back(*dataset.Read(i));
    std::vector<at::Tensor> at_once(64);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        // Each thread its own stride through the samples, backwards: reads interleave.
        for (int64_t i = 63 - t; i >= 0; i -= 4) at_once[i] = *dataset.Read(i);
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (int64_t i = 0; i < 64; ++i) EXPECT_TRUE(at_once[i].equal(in_order[i])) << i;
  }
}

}  // namespace
}  // namespace affsig::datasets
