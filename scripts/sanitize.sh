#!/usr/bin/env bash
# Builds affsig with clang in build-sanitize/ under AddressSanitizer and UndefinedBehaviorSanitizer
# (any report fails the test) with the libFuzzer harnesses (AFFSIG_FUZZ), and runs there the unit
# tests of the layers named below (label unit) and each harness for a fixed number of inputs
# (label fuzz). scripts/test.sh runs it after the main build's tests; docs/security.md says why
# these layers and what each harness covers.
# Usage: scripts/sanitize.sh [ctest arguments instead of -L 'unit|fuzz', e.g. -R fuzz_npy]
set -euo pipefail
cd "$(dirname "$0")/.."
# The layers whose unit tests run here; docs/security.md says why the others do not.
sanitized=(tests/common/all tests/store/all tests/core/all tests/analysis/all tests/datasets/all
           tests/fuzz/all)
cmake -S . -B build-sanitize -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DAFFSIG_FUZZ=ON >/dev/null
cmake --build build-sanitize --target "${sanitized[@]}"
args=("$@")
((${#args[@]})) || args=(-L 'unit|fuzz')
cd build-sanitize
export UBSAN_OPTIONS=print_stacktrace=1
ctest --output-on-failure --timeout 300 -j "$(nproc)" "${args[@]}"
