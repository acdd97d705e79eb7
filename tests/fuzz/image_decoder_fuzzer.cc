// The JPEG and PNG decoders (server/datasets/image_decoder.h) on any bytes, in both color modes:
// an 8-bit C x H x W image within the pixel limit, or an error; never a crash, a read outside the
// input, or an allocation the limit does not bound. Built twice, as jpeg_fuzzer and png_fuzzer,
// each with its own seeds (png_fuzzer with a mutator that keeps the chunks' CRCs right).

#include <cstddef>
#include <cstdint>

#include "server/datasets/image_decoder.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// The width x height that a PNG's IHDR or a JPEG's frame header announces; 0 when there is none.
uint64_t AnnouncedPixels(absl::string_view bytes) {
  auto byte = [&](size_t i) -> uint64_t { return static_cast<unsigned char>(bytes[i]); };
  auto big_endian16 = [&](size_t i) { return (byte(i) << 8) | byte(i + 1); };
  if (bytes.size() >= 24 && bytes.substr(12, 4) == "IHDR") {
    return ((big_endian16(16) << 16) | big_endian16(18)) *
           ((big_endian16(20) << 16) | big_endian16(22));
  }
  // JPEG segments after SOI: a marker, then (but for RSTn, SOI, EOI and TEM) a length; SOF0 to
  // SOF15, less DHT, JPG and DAC, hold the height and width. Stray and fill bytes before a marker
  // are skipped, as libjpeg skips them.
  if (bytes.size() < 2 || byte(0) != 0xFF || byte(1) != 0xD8) return 0;
  size_t at = 2;
  while (true) {
    while (at < bytes.size() && byte(at) != 0xFF) ++at;
    while (at + 1 < bytes.size() && byte(at + 1) == 0xFF) ++at;
    if (at + 4 > bytes.size()) return 0;
    const uint64_t marker = byte(at + 1);
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      return at + 9 <= bytes.size() ? big_endian16(at + 5) * big_endian16(at + 7) : 0;
    }
    const bool standalone = marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9);
    at += 2 + (standalone ? 0 : big_endian16(at + 2));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace affsig::datasets;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Images the decoders would allocate and fill up to the limit take seconds each and differ
  // from small ones only in size: skipped, as oss-fuzz's libjpeg-turbo harness skips them
  // (those beyond the limit are decoded, to be refused).
  const uint64_t announced = AnnouncedPixels(bytes);
  if (announced > (uint64_t{1} << 20) && announced <= uint64_t{kMaxImagePixels}) return 0;
  for (ColorMode mode : {ColorMode::kUnchanged, ColorMode::kRgb}) {
    auto image = DecodeImage(bytes, mode);
    if (!image.ok()) continue;
    affsig::fuzz::Require(image->dim() == 3 && image->scalar_type() == at::kByte &&
                              image->size(1) * image->size(2) <= kMaxImagePixels,
                          "an 8-bit C x H x W image within the limit");
    const int64_t channels = image->size(0);
    affsig::fuzz::Require(mode == ColorMode::kRgb ? channels == 3 : channels == 1 || channels == 3,
                          "RGB, or gray when unchanged");
  }
  return 0;
}
