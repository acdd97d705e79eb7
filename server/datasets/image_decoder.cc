#include "server/datasets/image_decoder.h"

#include <ATen/ATen.h>
#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"

namespace affsig::datasets {
namespace {

absl::Status CheckPixels(int64_t width, int64_t height) {
  if (width * height <= kMaxImagePixels) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(width, " x ", height, " pixels is more than ",
                                                 kMaxImagePixels, ", the most an image may have"));
}

struct JpegErrorManager {
  jpeg_error_mgr manager;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void OnJpegError(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrorManager*>(info->err);
  (*info->err->format_message)(info, errors->message);
  longjmp(errors->jump, 1);
}

// Runs libjpeg calls; false when libjpeg reports an error (it longjmps here). The calls must not
// own C++ objects: a longjmp skips their destructors.
template <typename Calls>
bool JpegCalls(JpegErrorManager& errors, Calls calls) {
  if (setjmp(errors.jump)) return false;
  calls();
  return true;
}

absl::StatusOr<at::Tensor> DecodeJpeg(absl::string_view bytes, ColorMode mode) {
  jpeg_decompress_struct info;
  JpegErrorManager errors;
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = OnJpegError;
  // Warnings (a truncated file decodes with grey below) are libjpeg's to print on stderr: not
  // in the server's log.
  errors.manager.output_message = [](j_common_ptr) {};
  jpeg_create_decompress(&info);
  auto fail = [&] {
    jpeg_destroy_decompress(&info);
    return absl::InvalidArgumentError(absl::StrCat("not a readable JPEG: ", errors.message));
  };
  if (!JpegCalls(errors, [&] {
        jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
        jpeg_read_header(&info, TRUE);
      })) {
    return fail();
  }
  // Before jpeg_start_decompress, which allocates a progressive image's coefficients whole.
  if (absl::Status size = CheckPixels(info.image_width, info.image_height); !size.ok()) {
    jpeg_destroy_decompress(&info);
    return size;
  }
  if (!JpegCalls(errors, [&] {
        const bool gray = info.jpeg_color_space == JCS_GRAYSCALE && mode == ColorMode::kUnchanged;
        info.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
        jpeg_start_decompress(&info);
      })) {
    return fail();
  }
  const int64_t height = info.output_height, width = info.output_width;
  const int64_t channels = info.output_components;
  at::Tensor image = at::empty({height, width, channels}, at::kByte);
  uint8_t* data = image.data_ptr<uint8_t>();
  if (!JpegCalls(errors, [&] {
        while (info.output_scanline < info.output_height) {
          JSAMPROW row = data + static_cast<int64_t>(info.output_scanline) * width * channels;
          jpeg_read_scanlines(&info, &row, 1);
        }
        jpeg_finish_decompress(&info);
      })) {
    return fail();
  }
  jpeg_destroy_decompress(&info);
  return image.permute({2, 0, 1}).contiguous();
}

struct PngReadState {
  absl::string_view bytes;
  size_t offset = 0;
};

void ReadPngBytes(png_structp png, png_bytep out, png_size_t length) {
  auto* state = static_cast<PngReadState*>(png_get_io_ptr(png));
  if (length > state->bytes.size() - state->offset) png_error(png, "the file is truncated");
  std::copy_n(state->bytes.data() + state->offset, length, out);
  state->offset += length;
}

void OnPngError(png_structp png, png_const_charp message) {
  auto* text = static_cast<std::string*>(png_get_error_ptr(png));
  *text = message;
  longjmp(png_jmpbuf(png), 1);
}

void OnPngWarning(png_structp, png_const_charp) {}

// Runs libpng calls; false when libpng reports an error (it longjmps here). As for libjpeg, the
// calls own no C++ objects.
template <typename Calls>
bool PngCalls(png_structp png, Calls calls) {
  if (setjmp(png_jmpbuf(png))) return false;
  calls();
  return true;
}

absl::StatusOr<at::Tensor> DecodePng(absl::string_view bytes, ColorMode mode) {
  std::string error;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &error, OnPngError, OnPngWarning);
  png_infop info = png_create_info_struct(png);
  auto fail = [&] {
    png_destroy_read_struct(&png, &info, nullptr);
    return absl::InvalidArgumentError(absl::StrCat("not a readable PNG: ", error));
  };
  PngReadState state{bytes};
  if (!PngCalls(png, [&] {
        png_set_read_fn(png, &state, ReadPngBytes);
        png_read_info(png, info);
        const int color = png_get_color_type(png, info);
        if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
        if (png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
        if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
        png_set_strip_alpha(png);
        if ((color & PNG_COLOR_MASK_COLOR) == 0 && mode == ColorMode::kRgb) {
          png_set_gray_to_rgb(png);
        }
        png_read_update_info(png, info);
      })) {
    return fail();
  }
  const int64_t height = png_get_image_height(png, info), width = png_get_image_width(png, info);
  if (absl::Status size = CheckPixels(width, height); !size.ok()) {
    png_destroy_read_struct(&png, &info, nullptr);
    return size;
  }
  const int64_t channels = png_get_channels(png, info);
  at::Tensor image = at::empty({height, width, channels}, at::kByte);
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[y] = image.data_ptr<uint8_t>() + y * width * channels;
  png_bytepp row_pointers = rows.data();
  if (!PngCalls(png, [&] {
        png_read_image(png, row_pointers);
        png_read_end(png, nullptr);
      })) {
    return fail();
  }
  png_destroy_read_struct(&png, &info, nullptr);
  return image.permute({2, 0, 1}).contiguous();
}

}  // namespace

absl::StatusOr<at::Tensor> DecodeImage(absl::string_view bytes, ColorMode mode) {
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xD8) {
    return DecodeJpeg(bytes, mode);
  }
  if (bytes.size() >= 8 &&
      png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0) {
    return DecodePng(bytes, mode);
  }
  return absl::InvalidArgumentError(bytes.empty() ? "the file is empty"
                                                  : "neither a JPEG nor a PNG file");
}

absl::StatusOr<at::Tensor> DecodeImageFile(const std::string& path, ColorMode mode) {
  std::ifstream in(path, std::ios::binary);
  absl::StatusOr<at::Tensor> image = absl::InvalidArgumentError("cannot be read");
  if (in) image = DecodeImage(std::string(std::istreambuf_iterator<char>(in), {}), mode);
  if (image.ok()) return image;
  return absl::Status(image.status().code(),
                      absl::StrCat("image '", path, "': ", image.status().message()));
}

}  // namespace affsig::datasets
