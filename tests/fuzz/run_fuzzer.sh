#!/usr/bin/env bash
# Runs one harness from its committed seeds (corpus/<harness>) and past findings
# (regressions/<harness>), beside this script, plus a working corpus where it keeps the inputs
# that reach new code. A crash, a leak, undefined behaviour, a broken property, an input slower
# than 60 s, an allocation over 1 GiB or 2 GiB resident fail it, the input kept in FINDINGS_DIR.
# The fuzz label runs it for a fixed number of inputs from a fixed seed (-runs=N -seed=1: the same
# inputs each run), scripts/fuzz.sh for a time (-max_total_time=S).
# Usage: run_fuzzer.sh FUZZER FINDINGS_DIR CORPUS_DIR LIBFUZZER_FLAG...
#   (CORPUS_DIR "": a fresh one, removed afterwards)
set -euo pipefail
fuzzer=$1 findings=$2 corpus=$3
shift 3
here=$(dirname "$(readlink -f "$0")")
harness=$(basename "$fuzzer" _fuzzer)
if [[ -z $corpus ]]; then
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
fi
mkdir -p "$findings" "$corpus"
# The dataset harnesses write each input to a file: in memory, where there is /dev/shm (on ext4,
# rewriting a file and closing it flushes it to disk, 3 ms an input).
if [[ -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
seeds=()
for dir in "$here/corpus/$harness" "$here/regressions/$harness"; do
  if [[ -d $dir ]]; then seeds+=("$dir"); fi
done
"$fuzzer" -timeout=60 -malloc_limit_mb=1024 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$findings/" "$@" "$corpus" "${seeds[@]}"
