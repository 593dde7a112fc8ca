// The web flow against the built Worker in workerd with the Configure
// stand-in: sign-ins → ticket → state cookie + redirect (equal to the SDK's
// signInUrl) → callback → returnAfter?configure_code=… → the app redeems the
// code with its signed-in user's subject → link. A ticket forwarded to
// another browser links nothing; codes are one-time and expire; each
// failure; the exchange request equal to the SDK's; no open redirect across
// generated inputs; no PUBLIC_URL, no browser flow.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { Configure } from "configure";
import { startWorker } from "../support/worker.mjs";
import { startStandin } from "../support/configure-standin.mjs";
import * as gen from "../conformance/generators.mjs";

const API_KEY = "sk_test_e2e_web_flow";
const SECRET = "e2e-web-api-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const APP = "https://app.example";
const EDGE = "https://edge.example";
const COOKIE = "__Host-configure-edge-state";
const CODE_PARAM = "configure_code";

let standin;
let worker;

function vars(extra = {}) {
  return {
    CONFIGURE_AGENT: AGENT,
    CONFIGURE_API_KEY: API_KEY,
    CONFIGURE_BASE_URL: standin.url,
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    CONFIGURE_PUBLISHABLE_KEY: "pk_test_web",
    CONFIGURE_API_TIMEOUT_MS: "500",
    PUBLIC_URL: EDGE,
    ALLOWED_RETURN_ORIGINS: `${APP}, http://localhost:3000`,
    CONFIGURE_EDGE_DISPLAY_NAME: "Your App",
    CONFIGURE_EDGE_CONNECTORS: "gmail,calendar",
    CONFIGURE_EDGE_THEME: "dark",
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

const sdk = () => new Configure({ apiKey: API_KEY, agent: AGENT, baseUrl: standin.url });

function agentApi(w, pathname, body, secret = SECRET) {
  return w.fetch(pathname, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const signIns = (w, body) => agentApi(w, "/v1/sign-ins", body);
const redeem = (w, code, subject) => agentApi(w, "/v1/sign-ins/redeem", { code, subject });

async function ticketUrl(w, subject, returnAfter) {
  const response = await signIns(w, { subject, returnAfter });
  assert.equal(response.status, 201, await response.clone().text());
  const body = await response.json();
  assert.ok(Date.parse(body.expiresAt) > Date.now());
  return body.url;
}

/**
 * Follows the ticket in a browser: the state cookie and the Location. A
 * `jar` (a Map of cookie name to value) is that browser's cookie store.
 */
async function start(w, url, jar = new Map()) {
  const response = await w.fetch(url.replace(EDGE, ""), { redirect: "manual" });
  assert.equal(response.status, 302, await response.clone().text());
  const [cookie] = response.headers.getSetCookie();
  assert.match(cookie, new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43}; `));
  for (const attribute of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"]) assert.ok(cookie.includes(attribute), attribute);
  const state = cookie.split(";")[0].split("=")[1];
  jar.set(COOKIE, state);
  return { state, location: response.headers.get("location"), jar };
}

function callback(w, query, cookieState) {
  const headers = cookieState === undefined ? {} : { cookie: `${COOKIE}=${cookieState}` };
  return w.fetch(`/api/configure/callback?${query}`, { headers, redirect: "manual" });
}

function clearsCookie(response) {
  return response.headers.getSetCookie().some((c) => c.startsWith(`${COOKIE}=;`) && c.includes("Max-Age=0"));
}

async function link(w, subject) {
  const response = await w.fetch(`/v1/links/${encodeURIComponent(subject)}`, { headers: { authorization: `Bearer ${SECRET}` } });
  assert.ok([200, 404].includes(response.status), `GET /v1/links: ${response.status}`);
  return response.status === 200 ? response.json() : null;
}

/** The callback's redirect to returnAfter: the redeem code it carries. */
function redeemCode(response, returnAfter) {
  assert.equal(response.status, 302, `callback answered ${response.status}`);
  const location = new URL(response.headers.get("location"));
  const expected = new URL(returnAfter);
  assert.equal(`${location.origin}${location.pathname}`, `${expected.origin}${expected.pathname}`);
  assert.equal(location.searchParams.getAll(CODE_PARAM).length, 1, location.href);
  assert.equal(location.searchParams.get("configure"), null, "no configure=linked any more");
  const code = location.searchParams.get(CODE_PARAM);
  assert.match(code, /^[A-Za-z0-9_-]{43}$/);
  return code;
}

/** A whole web sign-in up to the app's returnAfter: the redeem code and the Configure user. */
async function signInToCode(w, subject, returnAfter = `${APP}/account`) {
  const { state } = await start(w, await ticketUrl(w, subject, returnAfter));
  const { code, userId } = standin.issueCode();
  const done = await callback(w, `code=${code}&state=${state}`, state);
  assert.ok(clearsCookie(done));
  return { code: redeemCode(done, returnAfter), userId };
}

async function expectError(response, status, code, field) {
  assert.equal(response.status, status, await response.clone().text());
  const body = await response.json();
  assert.equal(body.ok, false);
  assert.equal(body.error.code, code);
  if (field !== undefined) assert.equal(body.error.field, field);
  return body;
}

async function kvDump(w) {
  const kv = await w.kv();
  const { keys } = await kv.list();
  return Promise.all(keys.map(async ({ name }) => ({ name, value: await kv.get(name) })));
}

test("the whole flow: the SDK's hosted URL and exchange request, a code to returnAfter, the link only at redeem", async () => {
  const returnAfter = `${APP}/settings?tab=ai`;
  const url = await ticketUrl(worker, "app-user-1", returnAfter);
  assert.match(url, new RegExp(`^${EDGE}/auth/configure/sign-in\\?ticket=[A-Za-z0-9_-]{43}$`));
  const { state, location } = await start(worker, url);
  const expected = sdk().auth.signInUrl({
    publishableKey: "pk_test_web",
    returnTo: `${EDGE}/api/configure/callback`,
    state,
    displayName: "Your App",
    connectors: ["gmail", "calendar"],
    theme: "dark",
  });
  assert.equal(location, expected);
  // The callback was allowlisted with Configure on this first use.
  const destinations = await sdk().auth.listSignInReturnDestinations();
  assert.ok(destinations.destinations.some((d) => d.destination === `${EDGE}/api/configure/callback`));

  // Request parity for exchange: the SDK's request for one code, the Worker's for another.
  const sdkCode = standin.issueCode();
  standin.clearRequests();
  await sdk().auth.exchangeSignInCode(sdkCode.code);
  const fromSdk = standin.requests.at(-1);
  const { code, userId } = standin.issueCode();
  standin.clearRequests();
  const done = await callback(worker, `code=${code}&state=${state}`, state);
  assert.equal(done.status, 302, await done.clone().text());
  const fromWorker = standin.requests.find((r) => r.path === "/v1/auth/sign-in/exchange");
  const essentials = (r, c) => ({
    method: r.method, path: r.path, contentType: r.headers["content-type"], apiKey: r.headers["x-api-key"],
    agent: r.headers["x-agent"], body: r.body.replace(c, "<code>"),
  });
  assert.deepEqual(essentials(fromWorker, code), essentials(fromSdk, sdkCode.code));

  // Back to returnAfter with a one-time code, its query kept; nothing linked yet.
  const redeemable = redeemCode(done, returnAfter);
  assert.equal(done.headers.get("location"), `${returnAfter}&${CODE_PARAM}=${redeemable}`);
  assert.ok(clearsCookie(done));
  assert.equal(await link(worker, "app-user-1"), null, "no link between the callback and the redeem");

  // The app's handler redeems it with its signed-in user: only now the link.
  const redeemed = await redeem(worker, redeemable, "app-user-1");
  assert.equal(redeemed.status, 200, await redeemed.clone().text());
  assert.deepEqual(await redeemed.json(), { subject: "app-user-1", userId, linked: true, source: "callback" });
  const stored = await link(worker, "app-user-1");
  assert.equal(stored.userId, userId);
  assert.equal(stored.source, "callback");
  assert.match(stored.token, /^cfgtok_/);

  // A code works once; the callback and the ticket too.
  await expectError(await redeem(worker, redeemable, "app-user-1"), 404, "code_not_found");
  const replay = await callback(worker, `code=${code}&state=${state}`, state);
  assert.equal(replay.status, 400);
  assert.ok(clearsCookie(replay));
  assert.deepEqual(await link(worker, "app-user-1"), stored);
  const reused = await worker.fetch(url.replace(EDGE, ""), { redirect: "manual" });
  assert.equal(reused.status, 400);
  assert.match(reused.headers.get("content-type"), /^text\/html/);
});

test("a ticket URL forwarded to another browser links nobody: the app redeems with its own user (409), and the code is gone", async () => {
  const returnAfter = `${APP}/account`;
  const url = await ticketUrl(worker, "victim-a", returnAfter);
  // Someone else's browser (its own cookie jar) opens the forwarded URL and signs in there.
  const other = await start(worker, url, new Map());
  const { code } = standin.issueCode({ userId: "user_attacker" });
  const done = await callback(worker, `code=${code}&state=${other.state}`, other.jar.get(COOKIE));
  const redeemable = redeemCode(done, returnAfter);
  assert.equal(await link(worker, "victim-a"), null);
  // That browser lands in its own session at the app: the app redeems for its user B.
  const mismatch = await expectError(await redeem(worker, redeemable, "attacker-b"), 409, "subject_mismatch");
  assert.equal(typeof mismatch.error.message, "string");
  assert.equal(await link(worker, "victim-a"), null);
  assert.equal(await link(worker, "attacker-b"), null);
  // The result was discarded: the ticket's own subject cannot redeem it afterwards.
  await expectError(await redeem(worker, redeemable, "victim-a"), 404, "code_not_found");
  assert.equal(await link(worker, "victim-a"), null);
  // A fresh flow for the same subject, redeemed by it, links (the refusals above were the mismatch).
  const fresh = await signInToCode(worker, "victim-a");
  assert.equal(await link(worker, "victim-a"), null, "no link between the callback and the redeem");
  const ok = await redeem(worker, fresh.code, "victim-a");
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.deepEqual(await ok.json(), { subject: "victim-a", userId: fresh.userId, linked: true, source: "callback" });
  const stored = await link(worker, "victim-a");
  assert.equal(stored.userId, fresh.userId);
  assert.equal(stored.source, "callback");
  await expectError(await redeem(worker, fresh.code, "victim-a"), 404, "code_not_found");
  assert.equal(await link(worker, "attacker-b"), null);
});

test("redeem: unknown code, bad bodies, reserved subjects, no secret", async () => {
  await expectError(await redeem(worker, "no-such-code", "s"), 404, "code_not_found");
  await expectError(await agentApi(worker, "/v1/sign-ins/redeem", { subject: "s" }), 400, "bad_request", "code");
  const { code, userId } = await signInToCode(worker, "redeem-checks");
  await expectError(await redeem(worker, code, "configure:sub_x"), 400, "bad_request", "subject");
  await expectError(await agentApi(worker, "/v1/sign-ins/redeem", { code }), 400, "bad_request", "subject");
  assert.equal((await agentApi(worker, "/v1/sign-ins/redeem", { code, subject: "redeem-checks" }, "wrong-secret")).status, 401);
  // None of those spent the code.
  const ok = await redeem(worker, code, "redeem-checks");
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.equal((await ok.json()).userId, userId);
});

test("POST /v1/sign-ins: returnAfter is required, allowlisted, and its path may not start with //", async () => {
  await expectError(await signIns(worker, { subject: "s" }), 400, "bad_request", "returnAfter");
  for (const bad of [
    "https://evil.example/", "http://app.example/", "/settings", "javascript:alert(1)", `${APP}.evil.example/`,
    `${APP}//evil.example/x`, `${APP}//`, "http://localhost:3000//evil.example", "",
  ]) {
    await expectError(await signIns(worker, { subject: "s", returnAfter: bad }), 400, "bad_request", "returnAfter");
  }
  await expectError(await signIns(worker, { subject: "configure:sub_1", returnAfter: `${APP}/` }), 400, "bad_request", "subject");
  // The same origins with an ordinary path are accepted.
  for (const good of [`${APP}/evil.example/x`, `${APP}/`, "http://localhost:3000/cb"]) {
    assert.equal((await signIns(worker, { subject: "s", returnAfter: good })).status, 201, good);
  }
});

test("each failure: tickets, code, state, cookie, exchange, approval, error=", async () => {
  // Bad tickets.
  for (const p of ["/auth/configure/sign-in", "/auth/configure/sign-in?ticket=nope"]) {
    const response = await worker.fetch(p, { redirect: "manual" });
    assert.equal(response.status, 400, p);
    assert.match(response.headers.get("content-type"), /^text\/html/);
  }
  const { state } = await start(worker, await ticketUrl(worker, "fail-1", `${APP}/`));
  const { code } = standin.issueCode();
  const expectPage = async (response, status, text) => {
    assert.equal(response.status, status);
    assert.ok(clearsCookie(response), "the cookie is cleared on every answer");
    assert.equal(response.headers.get("location"), null);
    assert.match(response.headers.get("content-type"), /^text\/html/);
    const body = await response.text();
    if (text) assert.ok(body.includes(text), `${text} in ${body}`);
    assert.ok(!/at .*\.(js|rs):\d+/.test(body), "no stack trace");
    assert.ok(!body.includes(CODE_PARAM));
    return body;
  };
  await expectPage(await callback(worker, `state=${state}`, state), 400, "Missing sign-in code.");
  await expectPage(await callback(worker, `code=${code}&state=${state}`), 400, "Invalid sign-in state.");
  await expectPage(await callback(worker, `code=${code}&state=${state}`, "another-browser"), 400, "Invalid sign-in state.");
  await expectPage(await callback(worker, `code=${code}`, state), 400, "Invalid sign-in state.");
  await expectPage(await callback(worker, `code=${code}&state=unknown`, "unknown"), 400, "Invalid sign-in state.");
  // Exchange failures: unknown code, Configure failing.
  await expectPage(await callback(worker, `code=cfgsic_unknown&state=${state}`, state), 502);
  standin.setMode("5xx");
  await expectPage(await callback(worker, `code=${code}&state=${state}`, state), 502);
  standin.setMode("ok");
  // A code Configure answers as not approved: 401, no redeem code.
  const unapproved = standin.issueCode({ approved: false });
  await expectPage(await callback(worker, `code=${unapproved.code}&state=${state}`, state), 401);
  assert.equal(await link(worker, "fail-1"), null);
  // The state survived all of the above: the real code still completes.
  assert.equal((await callback(worker, `code=${code}&state=${state}`, state)).status, 302);
});

test("an error= return shows a fixed text, never the error_description or the error itself", async () => {
  const { state } = await start(worker, await ticketUrl(worker, "declined", `${APP}/`));
  const description = encodeURIComponent("<b>Call 0800</b>").replace(/%20/g, "+");
  const declined = await callback(worker, `error=access_denied&error_description=${description}&state=${state}`, state);
  assert.equal(declined.status, 400);
  assert.ok(clearsCookie(declined));
  assert.equal(declined.headers.get("location"), null);
  assert.match(declined.headers.get("content-security-policy"), /default-src 'none'/);
  const body = await declined.text();
  assert.match(body, /cancelled the sign-in or declined access/);
  assert.ok(!body.includes("0800") && !body.includes("<b>") && !body.includes("&lt;b&gt;"), body);
  // An error code nobody knows is not echoed either.
  const odd = await callback(worker, `error=${encodeURIComponent("<i>ring 0800-123</i>")}&error_description=x&state=s`, "s");
  assert.equal(odd.status, 400);
  const oddBody = await odd.text();
  assert.ok(!oddBody.includes("0800") && !oddBody.includes("<i>") && !oddBody.includes("&lt;i&gt;"), oddBody);
  assert.match(oddBody, /did not complete/);
  // The bound state was ended by the error return: its code no longer completes.
  const { code } = standin.issueCode();
  const after = await callback(worker, `code=${code}&state=${state}`, state);
  assert.equal(after.status, 400);
  assert.match(await after.text(), /Invalid sign-in state\./);
});

test("a returnAfter that left the allowlist since the ticket: 400 page, nothing exchanged", async () => {
  const persist = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-web-"));
  const sealing = `k1:${randomBytes(32).toString("base64")}`;
  let w = await startWorker({ vars: vars({ CONFIGURE_EDGE_SEALING_KEYS: sealing }), persist });
  try {
    const { state } = await start(w, await ticketUrl(w, "moved", "http://localhost:3000/cb"));
    await w.dispose();
    w = await startWorker({ vars: vars({ CONFIGURE_EDGE_SEALING_KEYS: sealing, ALLOWED_RETURN_ORIGINS: APP }), persist });
    const { code, userId } = standin.issueCode();
    standin.clearRequests();
    const response = await callback(w, `code=${code}&state=${state}`, state);
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("location"), null);
    assert.match(await response.text(), /return address is no longer allowed/);
    assert.equal(standin.requests.filter((r) => r.path === "/v1/auth/sign-in/exchange").length, 0);
    // The code was not spent: Configure still exchanges it.
    assert.equal((await sdk().auth.exchangeSignInCode(code)).userId, userId);
  } finally {
    await w.dispose();
    fs.rmSync(persist, { recursive: true, force: true });
  }
});

