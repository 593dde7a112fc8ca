#!/usr/bin/env bash
# `make bench`: the side-by-side table of tests/bench/run.mjs (helpers in Node,
# the Worker under workerd, CPU per request, size and cold start), ours
# against the official SDK and a JavaScript Worker. Not a pass/fail test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build-worker.sh
node tests/bench/run.mjs
