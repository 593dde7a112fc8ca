#!/usr/bin/env bash
# The one set-up path of every make target. Idempotent: each step checks
# what is in place and skips it, so a second run makes no network request
# and takes a few seconds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

# 1. The wasm32 target.
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "wasm32-unknown-unknown target: present"
else
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. Cargo.lock must exist before its wasm-bindgen version can be read.
if [ ! -f Cargo.lock ]; then
  cargo generate-lockfile
fi

# 3. The wasm-bindgen CLI (and its test runner) matching Cargo.lock.
wb_version="$(wasm_bindgen_lock_version)"
if [ -x "$TOOLS/bin/wasm-bindgen" ] && [ "$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null)" = "wasm-bindgen $wb_version" ] \
   && [ -x "$TOOLS/bin/wasm-bindgen-test-runner" ]; then
  log "wasm-bindgen $wb_version: present"
else
  # Without --locked: with it, the install fails on a webpki-roots version.
  log "installing wasm-bindgen-cli $wb_version into .tools (about 2 min the first time)"
  cargo install wasm-bindgen-cli --version "$wb_version" --root "$TOOLS" --force
fi

# 3b. worker-build, the workers-rs builder, at the version of the `worker`
#     crate in Cargo.lock (about 4 min the first time).
wbuild_version="$(awk '/^name = "worker"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -x "$TOOLS/bin/worker-build" ] && [ "$("$TOOLS/bin/worker-build" --version 2>/dev/null)" = "$wbuild_version" ]; then
  log "worker-build $wbuild_version: present"
else
  log "installing worker-build $wbuild_version into .tools (about 4 min the first time)"
  cargo install worker-build --version "$wbuild_version" --locked --root "$TOOLS" --force
fi

# 4. npm dependencies from the committed lockfile (wrangler with workerd and
#    miniflare, binaryen's wasm-opt, a Node 22, the official SDK for tests).
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.configure-edge-lock"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  log "npm dependencies: present"
else
  log "installing npm dependencies from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$lock_hash" > "$stamp"
fi

# 5. Debian's Chromium, for the browser tests only (`setup.sh --with-browser`,
#    which `make test` passes): never a browser download of a test tool.
if [ "${1:-}" = "--with-browser" ]; then
  if [ -x /usr/bin/chromium ]; then
    log "chromium: present"
  else
    log "installing Debian's chromium (apt, about 150 MB)"
    as_root=()
    [ "$(id -u)" -ne 0 ] && as_root=(sudo)
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium
  fi
fi

# 6. schemathesis, for `make reliability` only (`setup.sh --with-reliability`),
#    in a project-local virtualenv from tests/reliability/requirements.txt.
if [ "${1:-}" = "--with-reliability" ]; then
  wanted="$(sed -n 's/^schemathesis==//p' tests/reliability/requirements.txt)"
  if [ -x "$TOOLS/venv/bin/st" ] && "$TOOLS/venv/bin/st" --version 2>/dev/null | grep -q "version $wanted"; then
    log "schemathesis $wanted: present"
  else
    log "installing schemathesis $wanted into .tools/venv"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check -r tests/reliability/requirements.txt
  fi
fi

log "set-up complete"
