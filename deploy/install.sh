#!/usr/bin/env bash
# Installs affsig-server, affsig-worker and the affsig client from build/ (scripts/build.sh;
# another build folder with AFFSIG_BUILD_DIR) under PREFIX (default /usr/local):
# PREFIX/bin/affsig-server, PREFIX/bin/affsig-worker, PREFIX/bin/affsig. The server starts the
# worker beside it for its local devices; a worker-only machine needs PREFIX/bin/affsig-worker
# (and LibTorch), a client-only machine PREFIX/bin/affsig and Debian's gRPC runtime.
#
#   deploy/install.sh [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
build=${AFFSIG_BUILD_DIR:-build}
[[ -x "$build/server/affsig-server" && -x "$build/server/affsig-worker" &&
  -x "$build/client/affsig" ]] || {
  echo "install.sh: nothing built in $build: run scripts/build.sh first" >&2
  exit 2
}
cmake --install "$build" --prefix "$prefix" --component affsig
echo "installed: $prefix/bin/affsig-server $prefix/bin/affsig-worker $prefix/bin/affsig"
