#!/usr/bin/python3
"""Writes an image folder in ImageNet layout for the datasets benchmark and acceptance run:
COUNT JPEG images of WIDTHxHEIGHT (smooth colour fields plus noise, from a fixed seed) spread
over 10 class folders.

Usage: /usr/bin/python3 bench/make_image_folder.py --count 5000 --out DIR [--size 320x240]
"""

import argparse
import os

import numpy as np
from PIL import Image


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", default="320x240")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    for n in range(args.count):
        folder = os.path.join(args.out, f"class_{n % 10:02d}")
        os.makedirs(folder, exist_ok=True)
        a, b, c = rng.uniform(0.5, 4.0, size=3)
        phase = rng.uniform(0, 6.3, size=3)
        field = np.stack([np.sin(a * x / width * 6.3 + phase[0]),
                          np.sin(b * y / height * 6.3 + phase[1]),
                          np.sin(c * (x + y) / (width + height) * 6.3 + phase[2])], axis=-1)
        pixels = np.clip(127.5 + 100 * field + rng.normal(0, 20, field.shape), 0, 255)
        Image.fromarray(pixels.astype(np.uint8), "RGB").save(
            os.path.join(folder, f"img_{n:05d}.JPEG"), quality=85)
    print(f"{args.count} images in {args.out}")


if __name__ == "__main__":
    main()
