// affsig's JPEG/PNG decoding and ImageClassification preprocessing against torchvision's own, on
// images written by tests/fixtures/make_image_fixtures.py.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "server/datasets/batch_stream.h"
#include "server/datasets/image_datasets.h"
#include "server/datasets/image_decoder.h"
#include "server/datasets/preprocessing.h"
#include "server/datasets/sample_dataset.h"
#include "server/engine/npy_tensor.h"
#include "tests/golden_cases.h"

namespace affsig::datasets {
namespace {

at::Tensor ReadNpy(const std::string& path) {
  auto tensor = engine::ReadNpyTensor(path);
  EXPECT_TRUE(tensor.ok()) << tensor.status();
  return tensor.ok() ? *tensor : at::Tensor();
}

class ImagePreprocessingTest : public ::testing::Test {
 protected:
  static std::string Dir() { return testing::ImageFixtureDir(); }

  // Every image of the folder, preprocessed in one batch by `threads` threads.
  static at::Tensor Batch(const Preprocessing& preprocessing, int threads = 1) {
    auto dataset = OpenImageFolder(Dir() + "/imagefolder");
    EXPECT_TRUE(dataset.ok()) << dataset.status();
    DataSpec spec;
    spec.kind = DataKind::kImageFolder;
    spec.preprocessing = preprocessing;
    StreamOptions options;
    options.decode_threads = threads;
    auto stream = BatchStream::Start(*std::move(dataset), spec, options);
    EXPECT_TRUE(stream.ok()) << stream.status();
    auto batch = (*stream)->Next();
    EXPECT_TRUE(batch.ok() && batch->has_value()) << batch.status();
    return batch.ok() && batch->has_value() ? **batch : at::Tensor();
  }
};

TEST_F(ImagePreprocessingTest, DecodesEveryImageAsTorchvisionDoes) {
  auto dataset = OpenImageFolder(Dir() + "/imagefolder");
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  ASSERT_EQ((*dataset)->size(), 6);
  for (int64_t n = 0; n < (*dataset)->size(); ++n) {
    auto image = (*dataset)->Read(n);
    ASSERT_TRUE(image.ok()) << image.status();
    const at::Tensor expected = ReadNpy(absl::StrCat(Dir(), "/decoded/", n, ".npy"));
    ASSERT_TRUE(image->sizes().equals(expected.sizes())) << n;
    EXPECT_EQ((*image - expected).abs().max().item<int>(), 0) << "image " << n;
  }
}

TEST_F(ImagePreprocessingTest, MatchesTorchvisionsTransformsOnPilImagesWithin1e5) {
  DataSpec defaults;
  defaults.kind = DataKind::kImageFolder;
  ApplyDataDefaults(defaults);
  const at::Tensor ours = Batch(defaults.preprocessing);
  const at::Tensor expected = ReadNpy(Dir() + "/expected_default.npy");
  ASSERT_TRUE(ours.sizes().equals(expected.sizes()));
  EXPECT_LT((ours - expected).abs().max().item<double>(), 1e-5);
  // A pool of decode threads changes nothing, to the bit.
  EXPECT_TRUE(at::equal(Batch(defaults.preprocessing, 4), ours));

  Preprocessing small;
  small.resize = 72;
  small.crop = 64;
  small.mean = {0.5, 0.5, 0.5};
  small.std = {0.25, 0.25, 0.25};
  const at::Tensor ours_small = Batch(small);
  const at::Tensor expected_small = ReadNpy(Dir() + "/expected_small.npy");
  ASSERT_TRUE(ours_small.sizes().equals(expected_small.sizes()));
  EXPECT_LT((ours_small - expected_small).abs().max().item<double>(), 1e-5);

  // Float samples go through LibTorch's antialiased bilinear, torchvision's tensor path.
  auto floats = Preprocess(ReadNpy(Dir() + "/float_input.npy"), small);
  ASSERT_TRUE(floats.ok()) << floats.status();
  const at::Tensor expected_float = ReadNpy(Dir() + "/expected_float.npy");
  ASSERT_TRUE(floats->sizes().equals(expected_float.sizes()));
  EXPECT_LT((*floats - expected_float).abs().max().item<double>(), 1e-5);
}

TEST_F(ImagePreprocessingTest, ReadsATensorThatPythonSaved) {
  DataSpec spec;
  spec.kind = DataKind::kServerFile;
  spec.location = Dir() + "/saved.pt";
  DataAccess access;
  access.roots = {Dir()};
  auto dataset = OpenSampleDataset(spec, access);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  ASSERT_EQ((*dataset)->size(), 4);
  EXPECT_TRUE((*dataset)->Read(3)->equal(at::arange(18, 24, at::kFloat)));
}

TEST_F(ImagePreprocessingTest, GrayscaleBecomesThreeChannelsOnRequest) {
  const at::Tensor gray = at::arange(16, at::kByte).view({1, 4, 4});
  Preprocessing options;
  EXPECT_EQ(Preprocess(gray, options)->size(0), 1);
  options.grayscale_to_rgb = true;
  options.mean = {0.5, 0.5, 0.5};
  options.std = {0.5, 0.5, 0.5};
  const at::Tensor rgb = *Preprocess(gray, options);
  ASSERT_TRUE(rgb.sizes().equals({3, 4, 4}));
  EXPECT_TRUE(rgb[2].equal(rgb[0]));
  EXPECT_NEAR(rgb[1][3][3].item<double>(), (15 / 255.0 - 0.5) / 0.5, 1e-6);
}

TEST_F(ImagePreprocessingTest, BadImagesAreNamedInOneLine) {
  const std::string dir = ::testing::TempDir() + "/bad_images";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/text.jpg") << "not an image";
  std::string jpeg;
  {
    std::ifstream in(Dir() + "/imagefolder/cat/a.JPEG", std::ios::binary);
    jpeg.assign((std::istreambuf_iterator<char>(in)), {});
  }
  std::ofstream(dir + "/cut.jpg", std::ios::binary) << jpeg.substr(0, jpeg.size() / 3);
  std::ofstream(dir + "/empty.png");
  for (const auto& [file, message] : {std::pair{"text.jpg", "neither a JPEG nor a PNG"},
                                      std::pair{"empty.png", "the file is empty"}}) {
    auto image = DecodeImageFile(dir + "/" + file, ColorMode::kRgb);
    EXPECT_THAT(image.status().message(), ::testing::HasSubstr(message));
    EXPECT_THAT(image.status().message(), ::testing::HasSubstr(file));
  }
  // libjpeg decodes what a truncated file holds (grey below), as torchvision does: no error.
  EXPECT_TRUE(DecodeImageFile(dir + "/cut.jpg", ColorMode::kRgb).ok());
  EXPECT_THAT(OpenImageFolder(dir).status().message(), ::testing::HasSubstr("no images"));
}

std::string BigEndian32(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string PngChunk(const std::string& type, const std::string& data) {
  const std::string typed = type + data;
  const auto crc = crc32(0, reinterpret_cast<const Bytef*>(typed.data()), typed.size());
  return BigEndian32(data.size()) + typed + BigEndian32(crc);
}

// A header of a few bytes announced pixels that the decoders allocated and filled (tests/fuzz:
// regressions/jpeg and png): beyond the limit, an image is refused before any is allocated.
TEST_F(ImagePreprocessingTest, ImagesBeyondThePixelLimitAreRefusedBeforeDecoding) {
  std::string jpeg;
  {
    std::ifstream in(Dir() + "/imagefolder/cat/a.JPEG", std::ios::binary);
    jpeg.assign((std::istreambuf_iterator<char>(in)), {});
  }
  const size_t frame = jpeg.find("\xFF\xC0");  // SOF0: length, precision, height, width
  ASSERT_NE(frame, std::string::npos);
  jpeg.replace(frame + 5, 4, "\xFF\xDC\xFF\xDC");  // 65500 x 65500
  EXPECT_THAT(DecodeImage(jpeg, ColorMode::kRgb).status().message(),
              ::testing::HasSubstr("65500 x 65500 pixels is more than 178956970"));

  // 1 000 000 x 1 000 000, 8-bit RGB: libpng's own limit, 3 TB of pixels.
  const std::string png = "\x89PNG\r\n\x1a\n" +
                          PngChunk("IHDR", BigEndian32(1'000'000) + BigEndian32(1'000'000) +
                                               std::string("\x08\x02\0\0\0", 5)) +
                          PngChunk("IDAT", "") + PngChunk("IEND", "");
  EXPECT_THAT(DecodeImage(png, ColorMode::kUnchanged).status().message(),
              ::testing::HasSubstr("1000000 x 1000000 pixels is more than"));
}

}  // namespace
}  // namespace affsig::datasets
