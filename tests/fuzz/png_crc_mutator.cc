// png_fuzzer's mutator: libFuzzer's mutations, then every chunk's CRC made right again. libpng
// refuses a critical chunk whose CRC is wrong, so without this nearly every mutated input would
// stop at its first CRC, and libpng (not instrumented) gives the fuzzer no coverage to find its
// way past: with it, mutated sizes, color types, palettes and pixel data reach the decoder.
#include <zlib.h>

#include <cstddef>
#include <cstdint>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

uint32_t BigEndian32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int /*seed*/) {
  size = LLVMFuzzerMutate(data, size, max_size);
  // After the 8-byte signature, chunks: length, type (4 bytes), data, CRC of type and data.
  size_t at = 8;
  while (at + 12 <= size) {
    const uint32_t length = BigEndian32(data + at);
    if (length > size - at - 12) break;
    const uint32_t crc = static_cast<uint32_t>(crc32(0, data + at + 4, length + 4));
    uint8_t* out = data + at + 8 + length;
    out[0] = static_cast<uint8_t>(crc >> 24);
    out[1] = static_cast<uint8_t>(crc >> 16);
    out[2] = static_cast<uint8_t>(crc >> 8);
    out[3] = static_cast<uint8_t>(crc);
    at += 12 + length;
  }
  return size;
}