test("an expired state, and an expired redeem code, are refused", async () => {
  const shortLived = await startWorker({
    vars: vars({ CONFIGURE_EDGE_STATE_TTL_SECONDS: "1", CONFIGURE_EDGE_REDEEM_TTL_SECONDS: "1" }),
  });
  try {
    const { state } = await start(shortLived, await ticketUrl(shortLived, "ttl", `${APP}/`));
    const { code } = standin.issueCode();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const response = await callback(shortLived, `code=${code}&state=${state}`, state);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /Invalid sign-in state\./);

    // A redeem code within its second works; one past it is 404.
    const quick = await signInToCode(shortLived, "ttl-quick");
    assert.equal((await redeem(shortLived, quick.code, "ttl-quick")).status, 200);
    const late = await signInToCode(shortLived, "ttl-late");
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await expectError(await redeem(shortLived, late.code, "ttl-late"), 404, "code_not_found");
    assert.equal(await link(shortLived, "ttl-late"), null);
  } finally {
    await shortLived.dispose();
  }
});

test("KV holds no redeem code, token or subject in plain text (nor the Configure user while the code waits)", async () => {
  const subject = `plain-text-subject-${randomBytes(6).toString("hex")}`;
  const { code, userId } = await signInToCode(worker, subject);
  const pending = await kvDump(worker);
  const itemKey = `redeem:${createHash("sha256").update(code).digest("base64url")}`;
  assert.ok(pending.some((e) => e.name === itemKey), "the callback wrote the redeem item under the code's hash");
  for (const { name } of pending) assert.match(name, /^[a-z_]+:[A-Za-z0-9_-]{43}$/, name);
  const redeemed = await redeem(worker, code, subject);
  assert.equal(redeemed.status, 200);
  const { token } = await link(worker, subject);
  const text = JSON.stringify(pending);
  for (const secret of [code, token, userId, subject]) assert.ok(!text.includes(secret), `${secret} in KV`);
  // The redeem item is gone after the redeem; the link is there (sealed).
  const later = await kvDump(worker);
  assert.ok(!later.some((e) => e.name === itemKey), "the redeemed item was deleted");
  const afterText = JSON.stringify(later);
  // (A link record keeps userId as a plain, authenticated field; the token and the subject stay sealed or hashed.)
  for (const secret of [code, token, subject]) assert.ok(!afterText.includes(secret), `${secret} in KV after redeem`);
});

