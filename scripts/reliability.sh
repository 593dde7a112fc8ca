#!/usr/bin/env bash
# `make reliability`: schemathesis, fuzzing, faults, load, abuse and the
# secrets scan (tests/reliability/run.mjs), then one summary table.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh --with-reliability
bash scripts/build-worker.sh
node tests/reliability/run.mjs
