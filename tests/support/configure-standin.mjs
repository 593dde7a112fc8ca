// A local stand-in of the Configure API (the endpoints of the project's
// protocol notes) and of the hosted sign-in page, for tests and `make dev`. It listens on 127.0.0.1 only,
// answers with realistic JSON, records every request, and can be told to
// fail: down, slow, 5xx, malformed JSON, every token invalid, or tokens of
// another agent.
//
// In-process:  const standin = await startStandin({ apiKey, agent, expiresIn, delayMs });
// As a process: node tests/support/configure-standin.mjs --port 8788 --api-key sk_... --agent my-agent
//                 [--expires-in <s>] [--delay-ms <ms>]   (or env STANDIN_EXPIRES_IN, STANDIN_DELAY_MS)
//               (controlled over HTTP under /__standin/, see CONTROL below)
//
// The OAuth token endpoint (POST /oauth/token) takes the authorization_code
// grant and the refresh_token grant with rotation: every refresh token it
// issues redeems once (by its client, with the same resource) for a new
// access token and a new refresh token; a used or unknown one answers 400
// {"error":"invalid_grant"}.
//
// Options (startStandin's, changeable later with setOptions(...) or
// POST /__standin/options, read back with standin.options):
//   expiresIn  seconds the access tokens of the token endpoint live (default
//              3600): answered as expires_in, and once they pass the token
//              introspects as inactive and the profile answers 401. A few
//              seconds make a link "about to expire".
//   delayMs    every Configure API answer (token endpoint included; not the
//              pages nor /__standin/) waits this long (default 0), after the
//              request is recorded and counted: for concurrency tests.
// Message sign-in (createMessageSignInUrl, the message lines):
//   POST /v1/auth/sign-in/message-url answers a minted, sender-bound URL
//   (<stand-in>/<agent>?code=cfgmsu_..., 10 minutes) only for a
//   messageSenderProof the stand-in issued (standin.issueSenderProof({
//   channel, senderId }) or POST /__standin/sender-proofs) for that channel
//   (and sender, when the proof names one); otherwise the plain URL with
//   fallbackReason sender_proof_missing, sender_proof_invalid, or
//   sender_proof_unsupported (a channel other than imessage and sms). The
//   hosted page of a minted code carries the journey and completion URL the
//   request gave, and, when the sender is a phone, only that phone can
//   finish it, after which recognize-phone knows that phone as the user who
//   signed in; a code finishes once.
//   POST/GET/DELETE /v1/auth/sign-in/message-lines keep the agent's lines
//   by channel and phone and list them by their last four digits only.
// Counters: standin.counts (or GET /__standin/counts), counted from the
// recorded requests, so clearRequests() resets them too:
//   { exchangeRequests, tokenRequests, codeGrantRequests, refreshRequests }
//   = POST /v1/auth/sign-in/exchange, POST /oauth/token, and the token
//   requests with grant_type authorization_code and refresh_token.

import http from "node:http";
import { randomBytes, createHash } from "node:crypto";
import { fileURLToPath } from "node:url";

/** Failure modes, as `setMode(name, { delayMs })` or POST /__standin/mode. */
export const MODES = ["ok", "down", "slow", "5xx", "malformed", "invalid-token", "other-agent"];

function id(prefix) {
  return `${prefix}_${randomBytes(18).toString("base64url")}`;
}

function apiError(status, type, code, message) {
  return { status, body: { error: { type, code, message }, request_id: id("req") } };
}

/** The OAuth client every stand-in knows ("Continue with Configure"). */
export const STANDIN_OAUTH_CLIENT = { clientId: "cfg_client_standin", clientSecret: "standin-client-secret" };

