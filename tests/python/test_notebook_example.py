"""docs/notebook_example.py end to end: export, submit, DataFrame, plot saved to PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import REPOSITORY


def test_the_notebook_example_runs(server, tmp_path: Path) -> None:
    png = tmp_path / "signature.png"
    done = subprocess.run(
        [sys.executable, str(REPOSITORY / "docs" / "notebook_example.py"), str(png)],
        env={**os.environ, "AFFSIG_SERVER": server.address, "MPLBACKEND": "Agg"},
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0].split() == ["index", "module", "call", "op", "n", "d", "score", "std"]
    assert rows[1].split()[:4] == ["0", "relu", "0", "ReLU"] and len(rows) == 1 + 17
    assert "SUCCEEDED" in done.stderr  # the progress
    assert png.read_bytes().startswith(b"\x89PNG")
