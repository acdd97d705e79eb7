#!/usr/bin/python3
"""The benchmark's Python side: the paper's algorithm, timed, and model export.

  score X.npy Y.npy [--dtype float32|float64] [--repeats R] [--threads T]
      times tests/reference/paper_affinity.affinity_score on the reduced activations R times and
      prints the fastest as one JSON line: {"seconds": ..., "score": ...}
  export ARCH OUT.pt [--batch-shape ...]
      writes a traced torchvision model with random weights (seed 0)
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "reference"))
import paper_affinity  # noqa: E402


def score(args):
    x, y = np.load(args.x), np.load(args.y)
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
    seconds = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        value = paper_affinity.affinity_score(torch.from_numpy(x), torch.from_numpy(y), dtype)
        seconds = min(seconds, time.perf_counter() - start)
    print(json.dumps({"seconds": seconds, "score": value}))


def export(args):
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.arch)().eval()
    example = torch.randn(2, 3, 224, 224)
    torch.jit.trace(model, example, check_trace=False).save(args.out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score")
    s.add_argument("x")
    s.add_argument("y")
    s.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    s.add_argument("--repeats", type=int, default=1)
    e = sub.add_parser("export")
    e.add_argument("arch")
    e.add_argument("out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    {"score": score, "export": export}[args.command](args)


if __name__ == "__main__":
    main()