test("without PUBLIC_URL the browser flows and setup answer 503, and /healthz says why", async () => {
  const { PUBLIC_URL: _omitted, ...rest } = vars();
  const bare = await startWorker({ vars: rest });
  try {
    await expectError(await signIns(bare, { subject: "s", returnAfter: `${APP}/` }), 503, "not_configured");
    await expectError(
      await bare.fetch("/v1/setup", { method: "POST", headers: { authorization: `Bearer ${SECRET}` } }),
      503,
      "not_configured",
    );
    for (const p of ["/auth/configure/sign-in?ticket=x", "/api/configure/callback?code=c&state=s"]) {
      const response = await bare.fetch(p, { redirect: "manual", headers: { cookie: `${COOKIE}=s` } });
      assert.equal(response.status, 503, p);
      assert.match(response.headers.get("content-type"), /^text\/html/);
      assert.equal(response.headers.get("location"), null);
    }
    const health = await (await bare.fetch("/healthz")).json();
    assert.equal(health.ok, true);
    const problem = health.problems.find((p) => p.setting === "PUBLIC_URL");
    assert.ok(problem, JSON.stringify(health.problems));
    assert.match(problem.problem, /^not set/);
    // The configured Worker has no such problem, and its agent API works with the same secret.
    const healthy = await (await worker.fetch("/healthz")).json();
    assert.equal(healthy.problems.find((p) => p.setting === "PUBLIC_URL"), undefined);
    assert.equal((await bare.fetch("/v1/links/x", { headers: { authorization: `Bearer ${SECRET}` } })).status, 404);
  } finally {
    await bare.dispose();
  }
});

