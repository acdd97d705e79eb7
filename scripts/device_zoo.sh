#!/usr/bin/env bash
# On a GPU machine after scripts/device_check.sh: generates the torchvision fixtures and the
# model zoo with the machine's own PyTorch and checks the engine's signatures on cuda:0.
set -uo pipefail
out=${1:-/tmp}
deb=$PWD/.device/deb/usr
export LD_LIBRARY_PATH=$deb/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
cmake --build build-gpu -j "$(nproc)" --target signature_engine_test model_zoo_test 2>&1 | grep -E "error|FAILED"
python3 tests/fixtures/make_golden.py --set generated --out build-gpu/fixtures 2>&1 | grep -v Warning | tail -5
python3 tests/fixtures/make_golden.py --set zoo --out build-gpu/zoo > "$out/zoo_generation.log" 2>&1
tail -3 "$out/zoo_generation.log"
export AFFSIG_TEST_DEVICE=cuda:0 AFFSIG_FIXTURE_DIR=$PWD/build-gpu/fixtures AFFSIG_ZOO_DIR=$PWD/build-gpu/zoo
./build-gpu/tests/engine/signature_engine_test --gtest_filter=*Generated* 2>&1 | tee "$out/generated.log" | tail -3
./build-gpu/tests/engine/model_zoo_test > "$out/zoo.log" 2>&1; grep -E "Which is|golden_signature.cc:[0-9]+: (entry|[a-z])|PASSED|FAILED|Expected|  Actual|which exceeds" "$out/zoo.log" | head -80
