// The web flow against the built Worker in workerd with the Configure
// stand-in: sign-ins → ticket → state cookie + redirect (equal to the SDK's
// signInUrl) → callback → link → redirect back; each failure; the exchange
// request equal to the SDK's; no open redirect across generated inputs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Configure } from "configure";
import { startWorker } from "./support/worker.mjs";
import { startStandin } from "../standin/configure-standin.mjs";
import * as gen from "../conformance/generators.mjs";

const API_KEY = "sk_test_e2e_web_flow";
const SECRET = "e2e-web-api-secret-0123456789";
const AGENT = "my-agent";
const APP = "https://app.example";
const EDGE = "https://edge.example";
const COOKIE = "__Host-configure-edge-state";

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

async function signIns(w, body) {
  return w.fetch("/v1/sign-ins", {
    method: "POST",
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function ticketUrl(w, subject, returnAfter) {
  const response = await signIns(w, { subject, ...(returnAfter === undefined ? {} : { returnAfter }) });
  assert.equal(response.status, 201, await response.clone().text());
  const body = await response.json();
  assert.ok(Date.parse(body.expiresAt) > Date.now());
  return body.url;
}

/** Follows the ticket: the state cookie and the Location. */
async function start(w, url) {
  const response = await w.fetch(url.replace(EDGE, ""), { redirect: "manual" });
  assert.equal(response.status, 302, await response.clone().text());
  const [cookie] = response.headers.getSetCookie();
  assert.match(cookie, new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43}; `));
  for (const attribute of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"]) assert.ok(cookie.includes(attribute), attribute);
  const state = cookie.split(";")[0].split("=")[1];
  return { state, location: response.headers.get("location") };
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
  return response.status === 200 ? response.json() : null;
}

test("the whole flow, with the hosted URL and the exchange request equal to the SDK's", async () => {
  const url = await ticketUrl(worker, "app-user-1", `${APP}/settings?tab=ai`);
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

  assert.equal(done.headers.get("location"), `${APP}/settings?tab=ai&configure=linked`);
  assert.ok(clearsCookie(done));
  const stored = await link(worker, "app-user-1");
  assert.equal(stored.userId, userId);
  assert.equal(stored.source, "callback");
  assert.match(stored.token, /^cfgtok_/);

  // Replayed callback and reused ticket.
  const replay = await callback(worker, `code=${code}&state=${state}`, state);
  assert.equal(replay.status, 400);
  assert.ok(clearsCookie(replay));
  assert.deepEqual(await link(worker, "app-user-1"), stored);
  const reused = await worker.fetch(url.replace(EDGE, ""), { redirect: "manual" });
  assert.equal(reused.status, 400);
  assert.match(reused.headers.get("content-type"), /^text\/html/);
});

test("without returnAfter the browser lands on the Worker's linked page", async () => {
  const { state } = await start(worker, await ticketUrl(worker, "app-user-2"));
  const { code } = standin.issueCode();
  const done = await callback(worker, `code=${code}&state=${state}`, state);
  assert.equal(done.headers.get("location"), `${EDGE}/auth/configure/linked`);
  const page = await worker.fetch("/auth/configure/linked");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  assert.match(page.headers.get("content-security-policy"), /default-src 'none'/);
  assert.match(await page.text(), /linked/i);
});

test("each failure: tickets, code, state, cookie, exchange, allowlist, error=", async () => {
  // returnAfter off the allowlist.
  for (const bad of ["https://evil.example/", "http://app.example/", "/settings", "javascript:alert(1)", `${APP}.evil.example/`]) {
    const response = await signIns(worker, { subject: "s", returnAfter: bad });
    assert.equal(response.status, 400, bad);
    assert.equal((await response.json()).error.field, "returnAfter");
  }
  // Bad tickets.
  for (const path of ["/auth/configure/sign-in", "/auth/configure/sign-in?ticket=nope"]) {
    const response = await worker.fetch(path, { redirect: "manual" });
    assert.equal(response.status, 400, path);
    assert.match(response.headers.get("content-type"), /^text\/html/);
  }
  const { state } = await start(worker, await ticketUrl(worker, "fail-1", `${APP}/`));
  const { code } = standin.issueCode();
  const expectPage = async (response, status, text) => {
    assert.equal(response.status, status);
    assert.ok(clearsCookie(response), "the cookie is cleared on every answer");
    const body = await response.text();
    if (text) assert.ok(body.includes(text), `${text} in ${body}`);
    assert.ok(!/at .*\.(js|rs):\d+/.test(body), "no stack trace");
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
  // An error= return, shown escaped.
  const body = await expectPage(
    await callback(worker, `error=access_denied&error_description=${encodeURIComponent("<img src=x onerror=alert(1)>")}&state=${state}`, state),
    400,
  );
  assert.ok(body.includes("&lt;img src=x onerror=alert(1)&gt;") && !body.includes("<img src=x"));
  assert.equal(await link(worker, "fail-1"), null);
});

test("an expired state is refused", async () => {
  const shortLived = await startWorker({ vars: vars({ CONFIGURE_EDGE_STATE_TTL_SECONDS: "1" }) });
  try {
    const { state } = await start(shortLived, await ticketUrl(shortLived, "ttl"));
    const { code } = standin.issueCode();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const response = await callback(shortLived, `code=${code}&state=${state}`, state);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /Invalid sign-in state\./);
  } finally {
    await shortLived.dispose();
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
    "%2F%2Fevil.example", "\t", " ", "\\\\evil", "/../", "%0d%0aSet-Cookie:x=1"];
  let followed = 0;
  for (let i = 0; i < 200; i++) {
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
    const target = new URL(done.headers.get("location"));
    assert.ok([APP, "http://localhost:3000", EDGE].includes(target.origin), `${JSON.stringify(candidate)} -> ${target}`);
  }
  assert.ok(followed >= 20, `enough accepted inputs reached the redirect (${followed})`);
});