test("a weak agent API secret counts as missing", async () => {
  const weak = await startWorker({ vars: vars({ CONFIGURE_EDGE_API_SECRET: "e2e-web-api-secret-0123456789" }) });
  try {
    const response = await weak.fetch("/v1/sign-ins", {
      method: "POST",
      headers: { authorization: "Bearer e2e-web-api-secret-0123456789", "content-type": "application/json" },
      body: JSON.stringify({ subject: "s", returnAfter: `${APP}/` }),
    });
    await expectError(response, 503, "not_configured");
    const health = await (await weak.fetch("/healthz")).json();
    assert.ok(health.problems.some((p) => p.setting === "CONFIGURE_EDGE_API_SECRET"), JSON.stringify(health.problems));
  } finally {
    await weak.dispose();
  }
});

test("POST /v1/setup reports what it registered and what failed", async () => {
  const post = () => worker.fetch("/v1/setup", { method: "POST", headers: { authorization: `Bearer ${SECRET}` } });
  const ok = await (await post()).json();
  assert.deepEqual(ok, { ok: true, registered: [{ kind: "return_to", url: `${EDGE}/api/configure/callback` }], failed: [] });
  standin.setMode("5xx");
  const failed = await (await post()).json();
  standin.setMode("ok");
  assert.equal(failed.ok, false);
  assert.equal(failed.failed[0].code, "SERVER_ERROR");
  assert.equal((await worker.fetch("/v1/setup", { method: "POST" })).status, 401);
});

