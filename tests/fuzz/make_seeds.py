#!/usr/bin/python3
"""Writes the fuzz harnesses' seed corpora, corpus/<harness>/: small valid files of each format
in its variants, and near-valid ones (refused for one reason each), so that the fuzzer starts
from every branch of the reader. The seeds are committed; run this again only to change them.

Usage: /usr/bin/python3 tests/fuzz/make_seeds.py   (NumPy, PyTorch and Pillow, from setup.sh)
"""

import base64
import gzip
import hashlib
import io
import os
import shutil
import struct
import zlib

import numpy as np
import torch
from PIL import Image

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
RNG = np.random.default_rng(13)


def write(harness, name, data):
    os.makedirs(os.path.join(CORPUS, harness), exist_ok=True)
    with open(os.path.join(CORPUS, harness, name), "wb") as out:
        out.write(data if isinstance(data, bytes) else data.encode())


def npy_bytes(array, version=None):
    out = io.BytesIO()
    if version is None:
        np.save(out, array)
    else:
        np.lib.format.write_array(out, array, version=version)
    return out.getvalue()


def npy_seeds():
    arrays = {
        "float32_2x3": np.arange(6, dtype=np.float32).reshape(2, 3),
        "float64_empty_0x3": np.zeros((0, 3), dtype=np.float64),
        "float16_scalar": np.float16(1.5),
        "uint8_4": np.arange(4, dtype=np.uint8),
        "int8_2x2": np.array([[-1, 2], [3, -4]], dtype=np.int8),
        "int16_3": np.array([-300, 0, 300], dtype=np.int16),
        "int32_2x1x2": np.arange(4, dtype=np.int32).reshape(2, 1, 2),
        "int64_2": np.array([-(2**40), 2**40], dtype=np.int64),
        "bool_3": np.array([True, False, True]),
    }
    for name, array in arrays.items():
        write("npy", name + ".npy", npy_bytes(array))
    write("npy", "version2_float32_2.npy", npy_bytes(np.ones(2, dtype=np.float32), (2, 0)))
    write("npy", "version3_uint8_2.npy", npy_bytes(np.ones(2, dtype=np.uint8), (3, 0)))
    # Refused: Fortran order, big-endian, a structured dtype, missing data, extra data.
    write("npy", "fortran_order.npy", npy_bytes(np.asfortranarray(np.ones((2, 2), np.float32))))
    write("npy", "big_endian.npy", npy_bytes(np.ones(2, dtype=">f4")))
    write("npy", "structured.npy", npy_bytes(np.zeros(2, dtype=[("a", "<f4"), ("b", "u1")])))
    write("npy", "truncated.npy", npy_bytes(np.ones(4, dtype=np.float32))[:-3])
    write("npy", "trailing_bytes.npy", npy_bytes(np.ones(4, dtype=np.float32)) + b"\0")


def torch_bytes(value, zipfile=True):
    out = io.BytesIO()
    torch.save(value, out, _use_new_zipfile_serialization=zipfile)
    return out.getvalue()


def tensor_file_seeds():
    write("tensor_file", "float32_4x6.pt", torch_bytes(torch.arange(24.0).view(4, 6)))
    write("tensor_file", "float64_2x2x2.pt", torch_bytes(torch.ones(2, 2, 2, dtype=torch.float64)))
    write("tensor_file", "uint8_3.pt", torch_bytes(torch.arange(3, dtype=torch.uint8)))
    write("tensor_file", "int64_2x1.pt", torch_bytes(torch.tensor([[7], [-7]])))
    # A view: its storage is larger than the tensor and it starts at an offset.
    write("tensor_file", "view_of_larger_storage.pt", torch_bytes(torch.arange(10.0)[2:8:2]))
    write("tensor_file", "empty_0x3.pt", torch_bytes(torch.zeros(0, 3)))
    # Refused: a 0-d tensor, a dict, the legacy (non-zip) format.
    write("tensor_file", "scalar.pt", torch_bytes(torch.tensor(1.0)))
    write("tensor_file", "dict.pt", torch_bytes({"x": torch.ones(2)}))
    write("tensor_file", "legacy_format.pt", torch_bytes(torch.ones(2), zipfile=False))
    # Uploads are .npy files too: read piecewise, one sample at a time.
    write("tensor_file", "float32_3x2.npy", npy_bytes(np.ones((3, 2), dtype=np.float32)))
    write("tensor_file", "float16_2x2.npy", npy_bytes(np.ones((2, 2), dtype=np.float16)))
    write("tensor_file", "scalar.npy", npy_bytes(np.float32(2.0)))


