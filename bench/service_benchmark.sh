#!/usr/bin/env bash
# The whole service under load, against a baseline server in the same run:
#  1. tiny jobs through the command-line client (client start, upload check, submit, wait,
#     result): jobs per second with 1 and 2 local worker processes, and the baseline's;
#  2. the datasets acceptance job (resnet18, 1 000 generated JPEG images, 4 batches of 250):
#     its time through the client on this build and on the baseline.
# The baseline is another affsig-server binary, e.g. the in-process workers of commit 8717cc7:
#   git worktree add /tmp/affsig-8717cc7 8717cc7 && (cd /tmp/affsig-8717cc7 &&
#     cmake -S . -B build -G Ninja -DAFFSIG_BUILD_TESTS=OFF && cmake --build build --target affsig-server)
#
#   bench/service_benchmark.sh BASELINE_SERVER [JOBS=200] [CLIENTS=8]
# Needs build/ (scripts/build.sh) with its generated fixtures (ctest -R generate_fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=$(realpath "$1")
jobs=${2:-200}
clients=${3:-8}
client=$PWD/build/client/affsig
model=$PWD/tests/fixtures/golden/mlp_mixed.pt
input=$PWD/tests/fixtures/golden/mlp_mixed.input.npy
resnet=$PWD/build/fixtures/resnet18.pt
[[ -f "$resnet" ]] || { echo "no $resnet: run ctest -R generate_fixtures in build/" >&2; exit 2; }
tmp=$(mktemp -d)
source scripts/server_lib.sh
trap 'stop_affsig_server; rm -rf "$tmp"' EXIT

# Starts SERVER with FLAGS in a fresh folder; sets address.
start() {
  local binary=$1 dir
  shift
  dir=$(mktemp -d "$tmp/run.XXXX")
  start_affsig_server "$binary" "$dir" --data-root="$tmp/images" "$@"
    address=$affsig_address
}

# Tiny jobs: JOBS submissions, CLIENTS at a time, each a new client process. Prints jobs/s.
tiny_jobs_per_second() {
  "$client" --server="$address" models upload "$model" >/dev/null  # uploads are not measured
  local start end
  start=$(date +%s.%N)
  seq "$jobs" | xargs -P "$clients" -I{} "$client" --server="$address" submit --model="$model" \
    --input="$input" --label=n={} --wait --format=csv >/dev/null
  end=$(date +%s.%N)
  "$client" --server="$address" list --state=SUCCEEDED --limit=0 --format=csv | tail -n +2 |
    wc -l | grep -qx "$jobs" || { echo "not every job succeeded" >&2; exit 1; }
  awk -v n="$jobs" -v a="$start" -v b="$end" 'BEGIN { print n / (b - a) }'
}

# The acceptance job; prints its seconds through the client.
acceptance_seconds() {
  local start end
  start=$(date +%s.%N)
  "$client" --server="$address" submit --model="$resnet" --data="imagefolder:$tmp/images" \
    --batch-size=250 --batches=4 --wait --format=csv >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'; }

/usr/bin/python3 bench/make_image_folder.py --count 1000 --out "$tmp/images" >/dev/null
declare -A rate seconds
for run in baseline:1 build:1 build:2; do
  binary=$([[ $run == baseline:* ]] && echo "$baseline" || echo "$PWD/build/server/affsig-server")
  devices=$([[ $run == *:2 ]] && echo cpu,cpu || echo cpu)
  start "$binary" --devices="$devices" --threads=0
  rate[$run]=$(tiny_jobs_per_second)
  [[ $run == *:1 ]] && seconds[$run]=$(acceptance_seconds)
  stop_affsig_server
done
start "$baseline" --devices=cpu,cpu --threads=0
rate[baseline:2]=$(tiny_jobs_per_second)
stop_affsig_server

printf 'machine: %s, %s cores; %s tiny jobs, %s clients at a time\n' "$(uname -n)" "$(nproc)" \
  "$jobs" "$clients"
printf 'tiny jobs/s   baseline 1 worker %6.1f   2 workers %6.1f\n' "${rate[baseline:1]}" \
  "${rate[baseline:2]}"
printf '              this build 1 worker %6.1f (%.2fx)   2 workers %6.1f (%.2fx of baseline 1)\n' \
  "${rate[build:1]}" "$(ratio "${rate[build:1]}" "${rate[baseline:1]}")" \
  "${rate[build:2]}" "$(ratio "${rate[build:2]}" "${rate[baseline:1]}")"
printf 'acceptance    baseline %.1f s   this build %.1f s   (%.3fx)\n' "${seconds[baseline:1]}" \
  "${seconds[build:1]}" "$(ratio "${seconds[build:1]}" "${seconds[baseline:1]}")"
