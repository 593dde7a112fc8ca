#!/usr/bin/env bash
# Builds the Worker into build/, offline: cargo (wasm32), our wasm-bindgen,
# npm binaryen's wasm-opt, then esbuild bundles the JS entry (worker/index.js)
# with the wasm-bindgen glue into build/index.js beside build/index_bg.wasm. Skips the build when the sources are unchanged
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
  { find src worker -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum Cargo.toml Cargo.lock; } | sha256sum | cut -d' ' -f1
}

stamp="build/.inputs"
hash="$(inputs_hash)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f build/index.js ] && [ -f build/index_bg.wasm ]; then
  log "worker build: up to date"
  exit 0
fi

if [ ! -x "$WASM_BINDGEN_BIN" ] || [ ! -x "$WASM_OPT_BIN" ] || [ ! -x "$ESBUILD_BIN" ]; then
  bash "$ROOT/scripts/setup.sh"
fi

log "building the Worker (cargo, wasm-bindgen, wasm-opt -Oz, esbuild)"
start=$(date +%s)
cargo build --release --locked --target wasm32-unknown-unknown
rm -rf build/bindgen
# --target web: the glue takes the compiled module (`initSync`), which is what
# a Worker's `import … from "*.wasm"` gives. The reset function lets the entry
# replace an instance that trapped.
"$WASM_BINDGEN_BIN" --target web --no-typescript --experimental-reset-state-function \
  --out-dir build/bindgen --out-name index target/wasm32-unknown-unknown/release/configure_edge.wasm
# -Oz and no names section (with panic=abort there are no stack traces to
# name). The features are those rustc and wasm-bindgen emit.
"$WASM_OPT_BIN" -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue --enable-exception-handling \
  -o build/index_bg.wasm build/bindgen/index_bg.wasm
# The entry and the glue in one minified module; the .wasm stays an import
# (wrangler and Miniflare load it as CompiledWasm).
# worker/microtask.js stands in for the global queueMicrotask (see there).
"$ESBUILD_BIN" worker/index.js --bundle --format=esm --minify --external:*.wasm --external:node:* \
  --inject:worker/microtask.js --outfile=build/index.js --log-level=warning
rm -rf build/worker build/package.json
printf '%s\n' "$hash" > "$stamp"
log "worker built in $(( $(date +%s) - start )) s: build/index_bg.wasm $(stat -c %s build/index_bg.wasm) bytes"
