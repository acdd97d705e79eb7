#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (the slow model-zoo label included).
# Usage: scripts/test.sh [ctest arguments, e.g. -L slow or -LE slow]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@"
