#!/usr/bin/env bash
# Fuzzes each harness (or those named) for longer than CI does, default 600 s each, from its seeds,
# its regressions and what earlier runs kept: the working corpora grow in
# build-sanitize/fuzz/corpus/<harness>. What a run finds (a crash, leak, undefined behaviour,
# broken property or allocation beyond the limits, which fail the harness; an input slower than
# 10 s, which does not) is listed and kept in build-sanitize/fuzz/findings/<harness>, to be fixed
# and made a regression test (docs/security.md). Exit status 1 when a harness failed.
# Usage: scripts/fuzz.sh [SECONDS_PER_HARNESS] [HARNESS...]   (harnesses: tests/fuzz/corpus/*)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  for dir in tests/fuzz/corpus/*/; do harnesses+=("$(basename "$dir")"); done
fi
cmake -S . -B build-sanitize -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DAFFSIG_FUZZ=ON >/dev/null
cmake --build build-sanitize --target "${harnesses[@]/%/_fuzzer}"
export UBSAN_OPTIONS=print_stacktrace=1
status=0
for harness in "${harnesses[@]}"; do
  out=build-sanitize/fuzz
  log=$out/$harness.log
  mkdir -p "$out"
  echo "== $harness: $seconds s (log: $log)"
  touch "$out/.started"
  if ! tests/fuzz/run_fuzzer.sh "build-sanitize/tests/fuzz/${harness}_fuzzer" \
      "$out/findings/$harness" "$out/corpus/$harness" -max_total_time="$seconds" >"$log" 2>&1; then
    status=1
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error|property violated)" "$log" | head -5 || true
  fi
  grep -E "^(Done|stat::(number_of_executed_units|average_exec_per_sec|new_units_added))" \
    "$log" || true
  find "$out/findings/$harness" -type f -newer "$out/.started" -printf '  finding: %p\n'
done
exit "$status"
