#!/usr/bin/env bash
# Configures and builds affsig in build/ (Ninja, RelWithDebInfo, ccache when present).
# Usage: scripts/build.sh [extra cmake arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja "$@" >/dev/null
cmake --build build
