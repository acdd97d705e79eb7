# shellcheck shell=bash
# A real single-node Slurm cluster on this machine for integration tests: munged, slurmctld and
# slurmd from Debian's packages (slurm-wlm 22.05, munge 0.5.15), run as root, everything under
# one directory the caller owns. Meant to be sourced (by test scripts, or by `bash -c` from a
# gtest); it sets no shell options and installs no traps, so it works under `set -euo pipefail`
# and without it.
#
#   source tests/slurm/local_slurm.sh
#   local_slurm_available || exit 0          # the one reason a test may skip
#   dir=$(mktemp -d); trap 'local_slurm_stop; rm -rf "$dir"' EXIT
#   local_slurm_start "$dir"                 # exports SLURM_CONF; sbatch/squeue/... now use it
#   id=$(sbatch --parsable --wrap 'true'); local_slurm_wait_finished "$id"   # -> COMPLETED
#
# There is no slurmdbd, so `sacct` alone says "Slurm accounting storage is disabled". Finished
# jobs are recorded by jobcomp/filetxt in $LOCAL_SLURM_JOBCOMP_FILE, one line a job
# ("JobId=12 UserId=root(0) ... Name=... JobState=COMPLETED ... ExitCode=0:0"), which
# `sacct --completion` reads. In 22.05 that filters by job id (-j) and partition only (--name,
# --state, --user, -S/-E are ignored), and splits the line at spaces, so a job name with a space
# garbles that job's fields: the helpers below take job ids, and local_slurm_wait_finished reads
# the file itself.
#
# Exported by local_slurm_start:
#   SLURM_CONF                 the generated slurm.conf, which every Slurm client reads
#   LOCAL_SLURM_DIR            the directory given to local_slurm_start (absolute)
#   LOCAL_SLURM_NODE           the node's name (this host's short name), LOCAL_SLURM_CPUS its CPUs
#   LOCAL_SLURM_PARTITION      debug, the default partition
#   LOCAL_SLURM_CTLD_PORT, LOCAL_SLURM_SLURMD_PORT
#   LOCAL_SLURM_MUNGE_SOCKET   munged's socket (munge -S / unmunge -S)
#   LOCAL_SLURM_JOBCOMP_FILE   the record of finished jobs
#   LOCAL_SLURM_LOG_DIR        munged.log, slurmctld.log, slurmd.log (and *.stderr)
#   LOCAL_SLURM_MUNGED_PID, LOCAL_SLURM_SLURMCTLD_PID, LOCAL_SLURM_SLURMD_PID
# They are also written to $LOCAL_SLURM_DIR/env.sh for a process that did not start the cluster.
#
# Tunables (environment): LOCAL_SLURM_START_TIMEOUT (seconds until the node is idle, default 30),
# LOCAL_SLURM_STOP_TIMEOUT (seconds for jobs, then each daemon, to go after TERM, default 10).

# Where Debian puts the daemons; a test harness's PATH often lacks the sbin directories.
_local_slurm_which() {
  local name=$1 d
  if command -v "$name" 2>/dev/null; then return 0; fi
  for d in /usr/sbin /sbin /usr/local/sbin; do
    if [[ -x $d/$name ]]; then echo "$d/$name"; return 0; fi
  done
  return 1
}

_local_slurm_now() { printf '%(%s)T' -1; }

