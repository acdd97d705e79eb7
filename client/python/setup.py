"""Builds the affsig package with what it needs from the rest of the repository: the gRPC stubs,
generated from ../../proto as CMake generates them (CMakeLists.txt here), and the version of
project() in ../../CMakeLists.txt, so that the package's version is always the server's."""

import re
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

REPOSITORY = Path(__file__).resolve().parents[2]
PROTO = REPOSITORY / "proto"


def project_version() -> str:
    cmake = (REPOSITORY / "CMakeLists.txt").read_text()
    return re.search(r"project\(affsig VERSION ([0-9.]+)", cmake).group(1)


class BuildPyWithStubs(build_py):
    """build_py, then the generated modules beside the copied sources."""

    def run(self) -> None:
        super().run()
        tools = [shutil.which("protoc"), shutil.which("grpc_python_plugin")]
        if None in tools:
            raise SystemExit("building affsig needs protoc and grpc_python_plugin (Debian: "
                             "apt-get install protobuf-compiler protobuf-compiler-grpc)")
        protoc, plugin = tools
        out = Path(self.build_lib)
        subprocess.run([protoc, "-I", PROTO, "--python_out", out, "--grpc_python_out", out,
                        f"--plugin=protoc-gen-grpc_python={plugin}",
                        PROTO / "affsig/v1/signature_service.proto"], check=True)
        subprocess.run([protoc, "-I", PROTO, "--include_imports", "--descriptor_set_out",
                        out / "affsig/_error_model.binpb", PROTO / "google/rpc/status.proto",
                        PROTO / "google/rpc/error_details.proto"], check=True)
        (out / "affsig/_version.py").write_text(f'__version__ = "{project_version()}"\n')


setup(version=project_version(), cmdclass={"build_py": BuildPyWithStubs})
