"""The package as users get it: the server's version, light to import, pip-installable offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import affsig
from support import REPOSITORY, cli


def project_version() -> str:
    cmake = (REPOSITORY / "CMakeLists.txt").read_text()
    return re.search(r"project\(affsig VERSION ([0-9.]+)", cmake).group(1)


def test_the_version_is_the_server_version(server) -> None:
    assert affsig.__version__ == project_version() == cli(server, "info")["version"]


def test_importing_it_loads_no_torch_numpy_pandas_or_matplotlib() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, affsig; print(sorted(m for m in ('torch', 'numpy', "
         "'pandas', 'matplotlib', 'tqdm') if m in sys.modules))"],
        capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_pip_installs_it_offline_into_a_virtual_environment(server, tmp_path: Path) -> None:
    # The parts of the repository the build reads, so that the checkout stays as it is.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(REPOSITORY / "CMakeLists.txt", checkout)
    shutil.copytree(REPOSITORY / "proto", checkout / "proto")
    shutil.copytree(REPOSITORY / "client" / "python", checkout / "client" / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", "--no-index",
                    "--no-build-isolation", checkout / "client" / "python"], check=True)

    # From the virtual environment, without build/python: the installed copy, talking to a server.
    script = ("import affsig; print(affsig.__version__, affsig.__file__)\n"
              "try:\n"
              f"    affsig.Client({server.address!r}).job('job-none')\n"
              "except affsig.ServerError as error:\n"
              "    print(error.reason)\n")
    installed = subprocess.run([venv / "bin" / "python", "-c", script], capture_output=True,
                               text=True, check=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    version, location, reason = installed.stdout.split()
    assert version == project_version()
    assert Path(location).is_relative_to(venv)
    assert reason == "JOB_NOT_FOUND"


def test_a_process_that_never_closes_its_client_exits(server) -> None:
    script = f"import affsig\nclient = affsig.Client({server.address!r})\nclient.list_jobs()\n"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
