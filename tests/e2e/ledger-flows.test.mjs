// The ledger under workerd: the built Worker with its SQLite Durable Object
// (CONFIGURE_LEDGER) and the Configure stand-in answering 300 ms late, so
// concurrent requests overlap: one-time items are used exactly once, a
// written link is read back at once, sessions are revoked at once, and an
// OAuth link about to expire is refreshed once for every concurrent
// reader. Without the binding the Worker still runs on KV alone and
// /healthz names the problem.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker } from "../support/worker.mjs";
import { startStandin, STANDIN_OAUTH_CLIENT } from "../support/configure-standin.mjs";

const API_KEY = "sk_test_e2e_ledger";
const SECRET = "e2e-ledger-api-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const APP = "https://app.example";
const EDGE = "https://edge.example";
const SIGN_IN = "https://sign-in.me";
const STATE_COOKIE = "__Host-configure-edge-state";
const OAUTH_COOKIE = "__Host-configure-edge-oauth";
const SESSION_COOKIE = "__Host-configure-edge-session";
const LATE_MS = 300;

let standin;
let worker;

function vars(extra = {}) {
  return {
    CONFIGURE_AGENT: AGENT,
    CONFIGURE_API_KEY: API_KEY,
    CONFIGURE_BASE_URL: standin.url,
    CONFIGURE_ACCOUNTS_ORIGIN: standin.url,
    CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    CONFIGURE_EDGE_SESSION_KEYS: `s1:${randomBytes(32).toString("base64")}`,
    CONFIGURE_OAUTH_CLIENT_ID: STANDIN_OAUTH_CLIENT.clientId,
    CONFIGURE_OAUTH_CLIENT_SECRET: STANDIN_OAUTH_CLIENT.clientSecret,
    CONFIGURE_PUBLISHABLE_KEY: "pk_test_ledger",
    CONFIGURE_API_TIMEOUT_MS: "5000",
    PUBLIC_URL: EDGE,
    ALLOWED_RETURN_ORIGINS: APP,
    ...extra,
  };
}

before(async () => {
  standin = await startStandin({ apiKey: API_KEY, agent: AGENT, delayMs: LATE_MS });
  worker = await startWorker({ vars: vars() });
});
after(async () => {
  await worker?.dispose();
  await standin?.close();
});

