#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (the slow model-zoo label included), then
# the sanitized unit tests and the fuzz harnesses in their own clang build (scripts/sanitize.sh).
# Usage: scripts/test.sh [ctest arguments, e.g. -L slow or -LE slow: the main build's tests only]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
status=0
(cd build && ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@") || status=$?
if (($# == 0)); then scripts/sanitize.sh || status=$?; fi
exit "$status"
