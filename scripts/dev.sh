#!/usr/bin/env bash
# `make dev`: set up (idempotent), build, write local secrets when there are
# none, and serve the Worker with `wrangler dev` on 127.0.0.1 with simulated
# KV persisted under .wrangler/state. No Cloudflare account, no network.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

PORT="${PORT:-8787}"

bash scripts/setup.sh
bash scripts/build-worker.sh

random_b64() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }
random_b64url() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

if [ ! -f .dev.vars ]; then
  umask 077
  cat > .dev.vars <<VARS
# Local settings for \`make dev\`, generated $(date -u +%Y-%m-%dT%H:%M:%SZ). Never commit this file.
# See .dev.vars.example for every setting.
CONFIGURE_EDGE_API_SECRET=$(random_b64url)
CONFIGURE_EDGE_SEALING_KEYS=local1:$(random_b64)
CONFIGURE_EDGE_SESSION_KEYS=local1:$(random_b64)
VARS
  log "wrote .dev.vars with generated local secrets"
fi

log "serving on http://127.0.0.1:$PORT (health: http://127.0.0.1:$PORT/healthz)"
exec wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to .wrangler/state --show-interactive-dev-session=false
