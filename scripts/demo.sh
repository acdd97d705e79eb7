#!/usr/bin/env bash
# Installs what is missing, builds, and prints the signature of the bundled model on a random
# batch: every activation call, in execution order, with its affinity score.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/server/engine/affsig-engine --activations=all "$@"