export async function startStandin({
  apiKey = "sk_test_standin",
  agent = "my-agent",
  port = 0,
  quiet = true,
  oauthClient = STANDIN_OAUTH_CLIENT,
  expiresIn = 3600,
  delayMs = 0,
} = {}) {
  const tokens = new Map(); // token -> { userId, agent, approved }
  const codes = new Map(); // code -> { userId, agent, approved }
  const phones = new Map(); // E.164 -> { userId, approved, displayName }
  const destinations = new Map(); // return_to -> createdAt
  const accessTokens = new Map(); // OAuth access token -> { sub, active, identity, expiresAt? }
  const refreshTokens = new Map(); // unused refresh token -> { clientId, resource, scope, user }
  const oauthClients = new Map(); // client id -> { secret, redirectUris: Set }
  const authCodes = new Map(); // authorization code -> { clientId, redirectUri, challenge, resource, scope, user }
  const senderProofs = new Map(); // proof -> { channel, senderId? }
  const mintedCodes = new Map(); // minted code -> { params (the hosted page's), senderPhone?, expiresAt }
  const messageLines = new Map(); // `${channel} ${phone}` -> line (as listed)
  oauthClients.set(oauthClient.clientId, { secret: oauthClient.clientSecret, redirectUris: new Set(oauthClient.redirectUris ?? []) });
  const requests = [];
  let mode = { name: "ok", delayMs: 0 };
  const options = {};
  const setOptions = (changes = {}) => {
    for (const name of ["expiresIn", "delayMs"]) {
      if (changes[name] === undefined) continue;
      const value = Number(changes[name]);
      if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`);
      options[name] = value;
    }
    return { ...options };
  };
  setOptions({ expiresIn, delayMs });
  const sockets = new Set();
  // Slow answers wait here; a mode change or close wakes them, so nothing
  // keeps the process alive after a test.
  // Answers delayed by delayMs wait in their own set: a mode change does
  // not cut them short.
  const sleepers = new Set();
  const delayed = new Set();
  const sleep = (ms, set = sleepers) =>
    new Promise((resolve) => {
      const sleeper = { timer: setTimeout(() => wake(sleeper), ms), resolve, set };
      set.add(sleeper);
    });
  const wake = (sleeper) => {
    clearTimeout(sleeper.timer);
    sleeper.set.delete(sleeper);
    sleeper.resolve();
  };
  const wakeAll = () => [...sleepers].forEach(wake);
  const wakeEveryone = () => [...sleepers, ...delayed].forEach(wake);
  // An access token is live while active and not past its expiry.
  const live = (entry) => Boolean(entry && entry.active && (entry.expiresAt === undefined || Date.now() < entry.expiresAt));
  const formOf = (text) => Object.fromEntries(new URLSearchParams(text ?? ""));

  const state = {
    // tokenUse: what validation answers as token_use ("agent" for agent tokens).
    issueToken({ userId = id("user"), agent: tokenAgent = agent, approved = true, tokenUse = "agent" } = {}) {
      const token = id("cfgtok");
      tokens.set(token, { userId, agent: tokenAgent, approved, tokenUse });
      return { token, userId };
    },
    issueCode({ userId = id("user"), agent: codeAgent = agent, approved = true, tokenUse = "agent" } = {}) {
      const code = id("cfgsic");
      codes.set(code, { userId, agent: codeAgent, approved, tokenUse });
      return { code, userId };
    },
    registerPhone(phone, { userId = id("user"), approved = true, displayName = "Pat Example" } = {}) {
      phones.set(phone, { userId, approved, displayName });
      return { phone, userId };
    },
    /**
     * An OAuth access token ("Continue with Configure") and the identity
     * behind it; with expiresIn (seconds) it stops being live after that.
     */
    issueAccessToken({ sub = id("sub"), active = true, name, email, expiresIn: lifetime } = {}) {
      const token = id("cfgoat");
      const identity = {};
      if (name !== undefined) identity.name = name;
      if (email !== undefined) identity.email = email;
      const expiresAt = lifetime === undefined ? undefined : Date.now() + lifetime * 1000;
      accessTokens.set(token, { sub, active, identity, expiresAt });
      return { token, sub };
    },
    /**
     * A refresh token of `clientId` (the stand-in's client by default) for
     * `resource`, as a login would have issued it; single use.
     */
    issueRefreshToken({ clientId = oauthClient.clientId, resource = "https://api.configure.dev", scope, sub = id("sub"), name, email, active = true } = {}) {
      const refreshToken = id("cfgort");
      refreshTokens.set(refreshToken, { clientId, resource, scope, user: { sub, name, email, active } });
      return { refreshToken, sub };
    },
    /** Whether a refresh token was issued and is not used yet. */
    refreshTokenLive(refreshToken) {
      return refreshTokens.has(refreshToken);
    },
    /** An OAuth client of "Continue with Configure" and its registered redirect URIs. */
    registerOAuthClient({ clientId, clientSecret, redirectUris = [] }) {
      oauthClients.set(clientId, { secret: clientSecret, redirectUris: new Set(redirectUris) });
      return { clientId, redirectUris };
    },
    oauthClient(clientId) {
      const client = oauthClients.get(clientId);
      return client ? { clientId, redirectUris: [...client.redirectUris] } : undefined;
    },
    /**
     * The authorize page's decision, as its form posts it: the URL the
     * browser is sent back to (code or error), or { error } for a request
     * the page refuses. `user`: { sub, name, email, active, deny }.
     */
    authorize(params, user = {}) {
      const problem = authorizeProblem(params);
      if (problem) return { error: problem };
      const target = new URL(params.redirect_uri);
      if (user.deny) {
        target.searchParams.set("error", "access_denied");
        target.searchParams.set("error_description", "The user declined.");
      } else {
        const code = id("cfgoac");
        authCodes.set(code, {
          clientId: params.client_id,
          redirectUri: params.redirect_uri,
          challenge: params.code_challenge,
          resource: params.resource,
          scope: params.scope,
          user: { sub: user.sub || id("sub"), name: user.name, email: user.email, active: user.active !== false },
        });
        target.searchParams.set("code", code);
      }
      if (params.state) target.searchParams.set("state", params.state);
      return { redirect: target.href };
    },
    /**
     * A provider-signed sender proof the stand-in verifies for `channel`
     * (and, with `senderId`, for that sender only).
     */
    issueSenderProof({ channel = "imessage", senderId } = {}) {
      const proof = id("standin_proof");
      senderProofs.set(proof, { channel, senderId });
      return { proof };
    },
    /** The agent's registered message lines, as Configure lists them. */
    get messageLines() {
      return [...messageLines.values()];
    },
    setMode(name, { delayMs = 0 } = {}) {
      if (!MODES.includes(name)) throw new Error(`unknown mode ${name}`);
      mode = { name, delayMs };
      wakeAll();
    },
    /** Changes expiresIn and/or delayMs (see the header); answers all options. */
    setOptions,
    get options() {
      return { ...options };
    },
    get requests() {
      return requests;
    },
    /** Counts of the recorded requests (see the header). */
    get counts() {
      const tokenRequests = requests.filter((r) => r.method === "POST" && r.path === "/oauth/token");
      const grants = (type) => tokenRequests.filter((r) => formOf(r.body).grant_type === type).length;
      return {
        exchangeRequests: requests.filter((r) => r.method === "POST" && r.path === "/v1/auth/sign-in/exchange").length,
        tokenRequests: tokenRequests.length,
        codeGrantRequests: grants("authorization_code"),
        refreshRequests: grants("refresh_token"),
      };
    },
    clearRequests() {
      requests.length = 0;
    },
  };

  // The authorization endpoint's checks, as an OAuth 2.1 server with PKCE
  // makes them: a known client, an exactly registered redirect URI, a code
  // request with an S256 challenge.
  function authorizeProblem(params) {
    const client = oauthClients.get(params.client_id);
    if (!client) return `Unknown OAuth client "${params.client_id ?? ""}".`;
    if (!client.redirectUris.has(params.redirect_uri)) return `redirect_uri ${params.redirect_uri ?? "(none)"} is not registered for this client.`;
    if (params.response_type !== "code") return "response_type must be code.";
    if (!params.code_challenge || params.code_challenge_method !== "S256") return "A PKCE code_challenge with code_challenge_method=S256 is required.";
    if (!params.state) return "state is required.";
    return undefined;
  }

  // POST /oauth/token with client_secret_basic: the authorization-code grant
  // with PKCE, and the refresh-token grant with rotation.
  function token(headers, text) {
    const oauthError = (status, error, description) => ({ status, body: { error, error_description: description } });
    const basic = /^Basic (.+)$/i.exec(headers.authorization ?? "")?.[1];
    const [clientId, secret] = basic ? Buffer.from(basic, "base64").toString("utf8").split(/:(.*)/s) : [];
    const client = oauthClients.get(clientId);
    if (!client || client.secret !== secret) return oauthError(401, "invalid_client", "Client authentication failed.");
    if (!/^application\/x-www-form-urlencoded/.test(headers["content-type"] ?? "")) {
      return oauthError(400, "invalid_request", "The token request must be form-encoded.");
    }
    const form = Object.fromEntries(new URLSearchParams(text));
    // The answer for new tokens: a new access token of the user and a new
    // refresh token that alone can continue the grant.
    const issue = ({ clientId: owner, resource, scope, user }) => {
      const { token: accessToken } = state.issueAccessToken({ ...user, expiresIn: options.expiresIn });
      const refreshToken = id("cfgort");
      refreshTokens.set(refreshToken, { clientId: owner, resource, scope, user });
      return {
        status: 200,
        body: { access_token: accessToken, token_type: "Bearer", expires_in: options.expiresIn, refresh_token: refreshToken, scope: scope ?? "" },
      };
    };
    if (form.grant_type === "refresh_token") {
      const entry = refreshTokens.get(form.refresh_token);
      if (!entry || entry.clientId !== clientId) return oauthError(400, "invalid_grant", "The refresh token is invalid, expired or used.");
      if ((entry.resource ?? "") !== (form.resource ?? "")) return oauthError(400, "invalid_target", "resource does not match the original grant.");
      refreshTokens.delete(form.refresh_token); // single use: rotation
      return issue(entry);
    }
    if (form.grant_type !== "authorization_code") return oauthError(400, "unsupported_grant_type", "Only authorization_code and refresh_token are supported.");
    const grant = authCodes.get(form.code);
    if (!grant || grant.clientId !== clientId) return oauthError(400, "invalid_grant", "The authorization code is invalid, expired or used.");
    authCodes.delete(form.code); // single use
    if (grant.redirectUri !== form.redirect_uri) return oauthError(400, "invalid_grant", "redirect_uri does not match the authorization request.");
    const challenge = createHash("sha256").update(form.code_verifier ?? "").digest("base64url");
    if (!form.code_verifier || challenge !== grant.challenge) return oauthError(400, "invalid_grant", "The code_verifier does not match the code_challenge.");
    if ((grant.resource ?? "") !== (form.resource ?? "")) return oauthError(400, "invalid_target", "resource does not match the authorization request.");
    return issue(grant);
  }

  // The Configure API itself: [status, JSON body] for a parsed request.
  function answer(method, path, body, headers = {}) {
    const clientPath = /^\/v1\/developer\/oauth\/clients\/([^/]+)$/.exec(path);
    if (method === "PATCH" && clientPath) {
      const client = oauthClients.get(decodeURIComponent(clientPath[1]));
      if (!client) return apiError(404, "invalid_request_error", "not_found", "No such OAuth client.");
      const uris = Array.isArray(body?.add_redirect_uris) ? body.add_redirect_uris : [];
      if (!uris.every((u) => typeof u === "string" && /^https?:\/\//.test(u))) {
        return apiError(400, "invalid_request_error", "invalid_redirect_uri", "add_redirect_uris must be absolute http(s) URLs.");
      }
      const before = client.redirectUris.size;
      uris.forEach((u) => client.redirectUris.add(u));
      return { status: 200, body: { redirect_uris: [...client.redirectUris], changed: client.redirectUris.size !== before } };
    }
    if (method === "POST" && path === "/oauth/introspect") {
      const entry = accessTokens.get(body?.token);
      return { status: 200, body: live(entry) ? { active: true, sub: entry.sub, token_type: "access_token" } : { active: false } };
    }
    if (method === "GET" && path === "/v1/profile") {
      const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
      const entry = accessTokens.get(bearer);
      if (!live(entry)) return apiError(401, "authentication_error", "invalid_token", "The access token is invalid or expired.");
      return { status: 200, body: { identity: entry.identity, filtered: false } };
    }
    if (method === "POST" && path === "/v1/auth/sign-in/validate") {
      const entry = tokens.get(body?.token);
      if (mode.name === "invalid-token" || !entry) return { status: 200, body: { valid: false } };
      return {
        status: 200,
        body: {
          valid: true,
          user_id: entry.userId,
          token_use: entry.tokenUse ?? "agent",
          approved: entry.approved,
          agent: mode.name === "other-agent" ? "other-agent" : entry.agent,
        },
      };
    }
    if (method === "POST" && path === "/v1/auth/sign-in/exchange") {
      const entry = codes.get(body?.code);
      if (!entry) return apiError(400, "invalid_request_error", "invalid_code", "The sign-in code is invalid, expired or used.");
      codes.delete(body.code); // single use
      const token = id("cfgtok");
      tokens.set(token, { userId: entry.userId, agent: entry.agent, approved: entry.approved, tokenUse: entry.tokenUse });
      return {
        status: 200,
        body: { token, user_id: entry.userId, agent: mode.name === "other-agent" ? "other-agent" : entry.agent, approved: entry.approved, token_use: entry.tokenUse ?? "agent" },
      };
    }
    if (method === "POST" && path === "/v1/auth/sign-in/recognize-phone") {
      const candidates = Array.isArray(body?.candidates) ? body.candidates : [];
      const hit = candidates.map((c) => [c, phones.get(c)]).find(([, entry]) => entry);
      if (!hit) {
        return { status: 200, body: { matched: false, recognized: false, approved: false, linked: false, phone_candidate_count: candidates.length } };
      }
      const [, entry] = hit;
      const token = entry.approved ? state.issueToken({ userId: entry.userId }).token : undefined;
      return {
        status: 200,
        body: {
          matched: true,
          recognized: true,
          approved: entry.approved,
          linked: entry.approved,
          ...(token ? { token } : {}),
          user_id: entry.userId,
          agent: mode.name === "other-agent" ? "other-agent" : agent,
          display_name: entry.displayName,
          phone_candidate_count: candidates.length,
        },
      };
    }
    if (method === "POST" && path === "/v1/auth/sign-in/message-url") return messageUrl(body, headers);
    if (path === "/v1/auth/sign-in/message-lines") return messageLine(method, body);
    if (path === "/v1/auth/sign-in/return-destinations") {
      if (method === "GET") {
        return {
          status: 200,
          body: { destinations: [...destinations].map(([destination, created_at]) => ({ destination, created_at })) },
        };
      }
      const returnTo = body?.return_to;
      if (typeof returnTo !== "string" || !/^https?:\/\//.test(returnTo)) {
        return apiError(400, "invalid_request_error", "invalid_return_to", "return_to must be an absolute http(s) URL.");
      }
      if (method === "POST") {
        if (!destinations.has(returnTo)) destinations.set(returnTo, new Date().toISOString());
        return { status: 200, body: { destination: returnTo, created_at: destinations.get(returnTo) } };
      }
      if (method === "DELETE") {
        const existed = destinations.delete(returnTo);
        return { status: 200, body: { destination: returnTo, deleted: existed } };
      }
    }
    return apiError(404, "invalid_request_error", "not_found", `No route ${method} ${path}`);
  }

  // createMessageSignInUrl, as Configure answers it: the SDK's checks, then
  // a minted URL only for a proof the stand-in issued for this channel.
  const E164 = /^\+[1-9]\d{6,14}$/;
  function messageUrl(body, headers) {
    const reason = body?.reason;
    if (!["signin", "reconnect", "permissions"].includes(reason)) {
      return apiError(400, "invalid_request_error", "invalid_reason", "reason must be one of: signin, reconnect, permissions");
    }
    const channel = typeof body.channel === "string" ? body.channel.trim() : "";
    const subject = body.subject ?? {};
    if (!channel || typeof subject.key !== "string" || !subject.key.trim() || typeof subject.externalId !== "string" || !subject.externalId.trim()) {
      return apiError(400, "invalid_request_error", "invalid_request", "channel, subject.key and subject.externalId are required.");
    }
    if (body.returnMode !== undefined && body.returnMode !== "message") {
      return apiError(400, "invalid_request_error", "invalid_return_mode", "returnMode must be message.");
    }
    const origin = `http://${headers.host ?? "127.0.0.1"}`;
    const idempotency = body.idempotencyKey ? { idempotencyKey: body.idempotencyKey } : {};
    const plain = (fallbackReason) => ({
      status: 200,
      body: { mode: "plain", url: `${origin}/${agent}`, reason, fallbackReason, ...idempotency },
    });
    const proof = body.messageSenderProof;
    if (typeof proof !== "string" || !proof) return plain("sender_proof_missing");
    if (channel !== "imessage" && channel !== "sms") return plain("sender_proof_unsupported");
    const issued = senderProofs.get(proof);
    if (!issued || issued.channel !== channel || (issued.senderId && issued.senderId !== subject.senderId)) {
      return plain("sender_proof_invalid");
    }
    const code = id("cfgmsu");
    const expiresAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const connectors = Array.isArray(body.connectors) ? body.connectors.join(",") : body.connectors;
    const params = Object.fromEntries(
      Object.entries({
        journey: body.journeyId,
        agent_name: body.displayName,
        message_line_phone: body.messageLinePhone,
        message_body: body.messageBody,
        message_complete_url: body.messageCompleteUrl,
        connectors,
        theme: body.theme,
      }).filter(([, value]) => typeof value === "string" && value !== ""),
    );
    const senderPhone = E164.test(subject.senderId ?? "") ? subject.senderId : undefined;
    mintedCodes.set(code, { params, senderPhone, expiresAt: Date.parse(expiresAt) });
    return { status: 200, body: { mode: "minted", url: `${origin}/${agent}?code=${code}`, code, reason, expiresAt, ...idempotency } };
  }

  // The agent's message lines: kept by channel and phone, listed by the
  // last four digits (Configure keeps only a hash and those).
  function messageLine(method, body) {
    const listed = () => [...messageLines.values()].filter((line) => line.status === "active");
    if (method === "GET") return { status: 200, body: { lines: listed() } };
    if (method !== "POST" && method !== "DELETE") return apiError(404, "invalid_request_error", "not_found", `No route ${method}`);
    const phone = body?.phone;
    if (typeof phone !== "string" || !E164.test(phone)) {
      return apiError(400, "invalid_request_error", "invalid_phone", "phone must be an E.164 number.");
    }
    const channel = typeof body.channel === "string" && body.channel ? body.channel : "imessage";
    const key = `${channel} ${phone}`;
    if (method === "DELETE") {
      const line = messageLines.get(key);
      const deleted = Boolean(line && line.status === "active");
      if (line) line.status = "revoked";
      return { status: 200, body: { deleted, lines: listed() } };
    }
    const now = new Date().toISOString();
    const existing = messageLines.get(key);
    const line = {
      id: existing?.id ?? id("line"),
      channel,
      phone_last4: phone.slice(-4),
      label: typeof body.label === "string" ? body.label : existing?.label ?? null,
      status: "active",
      metadata: body.metadata && typeof body.metadata === "object" ? body.metadata : existing?.metadata ?? {},
      created_at: existing?.created_at ?? now,
      updated_at: now,
    };
    messageLines.set(key, line);
    return { status: 200, body: { line } };
  }

  // The stand-in's pages: escaped text, and one labelled page shell (the
  // banner says what is being stood in for) up to the opening <main>.
  const esc = (t) => String(t ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  function labelledPage(title, standsInFor, extraCss = "") {
    return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; background: Canvas; color: CanvasText; }
.banner { background: #b45309; color: #fff; padding: 0.6rem 1rem; font-weight: 700; text-align: center; }
main { max-width: 28rem; margin: 3rem auto; padding: 1.5rem; border: 2px dashed #b45309; border-radius: 12px; }
label { display: block; font-weight: 600; margin: 1rem 0 0.3rem; }
input { font: inherit; width: 100%; box-sizing: border-box; padding: 0.45rem; }
button { font: inherit; margin-top: 1rem; margin-right: 0.5rem; padding: 0.5rem 1rem; font-weight: 600; }
${extraCss}
</style></head><body>
<div class="banner" role="note">LOCAL STAND-IN of ${standsInFor}: nothing here reaches Configure</div>
<main>`;
  }

  // The hosted sign-in page, stand-in: GET /<agent>?... shows a form clearly
  // labelled as local; submitting it finishes like sign-in.me would: for a
  // message journey it posts the completion to message_complete_url from the
  // browser, for a web sign-in it redirects to return_to with a code (only
  // if return_to was allowlisted) or, on cancel, with error=access_denied.
  function hostedPage(agentPath, params) {
    const name = params.get("agent_name") || agentPath;
    const connectors = params.get("connectors");
    // The message the real page has the user text back from their own
    // thread (a journey's confirmation word rides in it: "done 482913").
    const textBack = params.get("message_body");
    return `${labelledPage("Local sign-in stand-in", "sign-in.me", "#status { margin-top: 1rem; }")}
<h1>Sign in to ${esc(name)}</h1>
<p>Agent <code>${esc(agentPath)}</code>${connectors ? `, asking for <strong>${esc(connectors)}</strong>` : ""}.</p>
${textBack ? `<p id="text-back">Text back: <strong>${esc(textBack)}</strong></p>` : ""}
<form id="signin">
<label for="phone">Phone number</label>
<input id="phone" name="phone" value="${esc(params.get("sender") || "+14155550123")}" autocomplete="off">
<button type="submit" id="continue">Continue</button>
<button type="button" id="cancel">Cancel</button>
</form>
<p id="status" role="status"></p>
</main>
<script type="application/json" id="params">${JSON.stringify({ agent: agentPath, ...Object.fromEntries(params) }).replace(/</g, "\\u003c")}</script>
<script src="/__standin/hosted.js"></script>
</body></html>`;
  }

  const HOSTED_JS = `
const params = JSON.parse(document.getElementById("params").textContent);
const status = document.getElementById("status");
async function finish(cancel) {
  status.textContent = "Working…";
  const answer = await (await fetch("/__standin/hosted/finish", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...params, phone: document.getElementById("phone").value, cancel }),
  })).json();
  if (answer.error) { status.textContent = answer.error; return; }
  if (answer.redirect) { window.location.assign(answer.redirect); return; }
  if (answer.complete) {
    const response = await fetch(answer.complete.url, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(answer.complete.body),
    });
    if (response.ok) window.location.assign(new URL("/message-done", answer.complete.url).href);
    else status.textContent = "The agent's server refused the completion (" + response.status + ").";
  }
}
document.getElementById("signin").addEventListener("submit", (event) => { event.preventDefault(); finish(false); });
document.getElementById("cancel").addEventListener("click", () => finish(true));
`;

  function finishHosted(body) {
    const userId = `user_${String(body?.phone ?? "").replace(/\D/g, "") || "local"}`;
    if (body?.code) {
      // A minted code: once, before it expires, and by its sender only.
      const minted = mintedCodes.get(body.code);
      if (!minted || minted.expiresAt <= Date.now()) return { error: "This sign-in link has expired or was already used." };
      if (body.cancel) return { error: "Cancelled. You can close this page." };
      if (minted.senderPhone && String(body.phone ?? "").replace(/[\s().-]/g, "") !== minted.senderPhone) {
        return { error: "This link was sent to another phone number." };
      }
      mintedCodes.delete(body.code);
      // The sender proved their phone here: Configure knows it as this user
      // from now on (recognize-phone), as it would after a real sign-in.
      if (minted.senderPhone) state.registerPhone(minted.senderPhone, { userId });
      body = { ...body, ...minted.params };
    }
    if (body?.journey && body?.message_complete_url) {
      if (body.cancel) return { error: "Cancelled. You can close this page." };
      const { token } = state.issueToken({ userId, agent: body.agent });
      return { complete: { url: body.message_complete_url, body: { token, userId, agent: body.agent, journeyId: body.journey } } };
    }
    if (body?.return_to) {
      if (!destinations.has(body.return_to)) {
        return { error: `return_to ${body.return_to} is not an allowlisted return destination for ${body.agent}.` };
      }
      const target = new URL(body.return_to);
      if (body.cancel) {
        target.searchParams.set("error", "access_denied");
        target.searchParams.set("error_description", "The user cancelled the sign-in.");
      } else {
        target.searchParams.set("code", state.issueCode({ userId, agent: body.agent }).code);
      }
      if (body.state) target.searchParams.set("state", body.state);
      return { redirect: target.href };
    }
    return { error: "This link has neither a journey nor a return_to." };
  }

  // The accounts origin's authorize page, stand-in: a labelled consent form
  // whose Continue posts back here and redirects with a code.
  function authorizePage(params) {
    const hidden = Object.entries(params).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join("\n");
    return `${labelledPage("Local Configure authorize stand-in", "accounts.configure.dev")}
<h1>Continue with Configure</h1>
<p><code>${esc(params.client_id)}</code> asks for <strong>${esc(params.scope)}</strong>.</p>
<form method="post" action="/oauth/authorize">
${hidden}
<label for="name">Name</label><input id="name" name="name" value="Pat Example" autocomplete="off">
<label for="email">Email</label><input id="email" name="email" value="pat@example.com" autocomplete="off">
<button type="submit" id="continue" name="decision" value="approve">Continue</button>
<button type="submit" id="cancel" name="decision" value="deny">Cancel</button>
</form>
</main></body></html>`;
  }

  // CONTROL: /__standin/{tokens,codes,phones,refresh-tokens,sender-proofs,message-lines,oauth-clients,mode,options,requests,counts}
  // for out-of-process use.
  function control(method, path, body) {
    if (method === "POST" && path === "/__standin/tokens") return state.issueToken(body ?? {});
    if (method === "POST" && path === "/__standin/codes") return state.issueCode(body ?? {});
    if (method === "POST" && path === "/__standin/phones") return state.registerPhone(body.phone, body);
    if (method === "POST" && path === "/__standin/oauth-clients") return state.registerOAuthClient(body);
    if (method === "GET" && path.startsWith("/__standin/oauth-clients/")) {
      return state.oauthClient(decodeURIComponent(path.slice("/__standin/oauth-clients/".length))) ?? { error: "no such client" };
    }
    if (method === "POST" && path === "/__standin/refresh-tokens") return state.issueRefreshToken(body ?? {});
    if (method === "POST" && path === "/__standin/sender-proofs") return state.issueSenderProof(body ?? {});
    if (method === "GET" && path === "/__standin/message-lines") return { lines: state.messageLines };
    if (method === "POST" && path === "/__standin/options") return state.setOptions(body ?? {});
    if (method === "GET" && path === "/__standin/options") return state.options;
    if (method === "GET" && path === "/__standin/counts") return state.counts;
    if (method === "POST" && path === "/__standin/mode") {
      state.setMode(body.mode, body);
      return { mode: body.mode };
    }
    if (method === "GET" && path === "/__standin/requests") return { requests };
    if (method === "DELETE" && path === "/__standin/requests") {
      state.clearRequests();
      return { cleared: true };
    }
    return undefined;
  }

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString("utf8");
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const path = new URL(req.url, "http://127.0.0.1").pathname;
    const send = (status, body, raw) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(raw ?? JSON.stringify(body));
    };

    if (req.method === "GET" && path === "/__standin/hosted.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
      return res.end(HOSTED_JS);
    }
    if (req.method === "POST" && path === "/__standin/hosted/finish") return send(200, finishHosted(json));
    if (path === "/oauth/authorize" && (req.method === "GET" || req.method === "POST")) {
      const url = new URL(req.url, "http://127.0.0.1");
      const params = Object.fromEntries(req.method === "GET" ? url.searchParams : new URLSearchParams(text));
      const { decision, name, email, sub, active, ...request } = params;
      const problem = authorizeProblem(request);
      if (problem) {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
        return res.end(`Authorization request refused: ${problem}`);
      }
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        return res.end(authorizePage(request));
      }
      const outcome = state.authorize(request, { deny: decision === "deny", name, email, sub, active: active !== "false" });
      res.writeHead(302, { location: outcome.redirect });
      return res.end();
    }
    if (req.method === "GET" && /^\/[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/.test(path) && !path.startsWith("/v1")) {
      let params = new URL(req.url, "http://127.0.0.1").searchParams;
      // A minted URL carries only its code: the page reads the journey and
      // completion URL Configure kept for it.
      const code = params.get("code");
      if (code) {
        const minted = mintedCodes.get(code);
        if (!minted || minted.expiresAt <= Date.now()) {
          res.writeHead(410, { "content-type": "text/plain; charset=utf-8" });
          return res.end("This sign-in link has expired or was already used.");
        }
        params = new URLSearchParams({ ...minted.params, code, ...(minted.senderPhone ? { sender: minted.senderPhone } : {}) });
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(hostedPage(path.slice(1), params));
    }
    if (path.startsWith("/__standin/")) {
      try {
        const result = control(req.method, path, json);
        return result === undefined ? send(404, { error: "no such control" }) : send(200, result);
      } catch (error) {
        return send(400, { error: String(error.message) });
      }
    }

    requests.push({ method: req.method, path, headers: { ...req.headers }, body: text, json });
    if (options.delayMs > 0) await sleep(options.delayMs, delayed);
    if (res.destroyed) return;
    if (mode.name === "slow") await sleep(mode.delayMs || 30_000);
    if (res.destroyed) return;
    if (mode.name === "5xx") {
      const { status, body } = apiError(503, "api_error", "unavailable", "Configure is temporarily unavailable.");
      return send(status, body);
    }
    if (mode.name === "malformed") return send(200, undefined, '{"valid": tru');
    // The token endpoint authenticates the OAuth client instead of a key.
    if (req.method === "POST" && path === "/oauth/token") {
      const { status, body } = token(req.headers, text);
      return send(status, body);
    }
    // Token introspection is authenticated by the token itself, not a key.
    if (path === "/oauth/introspect") {
      const { status, body } = answer(req.method, path, json, req.headers);
      return send(status, body);
    }
    if (req.headers["x-api-key"] !== apiKey) {
      const { status, body } = apiError(401, "authentication_error", "invalid_api_key", "Invalid API key.");
      return send(status, body);
    }
    const { status, body } = answer(req.method, path, json, req.headers);
    send(status, body);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (p) => new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(p, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server.address().port);
    });
  });
  const boundPort = await listen(port);
  const stop = () =>
    new Promise((resolve) => {
      wakeEveryone();
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  if (!quiet) console.log(`Configure stand-in on http://127.0.0.1:${boundPort} (agent ${agent})`);
  return Object.assign(state, {
    url: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    /** Stops listening: calls now fail as a network error, as in an outage. */
    down: async () => {
      mode = { name: "down", delayMs: 0 };
      await stop();
    },
    /** Listens again on the same port, answering normally. */
    up: async () => {
      mode = { name: "ok", delayMs: 0 };
      if (!server.listening) await listen(boundPort);
    },
    close: stop,
  });
}

// As a process (make dev): flags --port, --api-key, --agent, --expires-in
// (env STANDIN_EXPIRES_IN) and --delay-ms (env STANDIN_DELAY_MS).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flag = (name, fallback) => {
    const at = process.argv.indexOf(`--${name}`);
    return at > 0 ? process.argv[at + 1] : fallback;
  };
  const number = (name, env, fallback) => {
    const text = flag(name, process.env[env] || undefined);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} (${env}) must be a number >= 0, not ${text}`);
    return value;
  };
  const standin = await startStandin({
    port: Number(flag("port", 8788)),
    apiKey: flag("api-key", "sk_test_standin"),
    agent: flag("agent", "my-agent"),
    expiresIn: number("expires-in", "STANDIN_EXPIRES_IN", 3600),
    delayMs: number("delay-ms", "STANDIN_DELAY_MS", 0),
    quiet: false,
  });
  const shutdown = () => standin.close().then(() => process.exit(0));
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
