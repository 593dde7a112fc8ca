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

# The Worker's rule for CONFIGURE_EDGE_API_SECRET: at least 32 characters,
# at least 16 different ones (a weaker secret counts as missing).
strong_secret() {
  local value="$1"
  [ "${#value}" -ge 32 ] && [ "$(printf '%s' "$value" | fold -w1 | LC_ALL=C sort -u | wc -l)" -ge 16 ]
}
# A generated secret that passes the rule (43 base64url characters nearly
# always do; drawn again until one does).
new_api_secret() {
  local secret
  secret="$(random_b64url)"
  until strong_secret "$secret"; do secret="$(random_b64url)"; done
  printf '%s' "$secret"
}

if [ ! -f .dev.vars ]; then
  umask 077
  cat > .dev.vars <<VARS
# Local settings for \`make dev\`, generated $(date -u +%Y-%m-%dT%H:%M:%SZ). Never commit this file.
# See .dev.vars.example for every setting.
CONFIGURE_EDGE_API_SECRET=$(new_api_secret)
CONFIGURE_EDGE_SEALING_KEYS=local1:$(random_b64)
CONFIGURE_EDGE_SESSION_KEYS=local1:$(random_b64)
VARS
  log "wrote .dev.vars with generated local secrets"
fi

# The value of a setting in .dev.vars (empty when unset), without the
# quotes a dotenv value may have.
dev_var() { sed -n "s/^$1=//p" .dev.vars | tail -1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\\1/"; }

# A .dev.vars from before the secret rule (or edited by hand) may hold a
# secret the Worker refuses: replace it with a fresh strong one, keeping
# every other line (and the file itself, with its permissions).
if ! strong_secret "$(dev_var CONFIGURE_EDGE_API_SECRET)"; then
  had_secret="$(dev_var CONFIGURE_EDGE_API_SECRET)"
  kept="$(grep -v '^CONFIGURE_EDGE_API_SECRET=' .dev.vars || true)"
  printf '%s\nCONFIGURE_EDGE_API_SECRET=%s\n' "$kept" "$(new_api_secret)" > .dev.vars
  if [ -n "$had_secret" ]; then
    log "replaced the weak CONFIGURE_EDGE_API_SECRET in .dev.vars (the Worker needs >= 32 characters, >= 16 different) with a fresh generated one"
  else
    log "added a generated CONFIGURE_EDGE_API_SECRET to .dev.vars"
  fi
fi

# A .dev.vars written by an older version has no session keys yet.
if [ -z "$(dev_var CONFIGURE_EDGE_SESSION_KEYS)" ]; then
  echo "CONFIGURE_EDGE_SESSION_KEYS=local1:$(random_b64)" >> .dev.vars
  log "added generated CONFIGURE_EDGE_SESSION_KEYS to .dev.vars"
fi

args=(--ip 127.0.0.1 --port "$PORT" --persist-to .wrangler/state --show-interactive-dev-session=false)

# Local mode: without a real CONFIGURE_API_KEY in .dev.vars, the Worker talks
# to the local Configure stand-in (tests/support/configure-standin.mjs), never to Configure.
if [ -z "$(dev_var CONFIGURE_API_KEY)" ]; then
  STANDIN_PORT="${STANDIN_PORT:-8788}"
  standin="http://127.0.0.1:$STANDIN_PORT"
  agent="$(dev_var CONFIGURE_AGENT)"
  agent="${agent:-local-agent}"
  node tests/support/configure-standin.mjs --port "$STANDIN_PORT" --api-key sk_local_standin --agent "$agent" &
  standin_pid=$!
  trap 'kill "$standin_pid" 2>/dev/null || true' EXIT INT TERM
  args+=(--var "CONFIGURE_API_KEY:sk_local_standin" --var "CONFIGURE_BASE_URL:$standin"
         --var "CONFIGURE_SIGN_IN_ORIGIN:$standin" --var "CONFIGURE_AGENT:$agent")
  [ -z "$(dev_var CONFIGURE_PUBLISHABLE_KEY)" ] && args+=(--var "CONFIGURE_PUBLISHABLE_KEY:pk_local_standin")
  # The browser flows build every URL from PUBLIC_URL: this server, unless set.
  [ -z "$(dev_var PUBLIC_URL)" ] && args+=(--var "PUBLIC_URL:http://127.0.0.1:$PORT")
  # The web flow's returnAfter must be on ALLOWED_RETURN_ORIGINS: this server, unless set.
  [ -z "$(dev_var ALLOWED_RETURN_ORIGINS)" ] && args+=(--var "ALLOWED_RETURN_ORIGINS:http://127.0.0.1:$PORT")
  # "Continue with Configure" against the stand-in's OAuth client and authorize page.
  [ -z "$(dev_var CONFIGURE_OAUTH_CLIENT_ID)" ] && args+=(--var "CONFIGURE_OAUTH_CLIENT_ID:cfg_client_standin"
    --var "CONFIGURE_OAUTH_CLIENT_SECRET:standin-client-secret" --var "CONFIGURE_ACCOUNTS_ORIGIN:$standin")
  log "LOCAL MODE: no CONFIGURE_API_KEY in .dev.vars, so the Worker uses the Configure stand-in on $standin (agent $agent)"
elif [ -z "$(dev_var PUBLIC_URL)" ]; then
  log "no PUBLIC_URL in .dev.vars: the web sign-in, the login and /v1/setup answer 503 until it is set (e.g. PUBLIC_URL=http://127.0.0.1:$PORT)"
fi

base="http://127.0.0.1:$PORT"
secret="$(dev_var CONFIGURE_EDGE_API_SECRET)"
cat >&2 <<HELP

  configure-edge on $base   (link builder: $base/   health: $base/healthz)
  Click through a flow (in local mode the hosted page is the stand-in's, clearly labelled):
    message:  curl -s -X POST $base/v1/journeys -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' -d '{"subject":"demo"}'
              open the "url" it answers and press Continue; the completion waits for the text-back
              the page shows ("done <confirmation>"), which your agent passes on as the user's message:
              curl -s -X POST $base/v1/identity/resolve -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' -d '{"subject":"demo","messageText":"done <confirmation>"}'
    web:      curl -s -X POST $base/v1/sign-ins -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' -d '{"subject":"demo","returnAfter":"$base/"}'
              open the "url" it answers and press Continue; you come back to $base/?configure_code=<code>, then:
              curl -s -X POST $base/v1/sign-ins/redeem -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' -d '{"subject":"demo","code":"<code>"}'
              (returnAfter must be on ALLOWED_RETURN_ORIGINS; local mode allows $base unless .dev.vars sets it)
    result:   curl -s $base/v1/links/demo -H "Authorization: Bearer $secret"
    login:    open $base/auth/configure/login in a browser ("Continue with Configure"),
              then $base/auth/configure/session shows the signed-in user

HELP
wrangler dev "${args[@]}"
