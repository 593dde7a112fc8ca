// "Continue with Configure" against the built Worker in workerd with the
// Configure stand-in as API and accounts origin: login → 302 (parameters,
// PKCE challenge = S256 of the verifier the token endpoint receives) →
// authorize → callback → session cookie → /auth/configure/session → logout;
// the login writes nothing to KV (state, verifier and returnAfter travel
// sealed in the login cookie); the redirect URI registered on first use; the
// introspection and identity requests equal to the SDK's getUserInfo; and
// each failure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { configureBetterAuthOAuthProvider as sdkProvider } from "configure";
import { startWorker } from "../support/worker.mjs";
import { startStandin, STANDIN_OAUTH_CLIENT } from "../support/configure-standin.mjs";

const API_KEY = "sk_test_e2e_oauth";
const SECRET = "e2e-oauth-api-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const APP = "https://app.example";
const EDGE = "https://edge.example";
const REDIRECT_URI = `${EDGE}/auth/configure/oauth/callback`;
const STATE_COOKIE = "__Host-configure-edge-oauth";
const SESSION_COOKIE = "__Host-configure-edge-session";
const SESSION_KEY = randomBytes(32);

let standin;
let worker;

function vars(extra = {}) {
  return {
    CONFIGURE_AGENT: AGENT,
    CONFIGURE_API_KEY: API_KEY,
    CONFIGURE_BASE_URL: standin.url,
    CONFIGURE_ACCOUNTS_ORIGIN: standin.url,
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    CONFIGURE_EDGE_SESSION_KEYS: `s1:${SESSION_KEY.toString("base64")}`,
    CONFIGURE_OAUTH_CLIENT_ID: STANDIN_OAUTH_CLIENT.clientId,
    CONFIGURE_OAUTH_CLIENT_SECRET: STANDIN_OAUTH_CLIENT.clientSecret,
    CONFIGURE_API_TIMEOUT_MS: "500",
    PUBLIC_URL: EDGE,
    ALLOWED_RETURN_ORIGINS: APP,
    ...extra,
  };
}

before(async () => {
  standin = await startStandin({ apiKey: API_KEY, agent: AGENT });
  worker = await startWorker({ vars: vars() });
});
after(async () => {
  await worker?.dispose();
  await standin?.close();
});

/**
 * GET /auth/configure/login: the login cookie's value (sealed), the state
 * the authorize URL carries, and that URL.
 */
async function login(returnAfter, w = worker) {
  const query = returnAfter === undefined ? "" : `?returnAfter=${encodeURIComponent(returnAfter)}`;
  const response = await w.fetch(`/auth/configure/login${query}`, { redirect: "manual" });
  assert.equal(response.status, 302, await response.clone().text());
  const setCookie = response.headers.getSetCookie().find((c) => c.startsWith(`${STATE_COOKIE}=`));
  for (const attribute of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"]) assert.ok(setCookie.includes(attribute), attribute);
  const cookie = setCookie.split(";")[0].slice(STATE_COOKIE.length + 1);
  assert.ok(cookie.length > 0);
  const authorize = new URL(response.headers.get("location"));
  return { cookie, state: authorize.searchParams.get("state"), authorize };
}

/** The stand-in's consent form, submitted: where it sends the browser back. */
async function consent(authorize, fields = {}) {
  const form = new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), decision: "approve", name: "Pat Example", email: "pat@example.com", ...fields });
  const response = await fetch(`${standin.url}/oauth/authorize`, { method: "POST", body: form, redirect: "manual" });
  assert.equal(response.status, 302, await response.clone().text());
  return new URL(response.headers.get("location"));
}

/** The browser back at the Worker's callback, carrying the login cookie `cookie`. */
function callback(back, cookie, w = worker) {
  const headers = cookie === undefined ? {} : { cookie: `${STATE_COOKIE}=${cookie}` };
  return w.fetch(`${back.pathname}${back.search}`, { headers, redirect: "manual" });
}

