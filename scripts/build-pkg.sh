#!/usr/bin/env bash
# `make pkg`: the npm package `configure-edge` in pkg/. A plain wasm-bindgen
# build of the `js` feature (no `worker` crate), optimized for speed (opt-level 3, wasm-opt -O3),
# plus the hand-written entries and types from npm/. Prints its size.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

inputs_hash() {
  { find src npm -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum Cargo.toml Cargo.lock scripts/build-pkg.sh; } \
    | sha256sum | cut -d' ' -f1
}
hash="$(inputs_hash)"
if [ -f pkg/.inputs ] && [ "$(cat pkg/.inputs)" = "$hash" ] && [ -f pkg/wasm/configure_edge_bg.wasm ]; then
  log "npm package: up to date"
  exit 0
fi
if [ ! -x "$WASM_BINDGEN_BIN" ] || [ ! -x "$WASM_OPT_BIN" ]; then
  bash "$ROOT/scripts/setup.sh"
fi

# A target dir of its own: the features differ from the Worker build's, and
# sharing one would rebuild the crate each time the two alternate.
export CARGO_TARGET_DIR="$ROOT/target/pkg"
log "building the npm helpers (cargo --no-default-features --features js)"
cargo build --locked --lib --profile release-js --target wasm32-unknown-unknown --no-default-features --features js

rm -rf pkg
mkdir -p pkg/wasm
wasm-bindgen --target web --no-typescript --out-dir pkg/wasm --out-name configure_edge \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release-js/configure_edge.wasm"
wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o pkg/wasm/configure_edge_bg.wasm pkg/wasm/configure_edge_bg.wasm

cp npm/*.js npm/*.d.ts npm/README.md pkg/
version="$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)"
sed "s/\"0.0.0-set-by-build\"/\"$version\"/" npm/package.json > pkg/package.json
printf '%s\n' "$hash" > pkg/.inputs

size_line() {
  printf '  %-28s %8d bytes raw %8d bytes gzip\n' "$1" "$(stat -c %s "$2")" "$(gzip -9 -c "$2" | wc -c)"
}
echo "npm package configure-edge@$version in pkg/:"
size_line "wasm/configure_edge_bg.wasm" pkg/wasm/configure_edge_bg.wasm
size_line "wasm/configure_edge.js" pkg/wasm/configure_edge.js
total_gz=$(cat pkg/wasm/configure_edge_bg.wasm pkg/wasm/configure_edge.js pkg/node.js | gzip -9 | wc -c)
echo "  gzip size (wasm + glue + entry): $total_gz bytes"
