#include "common/npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/golden_cases.h"

namespace affsig {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(NpyTest, RoundTripsFloat32AndFloat64) {
  const NpyArray f32 = MakeNpyArray({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6.5f});
  auto parsed = ParseNpy(SerializeNpy(f32));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->dtype, NpyDtype::kFloat32);
  EXPECT_THAT(parsed->shape, ElementsAre(2, 3));
  EXPECT_THAT(parsed->ToDoubles(), ElementsAre(1, 2, 3, 4, 5, 6.5));

  const NpyArray f64 = MakeNpyArray({4}, std::vector<double>{-1.25, 0, 1e300, 7});
  auto parsed64 = ParseNpy(SerializeNpy(f64));
  ASSERT_TRUE(parsed64.ok());
  EXPECT_THAT(parsed64->shape, ElementsAre(4));
  EXPECT_THAT(parsed64->ToDoubles(), ElementsAre(-1.25, 0, 1e300, 7));
}

TEST(NpyTest, HeaderIsPaddedToSixtyFourBytes) {
  const std::string bytes = SerializeNpy(MakeNpyArray({3}, std::vector<float>{1, 2, 3}));
  EXPECT_EQ((bytes.size() - 12) % 64, 0u);
  EXPECT_EQ(bytes[bytes.size() - 13], '\n');
}

TEST(NpyTest, ReadsFilesWrittenByNumpy) {
  auto golden = ReadNpyFile(testing::SharedGoldenDir() + "/act1d_relu.x.npy");
  ASSERT_TRUE(golden.ok()) << golden.status();
  EXPECT_EQ(golden->dtype, NpyDtype::kFloat32);
  EXPECT_THAT(golden->shape, ElementsAre(1000, 1));
}

TEST(NpyTest, ParsesOtherDtypesAndScalars) {
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(header.size()));
  bytes.push_back(0);
  bytes += header + std::string("\x01\x02\xff", 3);
  auto parsed = ParseNpy(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->ToDoubles(), ElementsAre(1, 2, 255));
}

TEST(NpyTest, ExplainsWhatIsWrong) {
  EXPECT_THAT(ParseNpy("").status().message(), HasSubstr("empty"));
  EXPECT_THAT(ParseNpy("PK\x03\x04 not npy at all").status().message(), HasSubstr("magic"));
  std::string truncated = SerializeNpy(MakeNpyArray({10}, std::vector<float>(10, 1.0f)));
  truncated.resize(truncated.size() - 3);
  EXPECT_THAT(ParseNpy(truncated).status().message(), HasSubstr("truncated data"));
  std::string header = "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }";
  std::string big_endian = std::string("\x93NUMPY\x01\x00", 8);
  big_endian.push_back(static_cast<char>(header.size()));
  big_endian.push_back(0);
  big_endian += header + "abcd";
  EXPECT_THAT(ParseNpy(big_endian).status().message(), HasSubstr("big-endian"));
  EXPECT_THAT(ReadNpyFile("/nonexistent/x.npy").status().message(), HasSubstr("cannot open"));
}

// Found by tests/fuzz (regressions/npy): the shape's product overflowed, so that a header of a few
// bytes announced no data, or terabytes per sample, for a file that had none.
TEST(NpyTest, RefusesShapesWhoseSizeOverflowsAsNumpyDoes) {
  auto file = [](const std::string& shape) {
    const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  };
  EXPECT_THAT(ParseNpy(file("(4294967296, 4294967296, 1)")).status().message(),
              HasSubstr("shape (4294967296, 4294967296, 1) is too large"));
  EXPECT_THAT(ParseNpyHeader(file("(2305843009213693952,)")).status().message(),
              HasSubstr("too large"));  // 2^61 elements of 4 bytes: 2^63 bytes
  // An empty array's other sizes must multiply without overflow too, as NumPy requires.
  EXPECT_THAT(ParseNpyHeader(file("(0, 4611686018427387904, 4)")).status().message(),
              HasSubstr("too large"));
  auto empty = ParseNpyHeader(file("(0, 3)"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->data_bytes, 0);
  EXPECT_TRUE(ParseNpy(file("(0, 1152921504606846976)")).ok());  // 2^60 x 4 bytes: fits
}

}  // namespace
}  // namespace affsig