function agentApi(method, path, body, w = worker) {
  return w.fetch(path, {
    method,
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const complete = (body, w = worker) =>
  w.fetch("/auth/configure/complete", { method: "POST", headers: { origin: SIGN_IN, "content-type": "application/json" }, body: JSON.stringify(body) });

const count = (statuses, status) => statuses.filter((s) => s === status).length;

/** One line per concurrency scenario, which `make reliability` tabulates. */
const report = (name, counts) => console.log(`CONCURRENCY ${name} ${JSON.stringify(counts)}`);
const validations = () => standin.requests.filter((r) => r.method === "POST" && r.path === "/v1/auth/sign-in/validate").length;

async function linkOf(subject, w = worker) {
  const response = await agentApi("GET", `/v1/links/${encodeURIComponent(subject)}`, undefined, w);
  return response.status === 200 ? response.json() : null;
}

test("200 concurrent completions of one journey: one 200, the others 404, one link, one validation", async () => {
  const journey = await (await agentApi("POST", "/v1/journeys", { subject: "race-1", binding: "none" })).json();
  const who = standin.issueToken();
  const before = validations();
  const body = { token: who.token, userId: who.userId, agent: AGENT, journeyId: journey.journeyId };
  const answers = await Promise.all(Array.from({ length: 200 }, () => complete(body)));
  const statuses = answers.map((a) => a.status);
  assert.equal(count(statuses, 200), 1, JSON.stringify(statuses));
  assert.equal(count(statuses, 404), 199);
  assert.equal(validations() - before, 1, "only the winner asked Configure");
  report("completions of one journey", { sent: 200, ok: count(statuses, 200), replays: count(statuses, 404), validations: validations() - before });
  const link = await linkOf("race-1");
  assert.equal(link.userId, who.userId);
  assert.equal(link.token, who.token);
});

test("a completion followed at once by a resolve: linked", async () => {
  const journey = await (await agentApi("POST", "/v1/journeys", { subject: "ryw-1", binding: "none" })).json();
  const who = standin.issueToken();
  const done = await complete({ token: who.token, userId: who.userId, agent: AGENT, journeyId: journey.journeyId });
  assert.equal(done.status, 200);
  const resolved = await (await agentApi("POST", "/v1/identity/resolve", { subject: "ryw-1" })).json();
  assert.equal(resolved.linked, true);
  assert.equal(resolved.token, who.token);
  assert.equal(resolved.source, "token");
});

test("a failed completion releases the journey: the retry links", async () => {
  const journey = await (await agentApi("POST", "/v1/journeys", { subject: "retry-1", binding: "none" })).json();
  const who = standin.issueToken();
  const body = { token: who.token, userId: who.userId, agent: AGENT, journeyId: journey.journeyId };
  standin.setMode("5xx");
  try {
    assert.equal((await complete(body)).status, 502);
  } finally {
    standin.setMode("ok");
  }
  assert.equal((await complete(body)).status, 200);
  assert.equal((await complete(body)).status, 404, "then spent");
});

/** A web sign-in up to the callback: the state (cookie value). */
async function webState(subject) {
  const created = await (await agentApi("POST", "/v1/sign-ins", { subject, returnAfter: `${APP}/done` })).json();
  const started = await worker.fetch(created.url.replace(EDGE, ""), { redirect: "manual" });
  assert.equal(started.status, 302, await started.clone().text());
  return started.headers.getSetCookie()[0].split(";")[0].split("=")[1];
}

test("100 concurrent callbacks of one state: one exchange reaches Configure; 100 concurrent redeems: one 200", async () => {
  const state = await webState("web-race");
  const { code } = standin.issueCode();
  const before = standin.counts.exchangeRequests;
  const answers = await Promise.all(
    Array.from({ length: 100 }, () =>
      worker.fetch(`/api/configure/callback?code=${code}&state=${state}`, { headers: { cookie: `${STATE_COOKIE}=${state}` }, redirect: "manual" }),
    ),
  );
  const exchanges = standin.counts.exchangeRequests - before;
  assert.equal(exchanges, 1);
  const statuses = answers.map((a) => a.status);
  report("callbacks of one state", { sent: 100, redirected: count(statuses, 302), replays: count(statuses, 400), exchanges });
  assert.equal(count(statuses, 302), 1, JSON.stringify(statuses));
  assert.equal(count(statuses, 400), 99);
  const done = answers.find((a) => a.status === 302);
  const redeemCode = new URL(done.headers.get("location")).searchParams.get("configure_code");
  const redeems = await Promise.all(Array.from({ length: 100 }, () => agentApi("POST", "/v1/sign-ins/redeem", { code: redeemCode, subject: "web-race" })));
  const redeemed = redeems.map((r) => r.status);
  assert.equal(count(redeemed, 200), 1, JSON.stringify(redeemed));
  assert.equal(count(redeemed, 404), 99);
  report("redeems of one code", { sent: 100, ok: count(redeemed, 200), replays: count(redeemed, 404) });
  assert.ok(await linkOf("web-race"));
});

async function oauthSignIn(sub, w = worker) {
  const started = await w.fetch("/auth/configure/login", { redirect: "manual" });
  assert.equal(started.status, 302, await started.clone().text());
  const loginCookie = started.headers.getSetCookie().find((c) => c.startsWith(`${OAUTH_COOKIE}=`)).split(";")[0].slice(OAUTH_COOKIE.length + 1);
  const authorize = new URL(started.headers.get("location"));
  const form = new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), decision: "approve", name: "Pat", email: "pat@example.com", sub });
  const consent = await fetch(`${standin.url}/oauth/authorize`, { method: "POST", body: form, redirect: "manual" });
  assert.equal(consent.status, 302, await consent.clone().text());
  const back = new URL(consent.headers.get("location"));
  const done = await w.fetch(`${back.pathname}${back.search}`, { headers: { cookie: `${OAUTH_COOKIE}=${loginCookie}` }, redirect: "manual" });
  assert.equal(done.status, 302, await done.clone().text());
  const session = done.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`) && !c.includes("Max-Age=0"));
  return session.split(";")[0].slice(SESSION_COOKIE.length + 1);
}

const session = (cookie, w = worker) => w.fetch("/auth/configure/session", { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
const logout = (cookie) =>
  worker.fetch("/auth/configure/logout", { method: "POST", headers: { cookie: `${SESSION_COOKIE}=${cookie}`, origin: APP } });

test("logout revokes the session at once; unlinking the user revokes their other sessions", async () => {
  const sub = `sub_${randomBytes(6).toString("hex")}`;
  const first = await oauthSignIn(sub);
  const second = await oauthSignIn(sub);
  assert.equal((await session(first)).status, 200);
  assert.equal((await logout(first)).status, 200);
  assert.equal((await session(first)).status, 401, "the same cookie after logout");
  assert.equal((await session(second)).status, 200);
  const unlink = await agentApi("DELETE", `/v1/links/configure%3A${sub}`);
  assert.equal(unlink.status, 204);
  assert.equal((await session(second)).status, 401, "every session of the unlinked user");
});

test("50 concurrent reads of an OAuth link about to expire: one refresh, one new token for all", async () => {
  standin.setOptions({ expiresIn: 30 });
  const sub = `sub_${randomBytes(6).toString("hex")}`;
  try {
    await oauthSignIn(sub);
  } finally {
    standin.setOptions({ expiresIn: 3600 });
  }
  const subject = `configure:${sub}`;
  const before = standin.counts.refreshRequests;
  const reads = await Promise.all(Array.from({ length: 50 }, () => agentApi("GET", `/v1/links/${encodeURIComponent(subject)}`)));
  assert.deepEqual([...new Set(reads.map((r) => r.status))], [200]);
  const links = await Promise.all(reads.map((r) => r.json()));
  assert.equal(standin.counts.refreshRequests - before, 1, "exactly one refresh reached the stand-in");
  const tokens = new Set(links.map((l) => l.token));
  report("reads of an OAuth link about to expire", { sent: 50, ok: reads.length, refreshes: standin.counts.refreshRequests - before, distinctTokens: tokens.size });
  assert.equal(tokens.size, 1, [...tokens].join(", "));
  const [token] = tokens;
  assert.ok(standin.refreshTokenLive(links[0].refreshToken), "the rotated refresh token is the live one");
  assert.ok(Date.parse(links[0].expiresAt) > Date.now() + 3000 * 1000);
  const again = await linkOf(subject);
  assert.equal(again.token, token, "stored: the next read needs no refresh");
  assert.equal(standin.counts.refreshRequests - before, 1);
});

test("a refused refresh marks the link reconnectRequired", async () => {
  // Every access token lives 30 s: each read of the link is due a refresh.
  standin.setOptions({ expiresIn: 30 });
  try {
    const sub = `sub_${randomBytes(6).toString("hex")}`;
    await oauthSignIn(sub);
    const subject = `configure:${sub}`;
    const first = await linkOf(subject);
    assert.equal(first.reconnectRequired, undefined);
    // The link's refresh token is spent elsewhere: rotation makes the
    // Worker's next refresh refused.
    const spent = await fetch(`${standin.url}/oauth/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${STANDIN_OAUTH_CLIENT.clientId}:${STANDIN_OAUTH_CLIENT.clientSecret}`).toString("base64")}`,
      },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: first.refreshToken, resource: "https://api.configure.dev" }),
    });
    assert.equal(spent.status, 200, await spent.clone().text());
    const refused = await linkOf(subject);
    assert.equal(refused.reconnectRequired, true, JSON.stringify(refused));
    const before = standin.counts.refreshRequests;
    assert.equal((await linkOf(subject)).reconnectRequired, true);
    assert.equal(standin.counts.refreshRequests, before, "marked: not refreshed again");
  } finally {
    standin.setOptions({ expiresIn: 3600 });
  }
});

test("without the binding: KV alone, and /healthz names the problem", async () => {
  const kvOnly = await startWorker({ vars: vars(), ledger: false });
  try {
    const health = await (await kvOnly.fetch("/healthz")).json();
    const problem = health.problems.find((p) => p.setting === "CONFIGURE_LEDGER");
    assert.ok(problem, JSON.stringify(health));
    assert.match(problem.problem, /single use is best effort/);
    assert.equal(health.settings.CONFIGURE_LEDGER, false);
    const journey = await (await agentApi("POST", "/v1/journeys", { subject: "kv-1", binding: "none" }, kvOnly)).json();
    const who = standin.issueToken();
    const done = await complete({ token: who.token, userId: who.userId, agent: AGENT, journeyId: journey.journeyId }, kvOnly);
    assert.equal(done.status, 200);
    assert.equal((await linkOf("kv-1", kvOnly)).token, who.token);
    const withLedger = await (await worker.fetch("/healthz")).json();
    assert.equal(withLedger.problems.find((p) => p.setting === "CONFIGURE_LEDGER"), undefined);
    assert.equal(withLedger.settings.CONFIGURE_LEDGER, true);
  } finally {
    await kvOnly.dispose();
  }
});
