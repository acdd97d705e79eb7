#!/usr/bin/env bash
# local_slurm.sh works: a real cluster starts in a temp dir, runs a batch job whose output and
# finished-job record name its Slurm id, squeue counts a name's pending and running jobs,
# scancel and failures land in the record, and stop leaves no process behind.
#
#   tests/slurm/local_slurm_selftest.sh      # PASS, exit 0; exit 77 = skipped (no root/Slurm)
# shellcheck disable=SC2016  # job scripts and wait_for conditions expand later, on purpose
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=local_slurm.sh
source "$here/local_slurm.sh"

if ! why=$(local_slurm_available); then echo "SKIP: $why"; exit 77; fi

fail() { echo "FAIL: $*" >&2; exit 1; }
ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

dir=$(mktemp -d)
cleanup() { local_slurm_stop; rm -rf "$dir"; }
trap cleanup EXIT
# Jobs run where sbatch was called; keep anything they write out of the caller's directory.
cd "$dir"

# Polls COMMAND (a string) until it succeeds, for at most SECONDS.
wait_for() {
  local seconds=$1 what=$2 i
  for (( i = 0; i < seconds * 5; i++ )); do
    if eval "$what"; then return 0; fi
    sleep 0.2
  done
  fail "not true after ${seconds}s: $what"
}
# Jobs named NAME that squeue still lists (pending, running or completing), one id a line.
queued() { squeue --name="$1" --noheader --format=%i; }

t0=$(ms)
local_slurm_start "$dir" || fail "local_slurm_start"
t_start=$(( $(ms) - t0 ))
echo "cluster up in ${t_start} ms: node $LOCAL_SLURM_NODE ($LOCAL_SLURM_CPUS CPUs)," \
     "slurmctld :$LOCAL_SLURM_CTLD_PORT, slurmd :$LOCAL_SLURM_SLURMD_PORT"
[[ $(sinfo --noheader --format='%P %a %t') == "debug* up idle" ]] || fail "sinfo: $(sinfo)"

# One job: its output names the id sbatch printed, and so does the finished-job record.
t0=$(ms)
id=$(sbatch --parsable --job-name=affsig-selftest --output="$dir/selftest-%j.out" \
       --wrap 'echo hello from $SLURM_JOB_ID')
[[ $id =~ ^[0-9]+$ ]] || fail "sbatch printed '$id'"
wait_for 30 '[[ -z $(queued affsig-selftest) ]]'
t_job=$(( $(ms) - t0 ))
[[ $(cat "$dir/selftest-$id.out") == "hello from $id" ]] ||
  fail "output: '$(cat "$dir/selftest-$id.out" 2>&1)'"
state=$(local_slurm_wait_finished "$id" 10) || fail "job $id not in the finished-job record"
[[ $state == COMPLETED ]] || fail "job $id ended $state"
echo "job $id ran in ${t_job} ms; sacct --completion says:"
sacct --completion --jobs="$id" --format=JobID,JobName%20,State,ExitCode,NodeList,WorkDir%40
IFS='|' read -r _ name _ exit_code _ <<<"$(local_slurm_finished_jobs "$id")"
[[ $name == affsig-selftest && $exit_code == 0:0 ]] || fail "record: $(local_slurm_finished_jobs "$id")"

# Two whole-node jobs under one name: one runs while the other waits, and squeue counts both.
a=$(sbatch --parsable --job-name=affsig-count --exclusive --output=/dev/null --wrap 'sleep 3')
b=$(sbatch --parsable --job-name=affsig-count --exclusive --output=/dev/null --wrap 'sleep 3')
[[ $(queued affsig-count | wc -l) -eq 2 ]] || fail "squeue --name counts: $(queued affsig-count)"
wait_for 10 '[[ $(squeue --jobs="$a" --noheader --format=%T) == RUNNING ]]'
[[ $(squeue --jobs="$b" --noheader --format=%T) == PENDING ]] || fail "job $b not pending"
squeue --name=affsig-count
echo "squeue --name=affsig-count counts $(queued affsig-count | wc -l) (one running, one pending)"
scancel "$b"
wait_for 10 '[[ $(queued affsig-count) == "$a" ]]'
wait_for 20 '[[ -z $(queued affsig-count) ]]'
[[ $(local_slurm_wait_finished "$a" 10) == COMPLETED ]] || fail "job $a not COMPLETED"
[[ $(local_slurm_wait_finished "$b" 10) == CANCELLED ]] || fail "job $b not CANCELLED"

# A failing script is FAILED with its exit status.
c=$(sbatch --parsable --job-name=affsig-fail --output=/dev/null --wrap 'exit 3')
[[ $(local_slurm_wait_finished "$c" 30) == FAILED ]] || fail "job $c not FAILED"
[[ $(local_slurm_finished_jobs "$c" | cut -d'|' -f4) == 3:0 ]] || fail "job $c exit code"
echo "all finished jobs (JobID|JobName|State|ExitCode|Start|End|NodeList|WorkDir):"
local_slurm_finished_jobs

# A job still running at stop is cancelled, and nothing of the cluster survives stop.
sbatch --parsable --job-name=affsig-left --output=/dev/null --wrap 'sleep 300' >/dev/null
wait_for 10 '[[ $(squeue --name=affsig-left --noheader --format=%T) == RUNNING ]]'
pids="$LOCAL_SLURM_MUNGED_PID $LOCAL_SLURM_SLURMCTLD_PID $LOCAL_SLURM_SLURMD_PID"
t0=$(ms)
local_slurm_stop
t_stop=$(( $(ms) - t0 ))
local_slurm_stop  # a second call (as from the EXIT trap) is harmless
for p in $pids; do
  [[ ! -e /proc/$p ]] || [[ $(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null) == Z ]] ||
    fail "pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) survived stop"
done
for p in /proc/[0-9]*; do
  { mapfile -d '' -t env <"$p/environ"; } 2>/dev/null || continue
  for e in "${env[@]}"; do
    [[ $e == "SLURM_CONF=$SLURM_CONF" && ${p#/proc/} != "$$" ]] &&
      fail "${p#/proc/} ($(cat "$p/comm" 2>/dev/null)) survived stop"
  done
done
[[ $(local_slurm_finished_jobs | grep -c '|affsig-left|CANCELLED|') -eq 1 ]] ||
  fail "job left running was not cancelled: $(local_slurm_finished_jobs)"

echo "timings: start ${t_start} ms, first job ${t_job} ms, stop ${t_stop} ms," \
     "total $(( SECONDS )) s"
echo PASS
