#!/usr/bin/env bash
# Builds the Worker into build/ with worker-build, offline (our wasm-bindgen
# and npm binaryen's wasm-opt). Skips the build when the sources are unchanged
# since the last one, so wrangler's [build] step costs nothing after `make`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

# The link builder (www/index.html) runs the npm helpers in the browser: the
# web build of pkg/ is copied to www/pkg/ (git-ignored) and served as assets.
bash "$ROOT/scripts/build-pkg.sh"
if ! diff -rq pkg/wasm www/pkg/wasm >/dev/null 2>&1 || ! cmp -s pkg/browser.js www/pkg/browser.js \
   || ! cmp -s pkg/exports.js www/pkg/exports.js || ! cmp -s pkg/better-auth.js www/pkg/better-auth.js; then
  rm -rf www/pkg
  mkdir -p www/pkg
  cp -r pkg/wasm pkg/browser.js pkg/exports.js pkg/better-auth.js www/pkg/
fi

inputs_hash() {
  { find src -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum Cargo.toml Cargo.lock; } | sha256sum | cut -d' ' -f1
}

stamp="build/.inputs"
hash="$(inputs_hash)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f build/index.js ] && [ -f build/index_bg.wasm ]; then
  log "worker build: up to date"
  exit 0
fi

if [ ! -x "$TOOLS/bin/worker-build" ] || [ ! -x "$WASM_BINDGEN_BIN" ] || [ ! -x "$WASM_OPT_BIN" ]; then
  bash "$ROOT/scripts/setup.sh"
fi

log "building the Worker (worker-build --release --no-opt, then wasm-opt -Oz)"
start=$(date +%s)
worker-build --release --no-opt
# Our own wasm-opt pass: -Oz and no names section (worker-build's default
# keeps the names for stack traces, ~100 KB raw; with panic=abort there are
# none to print). The features are those rustc and wasm-bindgen emit.
wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue --enable-exception-handling \
  -o build/index_bg.wasm build/index_bg.wasm
printf '%s\n' "$hash" > "$stamp"
log "worker built in $(( $(date +%s) - start )) s: build/index_bg.wasm $(stat -c %s build/index_bg.wasm) bytes"
