#!/usr/bin/python3
"""The authors' pipeline for a whole signature job, as the paper's code runs it: torchvision's
ImageFolder with the ImageClassification preprocessing on PIL images, a DataLoader of batches,
forward hooks on the activation modules, and the score in float32 (their dtype) for each captured
call (tests/reference/paper_affinity.py, the paper's algorithm: eigh square roots, pinverse,
POT's exact transport). Timed from the first batch to the last score, as the issue measures it;
prints one JSON line: {"seconds": ..., "batches": ..., "entries": ...}.

Usage: /usr/bin/python3 bench/authors_pipeline.py --images DIR --arch resnet18
           [--batch-size 256] [--batches 2] [--threads T]
The model is torchvision's ARCH with random weights from seed 0: the one
`bench/paper_baseline.py export ARCH OUT.pt` writes for affsig.
"""

import argparse
import json
import os
import sys
import time

import torch
import torchvision
from torchvision.models import ResNet18_Weights

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "reference"))
import paper_affinity  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--arch", required=True)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.arch)().eval()
    # ImageClassification(crop 224, resize 256, ImageNet's mean and std): every classification
    # weight's transforms() in torchvision, applied to PIL images as the paper's loaders do.
    transform = ResNet18_Weights.IMAGENET1K_V1.transforms()
    dataset = torchvision.datasets.ImageFolder(args.images, transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=False,
                                         drop_last=True)
    start = time.perf_counter()
    batches = entries = 0
    for images, _ in loader:
        scored, _ = paper_affinity.signature(model, images, "modules", torch.float32)
        entries += len(scored)
        batches += 1
        if batches == args.batches:
            break
    print(json.dumps({"seconds": time.perf_counter() - start, "batches": batches,
                      "entries": entries}))


if __name__ == "__main__":
    main()
