#!/usr/bin/env bash
# Installs every Debian 12 package affsig needs to build, test and benchmark.
# Usage: scripts/setup.sh   (as root, or with sudo available)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  # libopenblas0-openmp: OpenBLAS on LibTorch's own OpenMP threads (see CMakeLists.txt).
  libtorch-dev libopenblas0 libopenblas0-openmp
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libeigen3-dev libabsl-dev libsqlite3-dev libssl-dev
  # Boost.Math (header-only): the p-values of the correlations (server/analysis/).
  libboost-dev
  libgtest-dev libgmock-dev liblemon-dev
  # Image datasets: JPEG and PNG decoding, gzipped MNIST.
  libjpeg62-turbo-dev libpng-dev zlib1g-dev
  # The paper's algorithm in Python, for golden fixtures and the benchmark; scikit-learn for the
  # companion measures' references (tests/engine/measures_reference.py).
  python3-torch python3-torchvision python3-scipy python3-pot python3-numpy python3-sklearn
  # Image fixtures and the generated image folders of the datasets benchmark.
  python3-pil
  # The Python package (client/python): gRPC, results as DataFrames, plots, progress bars, its
  # tests, and pip-installing it offline into a virtual environment.
  python3-grpcio python3-protobuf python3-pandas python3-matplotlib python3-tqdm python3-pytest
  python3-venv python3-wheel
  # Workers started by Slurm: the integration test runs a one-node cluster (tests/slurm/).
  slurm-wlm slurm-client munge
  # The HTTP port (server/http/) serves with cpp-httplib; its tests (tests/http/) check /metrics
  # with a real promtool and Prometheus and the dashboard in headless Chromium (chromedriver),
  # whose screenshots need a font.
  libcpp-httplib-dev prometheus chromium chromium-driver fonts-dejavu-core
  # The sanitizer build (scripts/sanitize.sh): clang with AddressSanitizer, UndefinedBehavior-
  # Sanitizer and libFuzzer, which fuzzes the parsers of untrusted bytes (docs/security.md); their
  # runtimes are in libclang-rt-14-dev, which clang-14 only recommends.
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  # TLS tests (tests/api/tls_test.cc, tests/slurm, tests/python/test_tls.py) make their
  # certificates with the openssl command.
  openssl
)

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
