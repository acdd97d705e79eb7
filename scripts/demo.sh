#!/usr/bin/env bash
# Installs what is missing, builds, starts affsig-server (SQLite in a temporary directory, one
# CPU worker), submits the bundled small CNN with a random batch through the affsig client, and
# prints its signature: every activation call, in execution order, with its affinity score.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
tmp=$(mktemp -d)
source scripts/server_lib.sh
trap 'stop_affsig_server; rm -rf "$tmp"' EXIT
start_affsig_server build/server/affsig-server "$tmp"
address=$affsig_address
fixtures=tests/fixtures/golden
build/client/affsig submit --server="$address" --model="$fixtures/cnn_reused_relu_scripted.pt" \
  --input="$fixtures/cnn_reused_relu_scripted.input.npy" --activations=all \
  --label=arch=small-cnn --name=demo --wait "$@"
