#!/usr/bin/env bash
# Builds the Worker into build/ with worker-build (workers-rs's builder),
# offline: our wasm-bindgen (WASM_BINDGEN_BIN), npm binaryen's wasm-opt
# (WASM_OPT_BIN) and npm esbuild (ESBUILD_BIN), all set by env.sh, so it
# downloads nothing. Its shim exports the Worker and, after a panic, starts a
# fresh wasm instance. Skips the build when the sources are unchanged since
# the last one, so wrangler's [build] step costs nothing after `make`.
#
# `build-worker.sh [crate-dir]`: the crate to build, relative to the root
# (default: configure-edge itself; examples/mounted-worker for the example
# Worker that mounts the routes). Its output goes to <crate-dir>/build/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
crate_dir="${1:-.}"

# The link builder (www/index.html) runs the npm helpers in the browser: the
# web build of pkg/ is copied to www/pkg/ (git-ignored) and served as assets.
if [ "$crate_dir" = "." ]; then
bash "$ROOT/scripts/build-pkg.sh"
if ! diff -rq pkg/wasm www/pkg/wasm >/dev/null 2>&1 || ! cmp -s pkg/browser.js www/pkg/browser.js \
   || ! cmp -s pkg/exports.js www/pkg/exports.js || ! cmp -s pkg/better-auth.js www/pkg/better-auth.js \
   || ! cmp -s pkg/client.js www/pkg/client.js; then
  rm -rf www/pkg
  mkdir -p www/pkg
  cp -r pkg/wasm pkg/browser.js pkg/exports.js pkg/better-auth.js pkg/client.js www/pkg/
fi
fi

inputs_hash() {
  { find src "$crate_dir/src" -type f -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml "$crate_dir/Cargo.toml" Cargo.lock scripts/build-worker.sh; } | sha256sum | cut -d' ' -f1
}

# Kept outside build/: worker-build replaces what it writes there.
stamp="target/.worker-build-inputs-$(printf '%s' "$crate_dir" | tr -c 'A-Za-z0-9' '_')"
hash="$(inputs_hash)"
build_worker() {
  if [ ! -x "$WASM_BINDGEN_BIN" ] || [ ! -x "$WASM_OPT_BIN" ] || [ ! -x "$ESBUILD_BIN" ] || [ ! -x "$WORKER_BUILD_BIN" ]; then
    bash "$ROOT/scripts/setup.sh"
  fi
  log "building the Worker in $crate_dir (worker-build --release: cargo, wasm-bindgen, wasm-opt, esbuild)"
  local start
  start=$(date +%s)
  mkdir -p target
  (cd "$crate_dir" && "$WORKER_BUILD_BIN" --release)
  printf '%s\n' "$hash" > "$stamp"
  log "worker built in $(( $(date +%s) - start )) s: $crate_dir/build/index_bg.wasm $(stat -c %s "$crate_dir/build/index_bg.wasm") bytes"
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f "$crate_dir/build/index.js" ] && [ -f "$crate_dir/build/index_bg.wasm" ]; then
  log "worker build ($crate_dir): up to date"
else
  build_worker
fi

# The npm package ships this very Worker as `configure-edge/worker`
# (npm/worker.js imports ./worker/index.js). Filled on every run, built or
# not: build-pkg.sh above may just have recreated pkg/ without it. Only the
# two files the entry needs, copied only when they differ.
if [ "$crate_dir" = "." ]; then
  mkdir -p pkg/worker
  for file in index.js index_bg.wasm; do
    cmp -s "build/$file" "pkg/worker/$file" || cp "build/$file" "pkg/worker/$file"
  done
fi
