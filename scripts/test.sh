#!/usr/bin/env bash
# `make test`: every test suite, each runner's own summary line, then one
# total. Runs every suite even after a failure; exits non-zero if any failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

bash scripts/setup.sh --with-browser || exit 1

logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT
failed_suites=()
total_pass=0
total_fail=0

# Runs one suite, keeps its output for the counts, records a failure.
suite() {
  local name="$1"; shift
  log "== $name: $*"
  if "$@" 2>&1 | tee "$logdir/$name.log"; then :; else failed_suites+=("$name"); fi
}

# Adds up "test result: ok. N passed; M failed" (cargo, wasm-bindgen-test)
# and "# pass N" / "# fail N" (node --test).
count() {
  local file="$1" p f
  p=$(grep -hoE '(test result: [a-zA-Z]+\. [0-9]+ passed|^# pass [0-9]+)' "$file" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  f=$(grep -hoE '([0-9]+ failed;|^# fail [0-9]+)' "$file" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  total_pass=$(( total_pass + ${p:-0} ))
  total_fail=$(( total_fail + ${f:-0} ))
}

suite native cargo test --locked
# Both shells (worker and js) in one wasm test binary, run in Node.
suite wasm cargo test --locked --target wasm32-unknown-unknown --lib --features js
if bash scripts/build-pkg.sh; then
  suite helpers node --test --test-reporter=tap --test-concurrency=1 tests/conformance/*.test.mjs
else
  failed_suites+=("pkg-build")
fi
# The Worker, and the example Worker that mounts its routes (examples/).
if bash scripts/build-worker.sh && bash scripts/build-worker.sh examples/mounted-worker; then
  suite e2e node --test --test-reporter=tap --test-concurrency=1 tests/e2e/*.test.mjs
  # The flow suites again on KV alone (no ledger binding): the Worker must
  # still run as before without its Durable Object (foundation.test.mjs is
  # left out: its /healthz answers differ by design, ledger-flows checks that).
  suite e2e-kv-only env CONFIGURE_EDGE_TEST_LEDGER=off node --test --test-reporter=tap --test-concurrency=1 \
    tests/e2e/message-flow.test.mjs tests/e2e/web-flow.test.mjs tests/e2e/oauth-flow.test.mjs \
    tests/e2e/key-rotation.test.mjs tests/e2e/message-sign-in.test.mjs
else
  failed_suites+=("worker-build-step")
fi

for file in "$logdir"/*.log; do count "$file"; done

echo
echo "== summary"
if [ ${#failed_suites[@]} -gt 0 ]; then
  echo "failed: ${failed_suites[*]}"
  # A suite that failed without a failing test (a build error) still counts.
  [ "$total_fail" -eq 0 ] && total_fail=${#failed_suites[@]}
fi
echo "$total_pass passed, $total_fail failed"
[ ${#failed_suites[@]} -eq 0 ]
