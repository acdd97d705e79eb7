#!/usr/bin/env bash
# Installs what is missing, builds, starts affsig-server (SQLite in a temporary directory, one
# CPU worker), submits the bundled small CNN with a random batch through the affsig client, and
# prints its signature: every activation call, in execution order, with its affinity score.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
build/server/affsig-server --listen=127.0.0.1:0 --db="$tmp/affsig.db" --data-dir="$tmp/data" \
  --devices=cpu >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$tmp/server.out" 2>/dev/null && break
  sleep 0.1
done
address=$(awk '/listening on/ {print $4}' "$tmp/server.out")
[[ -n "$address" ]] || { cat "$tmp/server.log"; echo "affsig-server did not start" >&2; exit 1; }
fixtures=tests/fixtures/golden
build/client/affsig submit --server="$address" --model="$fixtures/cnn_reused_relu_scripted.pt" \
  --input="$fixtures/cnn_reused_relu_scripted.input.npy" --activations=all \
  --label=arch=small-cnn --name=demo --wait "$@"
