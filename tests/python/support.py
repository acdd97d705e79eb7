"""What the Python client's tests share: a real affsig-server with real workers on 127.0.0.1 (a
kernel-picked port, read from the line the server prints, as scripts/server_lib.sh does), the CLI
beside it, and the models the tests submit.

ctest passes the programs' paths (tests/python/CMakeLists.txt): AFFSIG_SERVER_BINARY,
AFFSIG_WORKER_BINARY, AFFSIG_CLIENT_BINARY, AFFSIG_ENGINE_BINARY; and PYTHONPATH=build/python.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

REPOSITORY = Path(__file__).resolve().parents[2]
GOLDEN = REPOSITORY / "tests" / "fixtures" / "golden"
SERVICE_FIXTURES = REPOSITORY / "tests" / "fixtures" / "service"

sys.path.insert(0, str(REPOSITORY / "tests" / "reference"))


def program(variable: str) -> str:
    path = os.environ.get(variable)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"${variable} must name the built program (ctest sets it)")
    return path


def _die_with_parent() -> None:
    """In the child: a test run that is killed (a ctest timeout) takes its server with it."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class Server:
    """affsig-server on 127.0.0.1, its database, uploads and log in `directory`."""

    def __init__(self, directory: Path, *flags: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / "server.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [program("AFFSIG_SERVER_BINARY"), "--listen=127.0.0.1:0",
                 f"--db={directory / 'affsig.db'}", f"--data-dir={directory / 'data'}",
                 f"--worker-binary={program('AFFSIG_WORKER_BINARY')}", "--threads=1", *flags],
                stdout=subprocess.PIPE, stderr=log, text=True, preexec_fn=_die_with_parent)
        line = self.process.stdout.readline()  # "affsig-server listening on HOST:PORT with ..."
        if not line.startswith("affsig-server listening on "):
            self.stop()
            raise RuntimeError(f"affsig-server did not start: {line!r}\n{self.log.read_text()}")
        self.address = line.split()[3]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def cli(server: Server, *args: str) -> Any:
    """Runs the affsig CLI against the server with --format=json; its parsed output."""
    done = subprocess.run([program("AFFSIG_CLIENT_BINARY"), f"--server={server.address}",
                           "--format=json", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class ReusedReluCnn(nn.Module):
    """One in-place ReLU module called twice, and functional activations after it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1)
        self.head = nn.Linear(12, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.conv2(x))
        x = torch.sigmoid(x) * x
        return F.softmax(self.head(F.adaptive_avg_pool2d(x, 1).flatten(1)), dim=1)


def reused_relu_cnn() -> ReusedReluCnn:
    torch.manual_seed(0)
    return ReusedReluCnn().eval()


def samples(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as the CLI's JSON has them: NaN as None."""
    return [{key: _json_value(value) for key, value in row.items()}
            for row in frame.to_dict("records")]


def _json_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
