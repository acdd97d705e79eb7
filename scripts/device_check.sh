#!/usr/bin/env bash
# Builds the engine alone against the machine's own (CUDA) PyTorch and runs the engine tests on
# cuda:0, then the engine benchmark's resnet18 runs on cuda:0 (batch in pinned memory, scoring
# pool beside the forward) into OUT_DIR/engine_benchmark_cuda.md, for docs/benchmarks.md. Debian's Abseil, Eigen, protobuf and GoogleTest come along in .device/deb (copied from
# this machine's /usr by scripts/prepare_device.sh), shared/golden in .device/golden.
# Usage (on the GPU machine, from the repository root): scripts/device_check.sh [OUT_DIR]
set -uo pipefail
out=${1:-/tmp}
deb=$PWD/.device/deb/usr
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
  "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI, "device", torch.cuda.get_device_name(0))'
export LD_LIBRARY_PATH=$deb/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DAFFSIG_BUILD_SERVER=OFF -DAFFSIG_BUILD_WORKER=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deb" -DAFFSIG_PYTHON=python3 \
  -DProtobuf_INCLUDE_DIR=$deb/include -DProtobuf_LIBRARY=$deb/lib/x86_64-linux-gnu/libprotobuf.so \
  -DAFFSIG_SHARED_DIR=$PWD/.device 2>&1 | tail -5
cmake --build build-gpu -j "$(nproc)" --target affinity_score_test activation_capture_test \
  signature_engine_test assignment_solver_test transport_cost_test scoring_pool_test \
  affsig-engine engine_benchmark 2>&1 |
  grep -E "error|FAILED|warning: unused" | head -30
status=0
export AFFSIG_TEST_DEVICE=cuda:0 AFFSIG_GOLDEN_DIR=$PWD/.device/golden
for t in assignment_solver_test transport_cost_test affinity_score_test activation_capture_test \
  scoring_pool_test; do
  ./build-gpu/tests/engine/$t --gtest_filter=-*/5 2>&1 | tee "$out/$t.log" | tail -3 || status=1
done
./build-gpu/tests/engine/signature_engine_test --gtest_filter=-*Generated* 2>&1 |
  tee "$out/signature_engine_test.log" | grep -E "OK|FAILED|Failure|PASSED" | head -30
./build-gpu/server/engine/affsig-engine --device=cuda:0 --activations=all --random=256x3x16x16 \
  2>&1 | tee "$out/affsig_engine_cuda.txt"
./build-gpu/server/engine/affsig-engine --device=cpu --activations=all --random=256x3x16x16 \
  2>&1 | tee "$out/affsig_engine_cpu.txt" | tail -2
# The Python baseline (single activations) runs on the CPU with the machine's torch; the resnet18
# runs on cuda:0. Minutes: kept last, so that a short device lease still gets the tests above.
./build-gpu/bench/engine_benchmark --device=cuda:0 --skip_wide --repeats=3 --resnet_repeats=2 \
  --python=python3 2>&1 | tee "$out/engine_benchmark_cuda.md" | tail -12
exit $status
