#!/usr/bin/env bash
# `make bench`: the side-by-side table of tests/bench/run.mjs (helpers in Node,
# the Worker under workerd, CPU per request, size and cold start), ours
# against the official SDK and a JavaScript Worker. Not a pass/fail test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build-worker.sh
# The ledger's round trips per route, as the native test counts them (part 5).
LEDGER_ROUND_TRIPS="$(cargo test -q --test app ledger_round_trips_per_route -- --nocapture 2>/dev/null | sed -n 's/^LEDGER_ROUND_TRIPS //p')"
export LEDGER_ROUND_TRIPS
node tests/bench/run.mjs