# Returns 0 while PID is a live (not zombie) process called NAME: pid files outlive their
# daemons, and a pid may since have been reused by something we must not signal.
_local_slurm_alive() {
  local pid=$1 name=$2 comm stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || return 1
  [[ $comm == "$name" ]] || return 1
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# The pid in FILE if it names a live NAME, else FALLBACK if that does.
_local_slurm_pid() {
  local file=$1 name=$2 fallback=${3:-} pid=
  { read -r pid <"$file"; } 2>/dev/null || pid=
  if _local_slurm_alive "$pid" "$name"; then echo "$pid"; return 0; fi
  if _local_slurm_alive "$fallback" "$name"; then echo "$fallback"; return 0; fi
  return 1
}

# TERM, then KILL after TIMEOUT seconds; returns once the process is gone.
_local_slurm_terminate() {
  local pid=$1 name=$2 timeout=$3 deadline
  _local_slurm_alive "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(( $(_local_slurm_now) + timeout ))
  while _local_slurm_alive "$pid" "$name" && (( $(_local_slurm_now) < deadline )); do
    sleep 0.1
  done
  if _local_slurm_alive "$pid" "$name"; then
    echo "local_slurm: $name ($pid) ignored SIGTERM for ${timeout}s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$(( $(_local_slurm_now) + 5 ))
    while _local_slurm_alive "$pid" "$name" && (( $(_local_slurm_now) < deadline )); do
      sleep 0.1
    done
  fi
  return 0
}

# A port nothing on this machine uses (in any TCP state), below the ephemeral range so outgoing
# connections do not take it later. Random, so two test runs at once rarely pick the same one;
# EXCLUDE (a port) is never returned.
_local_slurm_free_port() {
  local exclude=${1:-} used port i
  used=$(awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null) ||
    true
  for (( i = 0; i < 200; i++ )); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
    [[ $port == "$exclude" ]] && continue
    if ! grep -qix "$(printf '%04X' "$port")" <<<"$used"; then echo "$port"; return 0; fi
  done
  return 1
}

# The last lines of every log to stderr: the only clue when a daemon dies at start.
_local_slurm_dump_logs() {
  local dir=$1 f
  for f in "$dir"/log/munged.log "$dir"/log/*.stderr "$dir"/log/slurmctld.log \
           "$dir"/log/slurmd.log; do
    [[ -s $f ]] || continue
    echo "----- local_slurm: tail of $f -----" >&2
    tail -n 40 "$f" >&2 || true
  done
}

# Prints nothing and returns 0 when this machine can run the cluster; else one line saying why.
local_slurm_available() {
  local b
  if (( EUID != 0 )); then
    echo "local_slurm: needs root (slurmd runs jobs as their owner), running as uid $EUID"
    return 1
  fi
  for b in munged slurmctld slurmd sbatch squeue scancel sinfo sacct scontrol; do
    if ! _local_slurm_which "$b" >/dev/null; then
      echo "local_slurm: '$b' not found (Debian: apt-get install slurm-wlm munge)"
      return 1
    fi
  done
  return 0
}

local_slurm_start() {
  local dir=${1:-}
  if [[ -z $dir || ! -d $dir ]]; then
    echo "local_slurm_start: needs an existing directory, got '${dir}'" >&2; return 2
  fi
  dir=$(cd "$dir" && pwd -P) || return 2
  # slurm.conf has no quoting, and AuthInfo splits on commas.
  if [[ ! $dir =~ ^[A-Za-z0-9._/+-]+$ ]]; then
    echo "local_slurm_start: '$dir' has characters slurm.conf cannot hold" >&2; return 2
  fi
  local socket=$dir/munge/munge.socket conf=$dir/slurm.conf
  # A unix socket's path (sun_path) holds at most 107 bytes.
  if (( ${#socket} > 107 )); then
    echo "local_slurm_start: '$dir' is too long for munged's socket path" >&2; return 2
  fi
  if [[ -e $dir/slurm.conf ]]; then
    echo "local_slurm_start: $dir already holds a cluster; give a fresh directory" >&2; return 2
  fi
  local why
  if ! why=$(local_slurm_available); then echo "$why" >&2; return 1; fi

  local munged slurmctld slurmd
  munged=$(_local_slurm_which munged) || return 1
  slurmctld=$(_local_slurm_which slurmctld) || return 1
  slurmd=$(_local_slurm_which slurmd) || return 1

  # From here on a trap calling local_slurm_stop cleans up whatever did start.
  export LOCAL_SLURM_DIR=$dir
  mkdir -p "$dir"/{munge,state,spool,log,run} || return 1
  local timeout=${LOCAL_SLURM_START_TIMEOUT:-30}

  # munged refuses keys others can read; mungekey writes 0600.
  local mungekey
  if mungekey=$(_local_slurm_which mungekey); then
    "$mungekey" --create --keyfile="$dir/munge/munge.key" 2>>"$dir/log/munged.stderr"
  else
    (umask 077 && head -c 1024 /dev/urandom >"$dir/munge/munge.key")
  fi || { echo "local_slurm_start: cannot create a munge key" >&2; _local_slurm_dump_logs "$dir"; return 1; }

  # -f: munged otherwise refuses a socket whose directories are not world-searchable, and
  # mktemp -d makes 0700 ones; every job here runs as root, which can reach it anyway.
  # Without -F munged daemonizes once its socket is ready and reports a failed start in its
  # exit status.
  if ! "$munged" -f --socket="$socket" --key-file="$dir/munge/munge.key" \
      --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
      --seed-file="$dir/munge/munged.seed" </dev/null >>"$dir/log/munged.stderr" 2>&1; then
    echo "local_slurm_start: munged did not start" >&2; _local_slurm_dump_logs "$dir"; return 1
  fi
  local munged_pid
  munged_pid=$(_local_slurm_pid "$dir/run/munged.pid" munged) || {
    echo "local_slurm_start: munged exited right after starting" >&2
    _local_slurm_dump_logs "$dir"; return 1; }

  # Describe the node as slurmd sees it, so it registers without "Low RealMemory" or CPU
  # mismatches; the name is ours (-N below), so the host name only has to be a valid one.
  local node hw
  node=$(hostname -s 2>/dev/null) || node=
  hw=$("$slurmd" -C 2>/dev/null | awk '/^NodeName=/ {
      for (i = 2; i <= NF; i++) if ($i !~ /^(Gres|UpTime)=/) printf "%s ", $i; exit }') ||
    hw=
  if [[ -z $node || $hw != *CPUs=* || $hw != *RealMemory=* ]]; then
    echo "local_slurm_start: cannot describe this node (hostname '$node', slurmd -C '$hw')" >&2
    local_slurm_stop "$dir"; return 1
  fi
  local cpus=${hw#*CPUs=}; cpus=${cpus%% *}

  local ctld_port slurmd_port
  if ! ctld_port=$(_local_slurm_free_port) ||
     ! slurmd_port=$(_local_slurm_free_port "$ctld_port"); then
    echo "local_slurm_start: no free TCP port" >&2; local_slurm_stop "$dir"; return 1
  fi

  # Only what a one-node test cluster needs; the rest are Slurm's defaults. The controller's
  # and node's address is 127.0.0.1 so that the host name need not resolve.
  cat >"$conf" <<EOF || { local_slurm_stop "$dir"; return 1; }
# Generated by tests/slurm/local_slurm.sh for one test run; removed with its directory.
ClusterName=affsig-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: they need systemd or a writable cgroup tree, which test machines often lack.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# The record of finished jobs (sacct --completion), there being no slurmdbd.
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
# Cores, not memory, are what jobs consume, so several can run at once.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=5
KillWait=2
InactiveLimit=0
NodeName=$node NodeAddr=127.0.0.1 ${hw}State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

  # Daemon mode (no -D): each forks into its own session, so the caller's process group,
  # stdout and stderr are not theirs (a gtest reading a pipe would otherwise wait for them),
  # and writes its pid file; their stderr only gets what comes before the log is open.
  if ! SLURM_CONF=$conf "$slurmctld" </dev/null >>"$dir/log/slurmctld.stderr" 2>&1; then
    echo "local_slurm_start: slurmctld did not start" >&2
    _local_slurm_dump_logs "$dir"; local_slurm_stop "$dir"; return 1
  fi
  if ! SLURM_CONF=$conf "$slurmd" -N "$node" </dev/null >>"$dir/log/slurmd.stderr" 2>&1; then
    echo "local_slurm_start: slurmd did not start" >&2
    _local_slurm_dump_logs "$dir"; local_slurm_stop "$dir"; return 1
  fi

  # Up means the node is idle: controller listening, slurmd registered, munge working both ways.
  # A daemon counts as dead once its pid file names no live daemon for a second on end: a pid
  # file is written in steps, and a loaded machine can show a step half done.
  local deadline state='' ctld_pid='' slurmd_pid='' dead_polls=0 daemon
  deadline=$(( $(_local_slurm_now) + timeout ))
  while :; do
    ctld_pid=$(_local_slurm_pid "$dir/run/slurmctld.pid" slurmctld) || ctld_pid=
    slurmd_pid=$(_local_slurm_pid "$dir/run/slurmd.pid" slurmd) || slurmd_pid=
    daemon=
    [[ -s $dir/run/slurmctld.pid && -z $ctld_pid ]] && daemon=slurmctld
    [[ -s $dir/run/slurmd.pid && -z $slurmd_pid ]] && daemon=slurmd
    if [[ -n $ctld_pid && -n $slurmd_pid ]]; then
      state=$(SLURM_CONF=$conf timeout 5 sinfo --noheader --nodes="$node" --format=%t 2>/dev/null) ||
        state=
      [[ $state == idle ]] && break
    fi
    if [[ -n $daemon ]]; then dead_polls=$((dead_polls + 1)); else dead_polls=0; fi
    if ((dead_polls >= 5)); then
      echo "local_slurm_start: $daemon died while starting (its pid file says" \
           "'$(head -c 32 "$dir/run/$daemon.pid" | tr -d '\n')')" >&2
      _local_slurm_dump_logs "$dir"; local_slurm_stop "$dir"; return 1
    fi
    if (( $(_local_slurm_now) >= deadline )); then
      echo "local_slurm_start: node $node not idle after ${timeout}s (state '${state}'," \
           "slurmctld pid '${ctld_pid}', slurmd pid '${slurmd_pid}')" >&2
      _local_slurm_dump_logs "$dir"; local_slurm_stop "$dir"; return 1
    fi
    sleep 0.2
  done

  export SLURM_CONF=$conf LOCAL_SLURM_DIR=$dir LOCAL_SLURM_NODE=$node LOCAL_SLURM_CPUS=$cpus
  export LOCAL_SLURM_PARTITION=debug LOCAL_SLURM_CTLD_PORT=$ctld_port
  export LOCAL_SLURM_SLURMD_PORT=$slurmd_port LOCAL_SLURM_MUNGE_SOCKET=$socket
  export LOCAL_SLURM_JOBCOMP_FILE=$dir/log/jobcomp.txt LOCAL_SLURM_LOG_DIR=$dir/log
  export LOCAL_SLURM_MUNGED_PID=$munged_pid LOCAL_SLURM_SLURMCTLD_PID=$ctld_pid
  export LOCAL_SLURM_SLURMD_PID=$slurmd_pid
  local v
  for v in SLURM_CONF LOCAL_SLURM_DIR LOCAL_SLURM_NODE LOCAL_SLURM_CPUS LOCAL_SLURM_PARTITION \
           LOCAL_SLURM_CTLD_PORT LOCAL_SLURM_SLURMD_PORT LOCAL_SLURM_MUNGE_SOCKET \
           LOCAL_SLURM_JOBCOMP_FILE LOCAL_SLURM_LOG_DIR LOCAL_SLURM_MUNGED_PID \
           LOCAL_SLURM_SLURMCTLD_PID LOCAL_SLURM_SLURMD_PID; do
    printf 'export %s=%s\n' "$v" "${!v}"
  done >"$dir/env.sh"
  return 0
}

# Processes left from this cluster's jobs (slurmstepd, the batch script and what it ran) that
# cancelling did not end: they carry this SLURM_CONF in their environment. This shell and its
# ancestors may carry it too, and are spared. Builtins only: it looks at every process, and a
# fork per process takes seconds where forking is slow (gVisor).
_local_slurm_strays() {
  local conf=$1 p comm stat spare=" " pid=$BASHPID ppid IFS=$'\n'
  local -a env
  while [[ $pid =~ ^[0-9]+$ && $pid -gt 1 ]]; do
    spare+="$pid "
    { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || break
    stat=${stat##*) }; ppid=${stat#* }; pid=${ppid%% *}
  done
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $spare == *" $p "* ]] && continue
    { mapfile -d '' -t env <"/proc/$p/environ"; } 2>/dev/null || continue
    [[ $IFS${env[*]}$IFS == *"${IFS}SLURM_CONF=$conf$IFS"* ]] || continue
    { read -r comm <"/proc/$p/comm"; } 2>/dev/null || continue
    if [[ $comm == slurm* || $IFS${env[*]} == *"${IFS}SLURM_JOB_ID="* ]]; then echo "$p"; fi
  done
}

# Stops the cluster in DIR (default $LOCAL_SLURM_DIR, i.e. the last one started in this shell):
# cancels its jobs, then stops slurmd, slurmctld and munged, each TERM then KILL. Safe to call
# twice, with nothing started, after a failed start, from an EXIT trap, and from another process
# (it goes by DIR's pid files); always returns 0.
local_slurm_stop() {
  local dir=${1:-${LOCAL_SLURM_DIR:-}}
  [[ -n $dir ]] || return 0
  local conf=$dir/slurm.conf timeout=${LOCAL_SLURM_STOP_TIMEOUT:-10} same=
  [[ $dir == "${LOCAL_SLURM_DIR:-}" ]] && same=1
  local ctld_pid slurmd_pid munged_pid
  ctld_pid=$(_local_slurm_pid "$dir/run/slurmctld.pid" slurmctld \
             "${same:+${LOCAL_SLURM_SLURMCTLD_PID:-}}") || ctld_pid=
  slurmd_pid=$(_local_slurm_pid "$dir/run/slurmd.pid" slurmd \
               "${same:+${LOCAL_SLURM_SLURMD_PID:-}}") || slurmd_pid=
  munged_pid=$(_local_slurm_pid "$dir/run/munged.pid" munged \
               "${same:+${LOCAL_SLURM_MUNGED_PID:-}}") || munged_pid=

  # Jobs first, while slurmd can still end them: stopping slurmd leaves slurmstepd and the job
  # running. Bounded, since a wedged controller must not hang the caller's cleanup.
  if [[ -n $ctld_pid && -r $conf ]]; then
    local ids deadline
    ids=$(SLURM_CONF=$conf timeout 5 squeue --noheader --format=%i 2>/dev/null) || ids=
    if [[ -n $ids ]]; then
      # shellcheck disable=SC2086  # one id a word
      SLURM_CONF=$conf timeout 5 scancel $ids >/dev/null 2>&1 || true
      deadline=$(( $(_local_slurm_now) + timeout ))
      while [[ -n $slurmd_pid ]] && (( $(_local_slurm_now) < deadline )); do
        ids=$(SLURM_CONF=$conf timeout 5 squeue --noheader --format=%i 2>/dev/null) || break
        [[ -z $ids ]] && break
        sleep 0.2
      done
    fi
  fi

  [[ -n $slurmd_pid ]] && _local_slurm_terminate "$slurmd_pid" slurmd "$timeout"
  [[ -n $ctld_pid ]] && _local_slurm_terminate "$ctld_pid" slurmctld "$timeout"
  local p
  for p in $(_local_slurm_strays "$conf"); do
    echo "local_slurm: killing leftover process $p of $conf" >&2
    kill -KILL "$p" 2>/dev/null || true
  done
  [[ -n $munged_pid ]] && _local_slurm_terminate "$munged_pid" munged "$timeout"
  if [[ -n $same ]]; then
    unset LOCAL_SLURM_MUNGED_PID LOCAL_SLURM_SLURMCTLD_PID LOCAL_SLURM_SLURMD_PID
  fi
  return 0
}

# JobID|JobName|State|ExitCode|Start|End|NodeList|WorkDir of finished jobs (all of them, or
# the ids given), one a line, from the completion record through sacct --completion. Works after
# local_slurm_stop too. A job whose name has a space comes out garbled (see below).
local_slurm_finished_jobs() {
  local ids
  ids=$(IFS=,; echo "$*")
  sacct --completion --noheader --parsable2 ${ids:+--jobs="$ids"} \
    --format=JobID,JobName,State,ExitCode,Start,End,NodeList,WorkDir
}

# Waits (bounded, default 30 s) until job ID is in the record of finished jobs and prints its
# final state (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...); returns 1 if it never gets there.
# It reads the record itself: sacct --completion splits it at spaces and so garbles every field
# of a job whose name has one.
local_slurm_wait_finished() {
  local id=${1:?job id} timeout=${2:-30} deadline state
  local file=${LOCAL_SLURM_JOBCOMP_FILE:-${SLURM_CONF%/*}/log/jobcomp.txt}
  deadline=$(( $(_local_slurm_now) + timeout ))
  while :; do
    state=$(awk -v id="JobId=$id" '$1 == id && match($0, / JobState=[^ ]+/) {
        s = substr($0, RSTART + 10, RLENGTH - 10) } END { print s }' "$file" 2>/dev/null) ||
      state=
    if [[ -n $state ]]; then echo "$state"; return 0; fi
    (( $(_local_slurm_now) < deadline )) || break
    sleep 0.2
  done
  echo "local_slurm_wait_finished: job $id not in $file after ${timeout}s" >&2
  return 1
}
