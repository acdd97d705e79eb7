# Sourced by scripts that run an affsig-server for a while (demo.sh, bench/*.sh,
# tests/deploy/install_test.sh).
#
#   start_affsig_server SERVER_BINARY DIR [FLAGS...]
# starts it on 127.0.0.1 with a kernel-picked port, SQLite and uploads in DIR and one CPU worker,
# waits for its address line, and sets affsig_address and affsig_server_pid. Its log is
# DIR/server.log.
#
#   stop_affsig_server
# stops it (SIGTERM, then waits for it to finish) if it is still running; scripts call it from
# their EXIT trap too.

start_affsig_server() {
  local binary=$1 dir=$2
  shift 2
  "$binary" --listen=127.0.0.1:0 --db="$dir/affsig.db" --data-dir="$dir/data" --devices=cpu \
    "$@" >"$dir/server.out" 2>"$dir/server.log" &
  affsig_server_pid=$!
  for _ in $(seq 300); do
    grep -q "listening on" "$dir/server.out" 2>/dev/null && break
    kill -0 "$affsig_server_pid" 2>/dev/null || break
    sleep 0.1
  done
  affsig_address=$(awk '/listening on/ {print $4}' "$dir/server.out")
  if [[ -z "$affsig_address" ]]; then
    cat "$dir/server.log" >&2
    echo "affsig-server did not start" >&2
    return 1
  fi
}

stop_affsig_server() {
  [[ -n "${affsig_server_pid:-}" ]] && kill -TERM "$affsig_server_pid" 2>/dev/null &&
    wait "$affsig_server_pid" || true
  affsig_server_pid=
}
