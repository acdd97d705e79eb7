#!/usr/bin/env bash
# deploy/ works: install.sh puts both programs under a prefix, the installed server starts and
# serves a job to the installed client, SIGTERM stops it cleanly, and the systemd unit parses.
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
grep -q "stopped" "$tmp/server.log" || { cat "$tmp/server.log"; echo "FAIL: no clean stop" >&2; exit 1; }

if command -v systemd-analyze >/dev/null; then
  unit="$tmp/affsig-server.service"
  sed "s|/usr/local/bin/affsig-server|$tmp/prefix/bin/affsig-server|" \
    "$source_dir/deploy/affsig-server.service" >"$unit"
  # User= names an account this machine may lack; everything else must parse cleanly.
  systemd-analyze verify "$unit" 2>&1 | grep -v "affsig" | grep . && exit 1
fi
echo "PASS"