test("no open redirect: across generated returnAfter values the Worker redirects only where it may", async () => {
  const r = gen.rng(gen.SEED);
  const pieces = [APP, "https://evil.example", "//evil.example", "/\\evil.example", `${APP}@evil.example`, `${APP}.evil.example`,
    "http://localhost:3000", "HTTPS://APP.EXAMPLE", `${APP}:443`, `${APP}:8443`, "javascript:alert(1)", "/x", "?a=b", "#f",
    "%2F%2Fevil.example", "\t", " ", "\\\\evil", "/../", "%0d%0aSet-Cookie:x=1", "//", "/"];
  let followed = 0;
  for (let i = 0; i < 400; i++) {
    const candidate = Array.from({ length: 1 + r.int(3) }, () => r.pick(pieces)).join("") + (r.chance(0.3) ? gen.text(r, 2) : "");
    const response = await signIns(worker, { subject: `gen-${i}`, returnAfter: candidate });
    if (response.status !== 201) {
      assert.equal(response.status, 400, candidate);
      continue;
    }
    followed++;
    const { url } = await response.json();
    const { state, location } = await start(worker, url);
    assert.ok(location.startsWith(`https://sign-in.me/${AGENT}?`), location);
    const { code } = standin.issueCode();
    const done = await callback(worker, `code=${code}&state=${state}`, state);
    assert.equal(done.status, 302, candidate);
    const raw = done.headers.get("location");
    assert.doesNotMatch(raw, /[\s\\]/, raw);
    const target = new URL(raw);
    assert.ok([APP, "http://localhost:3000"].includes(target.origin), `${JSON.stringify(candidate)} -> ${target}`);
    assert.ok(!target.pathname.startsWith("//"), `${JSON.stringify(candidate)} -> ${target}`);
    assert.equal(target.username + target.password, "");
    assert.match(target.searchParams.get(CODE_PARAM) ?? "", /^[A-Za-z0-9_-]{43}$/, raw);
  }
  assert.ok(followed >= 20, `enough accepted inputs reached the redirect (${followed})`);
});