async function kvNames(w) {
  const { keys } = await (await w.kv()).list();
  return keys.map((k) => k.name).sort();
}

function sessionCookie(response) {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`) && !c.includes("Max-Age=0"));
  return cookie?.split(";")[0].slice(SESSION_COOKIE.length + 1);
}

const clears = (response, name) => response.headers.getSetCookie().some((c) => c.startsWith(`${name}=;`) && c.includes("Max-Age=0"));

function session(cookie, headers = {}) {
  return worker.fetch("/auth/configure/session", { headers: { ...(cookie ? { cookie: `${SESSION_COOKIE}=${cookie}` } : {}), ...headers } });
}

function logout(cookie, headers = {}) {
  return worker.fetch("/auth/configure/logout", { method: "POST", headers: { cookie: `${SESSION_COOKIE}=${cookie}`, ...headers }, redirect: "manual" });
}

async function link(subject) {
  const response = await worker.fetch(`/v1/links/${encodeURIComponent(subject)}`, { headers: { authorization: `Bearer ${SECRET}` } });
  return response.status === 200 ? response.json() : null;
}

/** A whole login as `sub`; the session cookie value. */
async function signIn(sub) {
  const { cookie, authorize } = await login();
  const done = await callback(await consent(authorize, { sub }), cookie);
  assert.equal(done.status, 302, await done.clone().text());
  return sessionCookie(done);
}

test("the whole login: PKCE, token request, session, logout", async () => {
  const returnAfter = `${APP}/home?tab=1`;
  const { cookie: loginCookie, state, authorize } = await login(returnAfter);
  assert.equal(`${authorize.origin}${authorize.pathname}`, `${standin.url}/oauth/authorize`);
  assert.match(state, /^[A-Za-z0-9_-]{43}$/);
  // The login cookie is sealed: neither the state nor returnAfter shows in it.
  for (const plain of [state, returnAfter, encodeURIComponent(returnAfter), "app.example"]) {
    assert.ok(!loginCookie.includes(plain), `${plain} in the login cookie ${loginCookie}`);
  }
  // <keyId>.<base64url(nonce, AES-GCM ciphertext)>: not merely encoded either.
  assert.match(loginCookie, /^k1\.[A-Za-z0-9_-]+$/);
  const decoded = Buffer.from(loginCookie.split(".")[1], "base64url").toString("latin1");
  for (const plain of [state, "app.example", "returnAfter", "verifier"]) assert.ok(!decoded.includes(plain), `${plain} readable in the login cookie`);
  const params = Object.fromEntries(authorize.searchParams);
  assert.deepEqual(Object.keys(params), ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "resource"]);
  assert.deepEqual(
    { ...params, code_challenge: undefined },
    {
      response_type: "code", client_id: STANDIN_OAUTH_CLIENT.clientId, redirect_uri: REDIRECT_URI, scope: "profile.read profile.search",
      state, code_challenge: undefined, code_challenge_method: "S256", resource: "https://api.configure.dev",
    },
  );
  // Registered with the OAuth client on this first use (the SDK's ensureSsoCallback request).
  assert.ok(standin.oauthClient(STANDIN_OAUTH_CLIENT.clientId).redirectUris.includes(REDIRECT_URI));
  const patch = standin.requests.find((r) => r.method === "PATCH");
  assert.equal(patch.path, `/v1/developer/oauth/clients/${STANDIN_OAUTH_CLIENT.clientId}`);
  assert.equal(patch.headers["x-api-key"], API_KEY);
  assert.deepEqual(patch.json, { add_redirect_uris: [REDIRECT_URI] });

  const back = await consent(authorize, { sub: "sub_e2e_1" });
  assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI);
  standin.clearRequests();
  const done = await callback(back, loginCookie);
  assert.equal(done.status, 302, await done.clone().text());
  assert.equal(done.headers.get("location"), returnAfter);
  assert.ok(clears(done, STATE_COOKIE));
  const sessionSetCookie = done.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  for (const attribute of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"]) assert.ok(sessionSetCookie.includes(attribute), attribute);

  // The token request: form-encoded, client_secret_basic, and a verifier whose S256 is the challenge.
  const tokenRequest = standin.requests.find((r) => r.path === "/oauth/token");
  assert.equal(tokenRequest.headers["content-type"], "application/x-www-form-urlencoded");
  assert.equal(tokenRequest.headers.authorization, `Basic ${Buffer.from(`${STANDIN_OAUTH_CLIENT.clientId}:${STANDIN_OAUTH_CLIENT.clientSecret}`).toString("base64")}`);
  const form = Object.fromEntries(new URLSearchParams(tokenRequest.body));
  assert.deepEqual(Object.keys(form), ["grant_type", "code", "redirect_uri", "code_verifier", "resource"]);
  assert.equal(form.grant_type, "authorization_code");
  assert.equal(form.code, back.searchParams.get("code"));
  assert.equal(form.redirect_uri, REDIRECT_URI);
  assert.equal(form.resource, "https://api.configure.dev");
  assert.equal(createHash("sha256").update(form.code_verifier).digest("base64url"), params.code_challenge);
  assert.ok(!loginCookie.includes(form.code_verifier), "the verifier is sealed in the cookie");

  // The tokens are the link of configure:<sub>.
  const stored = await link("configure:sub_e2e_1");
  assert.equal(stored.source, "oauth");
  assert.equal(stored.userId, "sub_e2e_1");
  assert.match(stored.token, /^cfgoat_/);
  assert.match(stored.refreshToken, /^cfgort_/);

  // Introspection and identity: the SDK's getUserInfo requests for the same token.
  const essentials = (r) => {
    const uuid = /^(session|scope)_[0-9a-f-]{36}$/;
    const headers = Object.fromEntries(
      Object.entries(r.headers)
        .filter(([k]) => ["content-type", "x-api-key", "x-agent", "authorization"].includes(k) || k.startsWith("x-configure-"))
        .map(([k, v]) => [k, uuid.test(v) ? v.replace(/_.*/, "_<uuid>") : v])
        .sort(),
    );
    return { method: r.method, path: r.path, headers, body: r.body };
  };
  const fromWorker = standin.requests.filter((r) => r.path !== "/oauth/token").map(essentials).sort((a, b) => a.path.localeCompare(b.path));
  standin.clearRequests();
  const provider = sdkProvider({ clientId: "c", clientSecret: "s", apiKey: API_KEY, agent: AGENT, baseUrl: standin.url });
  const user = await provider.getUserInfo({ accessToken: stored.token });
  const fromSdk = standin.requests.map(essentials).sort((a, b) => a.path.localeCompare(b.path));
  assert.deepEqual(fromWorker, fromSdk);

  // The session answers what the SDK's mapProfileToUser gives.
  const cookie = sessionCookie(done);
  const me = await session(cookie);
  assert.equal(me.status, 200);
  assert.deepEqual(await me.json(), { user: provider.mapProfileToUser(user) });

  const out = await logout(cookie, { origin: EDGE });
  assert.equal(out.status, 200);
  assert.ok(clears(out, SESSION_COOKIE));
  const after = await session(undefined);
  assert.equal(after.status, 401);
  assert.equal((await after.json()).error.code, "not_signed_in");
});

test("state or cookie mismatch and replay are refused without redeeming the code", async () => {
  const { cookie, state, authorize } = await login();
  const back = await consent(authorize, { sub: "sub_mismatch" });
  const other = await login();
  assert.notEqual(other.state, state);
  const flipped = `${cookie.slice(0, 20)}${cookie[20] === "A" ? "B" : "A"}${cookie.slice(21)}`;
  // A callback whose state is not the one sealed in its cookie: another login's cookie,
  // no cookie, a forged or tampered cookie, the plain state as the cookie.
  const refusals = [
    [back, undefined], [back, other.cookie], [back, "forged"], [back, flipped], [back, state], [back, ""],
  ];
  // This login's cookie with another login's state (a swapped link).
  const swapped = new URL(back);
  swapped.searchParams.set("state", other.state);
  refusals.push([swapped, cookie]);
  const noState = new URL(back);
  noState.searchParams.delete("state");
  refusals.push([noState, cookie]);
  standin.clearRequests();
  for (const [url, value] of refusals) {
    const response = await callback(url, value);
    assert.equal(response.status, 400, `${url.search} ${value}`);
    assert.match(await response.text(), /Invalid sign-in state\./);
    assert.ok(clears(response, STATE_COOKIE));
    assert.equal(sessionCookie(response), undefined);
  }
  assert.equal(standin.requests.filter((r) => r.path === "/oauth/token").length, 0);
  assert.equal(await link("configure:sub_mismatch"), null);
  const ok = await callback(back, cookie);
  assert.equal(ok.status, 302);
  assert.ok(sessionCookie(ok));
  const replay = await callback(back, cookie);
  assert.equal(replay.status, 400);
  assert.equal(sessionCookie(replay), undefined);
});

test("an expired login cookie is refused before the code is redeemed", async () => {
  const shortLived = await startWorker({ vars: vars({ CONFIGURE_EDGE_STATE_TTL_SECONDS: "1" }) });
  try {
    const { cookie, authorize } = await login(undefined, shortLived);
    const back = await consent(authorize, { sub: "sub_expired" });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    standin.clearRequests();
    const response = await callback(back, cookie, shortLived);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /Invalid sign-in state\./);
    assert.equal(standin.requests.filter((r) => r.path === "/oauth/token").length, 0);
    // A login that has not expired completes on the same Worker.
    const fresh = await login(undefined, shortLived);
    assert.equal((await callback(await consent(fresh.authorize, { sub: "sub_fresh" }), fresh.cookie, shortLived)).status, 302);
  } finally {
    await shortLived.dispose();
  }
});

test("a login writes nothing to KV, even the first one that registers the redirect URI", async () => {
  const fresh = await startWorker({ vars: vars() });
  try {
    const before = await kvNames(fresh);
    assert.deepEqual(before, []);
    standin.clearRequests();
    const first = await login(`${APP}/`, fresh);
    const patches = () => standin.requests.filter((r) => r.method === "PATCH" && r.path === `/v1/developer/oauth/clients/${STANDIN_OAUTH_CLIENT.clientId}`);
    assert.equal(patches().length, 1, "the first login registered the redirect URI");
    assert.deepEqual(await kvNames(fresh), before, "no KV write at the first login");
    const second = await login(undefined, fresh);
    assert.equal(patches().length, 2, "not remembered yet: registered again");
    assert.deepEqual(await kvNames(fresh), before, "no KV write at the second login");

    // A successful callback writes the link and remembers the registration (and nothing else).
    const done = await callback(await consent(first.authorize, { sub: "sub_kv" }), first.cookie, fresh);
    assert.equal(done.status, 302, await done.clone().text());
    const added = (await kvNames(fresh)).filter((k) => !before.includes(k));
    assert.equal(added.filter((k) => k.startsWith("link:")).length, 1, added.join());
    assert.equal(added.filter((k) => k.startsWith("setup:")).length, 1, added.join());
    assert.equal(added.length, 2, added.join());

    // Remembered: a later login makes no request and still writes nothing.
    const afterCallback = await kvNames(fresh);
    standin.clearRequests();
    await login(undefined, fresh);
    assert.equal(patches().length, 0);
    assert.deepEqual(await kvNames(fresh), afterCallback);
    // The second login's cookie still completes (it was never in KV to begin with).
    assert.equal((await callback(await consent(second.authorize, { sub: "sub_kv2" }), second.cookie, fresh)).status, 302);
  } finally {
    await fresh.dispose();
  }
});

test("an error= return shows a fixed text only and clears the login cookie", async () => {
  const { cookie, state } = await login();
  const description = encodeURIComponent("<b>Call 0800</b>").replace(/%20/g, "+");
  const back = new URL(`${REDIRECT_URI}?error=access_denied&error_description=${description}&state=${state}`);
  const response = await callback(back, cookie);
  assert.equal(response.status, 400);
  assert.ok(clears(response, STATE_COOKIE));
  assert.equal(sessionCookie(response), undefined);
  assert.match(response.headers.get("content-security-policy"), /default-src 'none'/);
  const body = await response.text();
  assert.match(body, /cancelled the sign-in or declined access/);
  assert.ok(!body.includes("0800") && !body.includes("<b>") && !body.includes("&lt;b&gt;"), body);
  const odd = await callback(new URL(`${REDIRECT_URI}?error=${encodeURIComponent("<i>ring 0800</i>")}&state=${state}`), cookie);
  assert.equal(odd.status, 400);
  const oddBody = await odd.text();
  assert.ok(!oddBody.includes("0800") && !oddBody.includes("<i>") && !oddBody.includes("&lt;i&gt;"), oddBody);
});

test("without PUBLIC_URL the login, its callback and setup answer 503", async () => {
  const { PUBLIC_URL: _omitted, ...rest } = vars();
  const bare = await startWorker({ vars: rest });
  try {
    for (const p of ["/auth/configure/login", `/auth/configure/login?returnAfter=${encodeURIComponent(`${APP}/`)}`, "/auth/configure/oauth/callback?code=c&state=s"]) {
      const response = await bare.fetch(p, { redirect: "manual", headers: { cookie: `${STATE_COOKIE}=x` } });
      assert.equal(response.status, 503, p);
      assert.match(response.headers.get("content-type"), /^text\/html/);
      assert.equal(response.headers.get("location"), null);
      assert.ok(!response.headers.getSetCookie().some((c) => c.startsWith(`${STATE_COOKIE}=`) && !c.includes("Max-Age=0")), p);
      assert.match(await response.text(), /PUBLIC_URL/);
    }
    const setup = await bare.fetch("/v1/setup", { method: "POST", headers: { authorization: `Bearer ${SECRET}` } });
    assert.equal(setup.status, 503);
    assert.equal((await setup.json()).error.code, "not_configured");
    assert.deepEqual(await kvNames(bare), []);
    // The same settings with PUBLIC_URL log in (the 503s above were PUBLIC_URL).
    assert.equal((await worker.fetch("/auth/configure/login", { redirect: "manual" })).status, 302);
  } finally {
    await bare.dispose();
  }
});

test("token endpoint errors and inactive introspection give no session", async () => {
  // A code the token endpoint refuses (tampered): 400.
  let { cookie, authorize } = await login();
  let back = await consent(authorize, { sub: "sub_refused" });
  back.searchParams.set("code", "cfgoac_tampered");
  const refused = await callback(back, cookie);
  assert.equal(refused.status, 400);
  assert.equal(sessionCookie(refused), undefined);
  assert.equal(await link("configure:sub_refused"), null);

  // Configure failing: 502.
  ({ cookie, authorize } = await login());
  back = await consent(authorize, { sub: "sub_down" });
  standin.setMode("5xx");
  const down = await callback(back, cookie);
  standin.setMode("ok");
  assert.equal(down.status, 502);
  assert.equal(sessionCookie(down), undefined);

  // Introspection says inactive: no user.
  ({ cookie, authorize } = await login());
  back = await consent(authorize, { sub: "sub_inactive", active: "false" });
  const inactive = await callback(back, cookie);
  assert.equal(inactive.status, 401);
  assert.equal(sessionCookie(inactive), undefined);
  assert.equal(await link("configure:sub_inactive"), null);

  // The user declines.
  ({ cookie, authorize } = await login());
  const declined = await fetch(`${standin.url}/oauth/authorize`, {
    method: "POST", redirect: "manual", body: new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), decision: "deny" }),
  });
  const denied = await callback(new URL(declined.headers.get("location")), cookie);
  assert.equal(denied.status, 400);
  assert.equal(sessionCookie(denied), undefined);
  // A fixed text, not the stand-in's error_description ("The user declined.").
  const deniedBody = await denied.text();
  assert.match(deniedBody, /cancelled the sign-in or declined access/);
  assert.ok(!deniedBody.includes("The user declined"), deniedBody);
});

test("a returnAfter off the allowlist is refused", async () => {
  for (const bad of ["https://evil.example/", "https://app.example.evil.example/x", "javascript:alert(1)", "//evil.example"]) {
    const response = await worker.fetch(`/auth/configure/login?returnAfter=${encodeURIComponent(bad)}`, { redirect: "manual" });
    assert.equal(response.status, 400, bad);
    assert.equal(response.headers.get("location"), null);
    assert.equal(response.headers.getSetCookie().length, 0);
  }
});

test("tampered, foreign and expired session cookies are 401 and cleared", async () => {
  const cookie = await signIn("sub_session");
  assert.equal((await session(cookie)).status, 200);
  const [format, keyId, payload, tag] = cookie.split(".");
  const sign = (body, key = SESSION_KEY) => {
    const encoded = Buffer.from(JSON.stringify(body)).toString("base64url");
    const signed = `${format}.${keyId}.${encoded}`;
    return `${signed}.${createHmac("sha256", key).update(signed).digest("base64url")}`;
  };
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  const now = Math.floor(Date.now() / 1000);
  for (const bad of [
    `${format}.${keyId}.${Buffer.from(JSON.stringify({ ...claims, user: { ...claims.user, id: "admin" } })).toString("base64url")}.${tag}`,
    `${cookie.slice(0, -2)}AA`,
    sign({ ...claims, user: { ...claims.user, id: "admin" } }, randomBytes(32)),
    sign({ ...claims, iat: now - 7200, exp: now - 60 }),
  ]) {
    const response = await session(bad);
    assert.equal(response.status, 401, bad);
    assert.ok(clears(response, SESSION_COOKIE));
  }
  // The same claims signed with the Worker's key are accepted: the checks above are the signature and the expiry.
  assert.equal((await session(sign({ ...claims, exp: now + 60 }))).status, 200);
});

test("logout is CSRF-safe and the session answers CORS for the app's origin only", async () => {
  const cookie = await signIn("sub_csrf");
  for (const headers of [{ origin: "https://evil.example" }, { origin: "null" }, { "sec-fetch-site": "cross-site" }]) {
    const response = await logout(cookie, headers);
    assert.equal(response.status, 403, JSON.stringify(headers));
    assert.ok(!clears(response, SESSION_COOKIE));
  }
  const fromApp = await session(cookie, { origin: APP });
  assert.equal(fromApp.headers.get("access-control-allow-origin"), APP);
  assert.equal(fromApp.headers.get("access-control-allow-credentials"), "true");
  assert.equal((await session(cookie, { origin: "https://evil.example" })).headers.get("access-control-allow-origin"), null);
  const form = await logout(cookie, { origin: EDGE, accept: "text/html" });
  assert.equal(form.status, 303);
  assert.equal(form.headers.get("location"), `${EDGE}/`);
  assert.ok(clears(form, SESSION_COOKIE));
});

test("POST /v1/setup registers the OAuth redirect URI and explains refusals", async () => {
  const setup = async (w) => (await w.fetch("/v1/setup", { method: "POST", headers: { authorization: `Bearer ${SECRET}` } })).json();
  const ok = await setup(worker);
  assert.equal(ok.ok, true);
  assert.ok(ok.registered.some((r) => r.kind === "oauth_redirect" && r.url === REDIRECT_URI));
  const unknownClient = await startWorker({ vars: vars({ CONFIGURE_OAUTH_CLIENT_ID: "cfg_nobody" }) });
  try {
    const failed = (await setup(unknownClient)).failed.find((f) => f.kind === "oauth_redirect");
    assert.equal(failed.message, 'No OAuth client "cfg_nobody" on the account that owns this API key. Check CONFIGURE_OAUTH_CLIENT_ID.');
  } finally {
    await unknownClient.dispose();
  }
});
