"""The README's notebook example as a script: an eager torchvision model exported, submitted,
its signature as a DataFrame and as a plot.

    AFFSIG_SERVER=HOST:PORT PYTHONPATH=build/python /usr/bin/python3 docs/notebook_example.py [PNG]

writes the plot to PNG (default signature.png); docs/notebook_example.png is its output. In a
notebook each step is a cell, and the DataFrame and the plot show as the cells' results. The
weights and the images are random: run it on a trained model and real images (``data=`` a folder
on the server) for a signature that means something.
"""

import sys

import torch
import torchvision

import affsig

torch.manual_seed(0)  # the same plot every run

client = affsig.Client()  # the server: $AFFSIG_SERVER
model, images = torchvision.models.resnet18(num_classes=10).eval(), torch.randn(64, 3, 64, 64)
# What submit(model=model, ...) does by itself: a TorchScript trace on a few samples that keeps the
# module names, checked against the eager output (method="script" keeps control flow).
scripted = affsig.export(model, images[:8])
signature = client.submit(model=scripted, input=images, batch_size=32, name="resnet18").result()

frame = signature.to_pandas()
print(frame[["index", "module", "call", "op", "n", "d", "score", "std"]].to_string(index=False))

ax = signature.plot()
ax.figure.savefig(sys.argv[1] if len(sys.argv) > 1 else "signature.png", dpi=100)
