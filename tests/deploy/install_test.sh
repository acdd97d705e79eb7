#!/usr/bin/env bash
# deploy/ works: install.sh puts the three programs under a prefix, the installed server starts
# its worker from beside it and serves a job to the installed client, SIGTERM stops both cleanly,
# and the systemd units parse.
#
#   tests/deploy/install_test.sh BUILD_DIR
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "$1" && pwd)
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill -KILL "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

AFFSIG_BUILD_DIR="$build_dir" "$source_dir/deploy/install.sh" "$tmp/prefix" >/dev/null
source "$source_dir/scripts/server_lib.sh"
start_affsig_server "$tmp/prefix/bin/affsig-server" "$tmp" || { echo "FAIL: no server" >&2; exit 1; }
server_pid=$affsig_server_pid
address=$affsig_address
export AFFSIG_SERVER=$address
[[ $("$tmp/prefix/bin/affsig" health) == SERVING ]] || { echo "FAIL: not SERVING" >&2; exit 1; }
fixtures=$source_dir/tests/fixtures/golden
"$tmp/prefix/bin/affsig" submit --model="$fixtures/mlp_mixed.pt" \
  --input="$fixtures/mlp_mixed.input.npy" --wait --format=csv >"$tmp/result.csv"
[[ $(wc -l <"$tmp/result.csv") -eq 12 ]] || { cat "$tmp/result.csv"; echo "FAIL: entries" >&2; exit 1; }

kill -TERM "$server_pid"
wait "$server_pid" || { echo "FAIL: SIGTERM exit status $?" >&2; exit 1; }
server_pid=
grep -q "stopped$" "$tmp/server.log" || { cat "$tmp/server.log"; echo "FAIL: no clean stop" >&2; exit 1; }
grep -q "\[cpu\] .* stopped$" "$tmp/server.log" || {
  cat "$tmp/server.log"
  echo "FAIL: the worker did not stop cleanly" >&2
  exit 1
}

if command -v systemd-analyze >/dev/null; then
  for unit in affsig-server.service affsig-worker@.service; do
    # A template is verified as one of its instances.
    copy="$tmp/${unit/@./@cuda:0.}"
    sed "s|/usr/local/bin/|$tmp/prefix/bin/|" "$source_dir/deploy/$unit" >"$copy"
    # User= names an account this machine may lack; everything else must parse cleanly.
    if systemd-analyze verify "$copy" 2>&1 | grep -v "affsig" | grep .; then
      echo "FAIL: $unit" >&2
      exit 1
    fi
  done
fi
echo "PASS"
