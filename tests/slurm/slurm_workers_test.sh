#!/usr/bin/env bash
# Slurm starts the workers: a real single-node cluster (munged, slurmctld, slurmd from Debian's
# packages, tests/slurm/local_slurm.sh), affsig-server with no local worker and
# --slurm-submit=deploy/slurm/affsig-worker.sbatch, jobs submitted through the client. Checks
# that workers started by Slurm ran every job (the job's worker names its Slurm job, which
# Slurm's record of finished jobs shows COMPLETED), that no more than --slurm-max-workers were
# ever pending or running, and that the workers exited once idle. The server speaks TLS, as a
# lab's on the network does: the workers verify it with the CA it hands them (--slurm-tls-ca).
#
#   tests/slurm/slurm_workers_test.sh BUILD_DIR      (exit 77: skipped, the reason on stderr)
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "$1" && pwd)
source "$source_dir/tests/slurm/local_slurm.sh"
local_slurm_available || exit 77

# munged's socket path must stay short: a folder directly under /tmp.
tmp=$(mktemp -d /tmp/affsig-slurm.XXXXXX)
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill -KILL "$server_pid" 2>/dev/null || true
  local_slurm_stop "$tmp/cluster" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for log in "$tmp"/server.log "$tmp"/run/affsig-worker-*.log; do
    [[ -f "$log" ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
  done
  exit 1
}

mkdir -p "$tmp/cluster" "$tmp/run"
local_slurm_start "$tmp/cluster" || fail "the Slurm cluster did not start"

# The batch script as a lab uses it; this node has no GPU, so the job asks for none and its one
# worker runs on the CPU. Jobs write their logs where sbatch ran: the server's folder.
export SBATCH_GRES=none AFFSIG_WORKER="$build_dir/server/affsig-worker" AFFSIG_IDLE_EXIT=3
export AFFSIG_WORKER_ARGS="--threads=1" AFFSIG_CACHE_DIR="$tmp/cache"
cd "$tmp/run"
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
openssl req -x509 $key -subj "/CN=affsig test CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
  2>/dev/null || fail "openssl"
openssl req -x509 $key -subj /CN=localhost -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
  -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
  -keyout "$tmp/server.key" -out "$tmp/server.pem" 2>/dev/null || fail "openssl"
source "$source_dir/scripts/server_lib.sh"
start_affsig_server "$build_dir/server/affsig-server" "$tmp" --devices=none \
  --slurm-submit="$source_dir/deploy/slurm/affsig-worker.sbatch" --slurm-max-workers=2 \
  --tls-cert="$tmp/server.pem" --tls-key="$tmp/server.key" --slurm-tls-ca="$tmp/ca.pem" ||
  fail "no server"
server_pid=$affsig_server_pid
# Only now: the server's environment (which sbatch --export=ALL passes on) has no CA.
export AFFSIG_SERVER=$affsig_address AFFSIG_TLS_CA=$tmp/ca.pem
client="$build_dir/client/affsig"
fixtures=$source_dir/tests/fixtures/golden

jobs=()
for i in 1 2 3 4 5 6; do
  jobs+=("$("$client" submit --model="$fixtures/mlp_mixed.pt" \
    --input="$fixtures/mlp_mixed.input.npy" --label=n="$i" | tail -n 1)")
done

# Until every job ends; meanwhile Slurm never holds more than two of our workers.
most=0
for _ in $(seq 600); do
  count=$(squeue --noheader --name=affsig-worker --format=%i | wc -l)
  ((count > most)) && most=$count
  waiting=$("$client" list --state=QUEUED --format=csv | tail -n +2 | wc -l)
  running=$("$client" list --state=RUNNING --format=csv | tail -n +2 | wc -l)
  ((waiting + running == 0)) && break
  sleep 0.2
done
((most <= 2)) || fail "$most Slurm workers at once, more than --slurm-max-workers=2"

slurm_ids=()
for job in "${jobs[@]}"; do
  status=$("$client" status "$job" --format=json)
  grep -q '"state": "SUCCEEDED"' <<<"$status" || fail "job $job did not succeed: $status"
  # The worker's name ends in slurm-JOBID: the Slurm job that ran it.
  id=$(grep -o '"worker": "[^"]*/slurm-[0-9]*"' <<<"$status" | head -n 1 | grep -o '[0-9]*"$' |
    tr -d '"')
  [[ -n "$id" ]] || fail "job $job was not run by a Slurm worker: $status"
  slurm_ids+=("$id")
  "$client" result "$job" --format=csv | tail -n +2 | wc -l | grep -qx 11 ||
    fail "job $job has not its 11 entries"
done

# Idle, the workers exit and their Slurm jobs complete.
for id in $(printf '%s\n' "${slurm_ids[@]}" | sort -u); do
  state=$(local_slurm_wait_finished "$id" 60) || fail "Slurm job $id did not finish when idle"
  [[ $state == COMPLETED ]] || fail "Slurm job $id ended $state"
  sacct --completion --noheader --parsable2 --jobs="$id" --format=JobName,State | grep -q \
    "affsig-worker|COMPLETED" || fail "sacct has no completed affsig-worker job $id"
done
echo "PASS: ${#jobs[@]} jobs on Slurm job(s) $(printf '%s\n' "${slurm_ids[@]}" | sort -u |
  tr '\n' ' ')(at most $most at once)"