def gradient(width, height):
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                    (x + y) * 127 // max(width + height - 2, 1)], axis=-1)
    rgb = np.clip(rgb + RNG.integers(-30, 30, size=rgb.shape), 0, 255)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def image_bytes(image, format, **options):
    out = io.BytesIO()
    image.save(out, format, **options)
    return out.getvalue()


def jpeg_seeds():
    rgb = gradient(16, 12)
    write("jpeg", "rgb_420.jpg", image_bytes(rgb, "JPEG", quality=75))
    write("jpeg", "rgb_444.jpg", image_bytes(rgb, "JPEG", quality=90, subsampling=0))
    write("jpeg", "rgb_422_odd_size.jpg", image_bytes(gradient(13, 7), "JPEG", subsampling=1))
    write("jpeg", "gray.jpg", image_bytes(rgb.convert("L"), "JPEG"))
    write("jpeg", "progressive.jpg", image_bytes(rgb, "JPEG", progressive=True))
    write("jpeg", "optimized_huffman.jpg", image_bytes(rgb, "JPEG", optimize=True))
    write("jpeg", "restart_markers.jpg",
          image_bytes(gradient(32, 16), "JPEG", restart_marker_blocks=1))
    write("jpeg", "cmyk.jpg", image_bytes(rgb.convert("CMYK"), "JPEG"))
    write("jpeg", "one_pixel.jpg", image_bytes(gradient(1, 1), "JPEG"))
    baseline = image_bytes(rgb, "JPEG")
    write("jpeg", "truncated.jpg", baseline[: len(baseline) * 2 // 3])


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def interlaced_png(image):
    # Pillow writes no Adam7: each pass's rows, filter byte 0, in one IDAT.
    pixels = np.asarray(image)
    height, width, _ = pixels.shape
    raw = b""
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                           (1, 0, 2, 2), (0, 1, 1, 2)]:
        sub = pixels[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) +
            png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def png_seeds():
    rgb = gradient(12, 10)
    write("png", "rgb.png", image_bytes(rgb, "PNG"))
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(RNG.integers(0, 256, (10, 12), dtype=np.uint8), "L"))
    write("png", "rgba.png", image_bytes(rgba, "PNG"))
    write("png", "gray.png", image_bytes(rgb.convert("L"), "PNG"))
    write("png", "gray_alpha.png", image_bytes(rgba.convert("LA"), "PNG"))
    palette = rgb.quantize(colors=8)
    write("png", "palette.png", image_bytes(palette, "PNG"))
    write("png", "palette_transparency.png", image_bytes(palette, "PNG", transparency=0))
    write("png", "gray_1bit.png", image_bytes(rgb.convert("1"), "PNG"))
    write("png", "gray_16bit.png", image_bytes(
        Image.fromarray((np.asarray(rgb.convert("L")).astype(np.uint16) * 257), "I;16"), "PNG"))
    write("png", "rgb_transparency.png", image_bytes(rgb, "PNG", transparency=(0, 0, 0)))
    write("png", "interlaced.png", interlaced_png(rgb))
    whole = image_bytes(rgb, "PNG")
    write("png", "truncated.png", whole[: len(whole) // 2])
    write("png", "bad_crc.png", whole[:-5] + bytes([whole[-5] ^ 1]) + whole[-4:])


def idx_seeds():
    def idx(count, rows, cols, pixels=None):
        pixels = bytes(range(count * rows * cols)) if pixels is None else pixels
        return struct.pack(">IIII", 0x803, count, rows, cols) + pixels

    write("idx", "three_2x3.idx", idx(3, 2, 3))
    write("idx", "one_28x28.idx", idx(1, 28, 28, bytes(RNG.integers(0, 256, 784, np.uint8))))
    write("idx", "three_2x3.idx.gz", gzip.compress(idx(3, 2, 3), mtime=0))
    # Refused: the wrong magic (an IDX label file), fewer pixels than announced, no rows.
    write("idx", "labels_magic.idx", struct.pack(">II", 0x801, 3) + b"\1\2\3")
    write("idx", "truncated.idx", idx(3, 2, 3)[:-1])
    write("idx", "zero_rows.idx", idx(2, 0, 3, b""))
    write("idx", "truncated.idx.gz", gzip.compress(idx(3, 2, 3), mtime=0)[:-6])


def cifar_seeds():
    image = bytes(RNG.integers(0, 256, 3072, np.uint8))
    write("cifar", "cifar10_one_record.bin", b"\3" + image)
    write("cifar", "cifar100_one_record.bin", b"\3\7" + image)
    # Refused: not a whole number of records; no record.
    write("cifar", "partial_record.bin", b"\3" + image[:100])
    write("cifar", "empty.bin", b"")


def data_spec_seeds():
    specs = {
        "random": "random:3x224x224,count=512,seed=0,mean=0.5,std=2\nbatch_size=64,batches=2",
        "imagefolder": "imagefolder:/data/imagenet/val\nresize=256,crop=224,"
                       "mean=0.485/0.456/0.406,std=0.229/0.224/0.225,shuffle_seed=7",
        "cifar10": "cifar10:/data/cifar-10-batches-bin\nbatch_size=100,grayscale_to_rgb=1",
        "cifar100": "cifar100:/data/cifar-100-binary/test.bin\n",
        "mnist": "mnist:/data/mnist/t10k-images-idx3-ubyte.gz\nresize=0,crop=0,mean=0.5,std=0.25",
        "upload": "upload:" + "ab" * 32,
        "server": "server:/data/batch.npy\nbatches=0,batch_size=0",
        # Refused: an unknown kind, an option, a negative size, mean and std of other lengths.
        "unknown_kind": "tape:/dev/st0",
        "unknown_option": "random:2x2,count=1\ncolour=1",
        "negative_crop": "imagefolder:/x\ncrop=-1",
        "mean_std_lengths": "cifar10:/x\nmean=0.5/0.5,std=0.2",
    }
    for name, text in specs.items():
        write("data_spec", name + ".txt", text)


def page_token_seeds():
    # The filter key of page_token_fuzzer.cc; tokens as server/store/page_token.cc issues them.
    key = b"blobs kind=model"
    fingerprint = hashlib.sha256(key).digest()[:8].hex()
    for seq in [0, 1, 50, 123456789, 2**63 - 1, -1]:
        token = f"p1:{seq}:{fingerprint}".encode()
        write("page_token", f"seq_{seq}", base64.urlsafe_b64encode(token).rstrip(b"="))
    other = hashlib.sha256(b"blobs kind=input").digest()[:8].hex()
    write("page_token", "other_filter", base64.urlsafe_b64encode(f"p1:7:{other}".encode()))
    write("page_token", "not_base64", "p1:7:!!")
    write("page_token", "empty", "")


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    npy_seeds()
    tensor_file_seeds()
    jpeg_seeds()
    png_seeds()
    idx_seeds()
    cifar_seeds()
    data_spec_seeds()
    page_token_seeds()


if __name__ == "__main__":
    main()
