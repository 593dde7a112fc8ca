// The message-agent flow against the built Worker in workerd (Miniflare),
// with the Configure stand-in on 127.0.0.1: every route's success and error
// statuses, request parity with the official SDK, replay and expiry, faults
// that lose nothing, and a scan of KV for plain-text secrets.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Configure } from "configure";
import { startWorker } from "./support/worker.mjs";
import { startStandin } from "../standin/configure-standin.mjs";

const API_KEY = "sk_test_e2e_message_flow";
const SECRET = "e2e-agent-api-secret-0123456789";
const AGENT = "my-agent";
const SEALING_KEYS = `k1:${randomBytes(32).toString("base64")}`;
const ORIGIN = "http://127.0.0.1:8787"; // what worker.fetch() calls
const SIGN_IN = "https://sign-in.me";

let standin;
let worker;
const seen = { tokens: new Set(), subjects: new Set(), journeys: new Set() };

function vars(extra = {}) {
  return {
    CONFIGURE_AGENT: AGENT,
    CONFIGURE_API_KEY: API_KEY,
    CONFIGURE_BASE_URL: standin.url,
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: SEALING_KEYS,
    CONFIGURE_PUBLISHABLE_KEY: "pk_test_e2e",
    CONFIGURE_API_TIMEOUT_MS: "500",
    CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
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

function agentApi(w, method, path, body, { secret = SECRET } = {}) {
  const headers = { "content-type": "application/json" };
  if (secret !== null) headers.authorization = `Bearer ${secret}`;
  return w.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

function complete(w, body, { origin = SIGN_IN, contentType = "application/json" } = {}) {
  const headers = { "content-type": contentType };
  if (origin) headers.origin = origin;
  return w.fetch("/auth/configure/complete", {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function newJourney(w, subject, extra = {}) {
  seen.subjects.add(subject);
  const response = await agentApi(w, "POST", "/v1/journeys", { subject, ...extra });
  assert.equal(response.status, 201, await response.clone().text());
  const body = await response.json();
  seen.journeys.add(body.journeyId);
  return body;
}

function token(options) {
  const issued = standin.issueToken(options);
  seen.tokens.add(issued.token);
  return issued;
}

async function link(w, subject) {
  const response = await agentApi(w, "GET", `/v1/links/${encodeURIComponent(subject)}`);
  if (response.status === 404) return null;
  assert.equal(response.status, 200);
  return response.json();
}

/** The parts of an outbound request that matter for parity. */
function essentials(request) {
  return {
    method: request.method,
    path: request.path,
    contentType: request.headers["content-type"],
    apiKey: request.headers["x-api-key"],
    agent: request.headers["x-agent"],
    body: request.body,
  };
}

test("POST /v1/journeys answers 201 with the SDK's hosted URL", async () => {
  const options = {
    connectors: ["gmail", " calendar "],
    displayName: "Your Agent",
    messageLinePhone: "+14155551234",
    messageBody: "done",
    theme: "dark",
  };
  const created = await newJourney(worker, "spectrum:space-1", options);
  assert.match(created.journeyId, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(Date.parse(created.expiresAt) > Date.now() + 14 * 60_000, "default TTL 15 minutes");
  const expected = sdk().auth.signInUrl({
    publishableKey: "pk_test_e2e",
    delivery: "message",
    journeyId: created.journeyId,
    messageCompleteUrl: `${ORIGIN}/auth/configure/complete`,
    ...options,
  });
  assert.equal(created.url, expected);
});

test("the completion webhook links the subject; a replay is 404 and changes nothing", async () => {
  const journey = await newJourney(worker, "spectrum:space-2");
  const { token: tok, userId } = token();
  const response = await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, linked: true });
  assert.equal(response.headers.get("access-control-allow-origin"), SIGN_IN);
  assert.match(response.headers.get("vary"), /Origin/);
  const stored = await link(worker, "spectrum:space-2");
  assert.deepEqual(
    { subject: stored.subject, userId: stored.userId, token: stored.token, source: stored.source },
    { subject: "spectrum:space-2", userId, token: tok, source: "webhook" },
  );
  const replay = await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId });
  assert.equal(replay.status, 404);
  const replayBody = await replay.json();
  assert.equal(replayBody.ok, false);
  assert.equal(replayBody.linked, false);
  assert.deepEqual(await link(worker, "spectrum:space-2"), stored);
});

test("the webhook's request to Configure equals the SDK's validateSignInToken request", async () => {
  const journey = await newJourney(worker, "parity-validate");
  const { token: tok, userId } = token();
  standin.clearRequests();
  await sdk().auth.validateSignInToken(tok);
  const fromSdk = essentials(standin.requests.at(-1));
  standin.clearRequests();
  assert.equal((await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId })).status, 200);
  assert.deepEqual(essentials(standin.requests.at(-1)), fromSdk);
});

test("webhook errors: 401 for bad tokens, 404 unknown journey, 400, 415, 413, CORS", async () => {
  const journey = await newJourney(worker, "errors-1");
  const { token: tok, userId } = token();
  const other = token({ agent: "other-agent" });
  const cases = [
    [{ token: "cfgtok_not_issued", userId, agent: AGENT, journeyId: journey.journeyId }, 401],
    [{ token: other.token, userId: other.userId, agent: AGENT, journeyId: journey.journeyId }, 401],
    [{ token: tok, userId: "someone-else", agent: AGENT, journeyId: journey.journeyId }, 401],
    [{ token: tok, userId, agent: "another-agent", journeyId: journey.journeyId }, 401],
    [{ token: tok, userId, agent: AGENT, journeyId: "no-such-journey" }, 404],
  ];
  for (const [body, status] of cases) {
    const response = await complete(worker, body);
    assert.equal(response.status, status, JSON.stringify(body));
    const json = await response.json();
    assert.equal(json.ok, false);
    assert.equal(json.linked, false);
  }
  const missing = await complete(worker, { token: tok, journeyId: journey.journeyId });
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).error.field, "userId");
  assert.equal((await complete(worker, "{not json")).status, 400);
  assert.equal((await complete(worker, { token: tok }, { contentType: "text/plain" })).status, 415);
  assert.equal((await complete(worker, { token: "x".repeat(20_000), userId, journeyId: "j" })).status, 413);
  // Another site's page may not post completions.
  assert.equal((await complete(worker, { token: tok, userId, journeyId: journey.journeyId }, { origin: "https://evil.example" })).status, 403);
  // Preflight: the sign-in origin only.
  const preflight = (origin) =>
    worker.fetch("/auth/configure/complete", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
  const ok = await preflight(SIGN_IN);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), SIGN_IN);
  assert.match(ok.headers.get("access-control-allow-methods"), /POST/);
  assert.match(ok.headers.get("vary"), /Origin/);
  const refused = await preflight("https://evil.example");
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get("access-control-allow-origin"), null);
  // After all that, the journey still completes.
  assert.equal((await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId })).status, 200);
});

test("the agent API needs the bearer secret: 401 JSON otherwise", async () => {
  for (const secret of [null, "wrong", `${SECRET}x`, SECRET.slice(0, -1)]) {
    const response = await agentApi(worker, "POST", "/v1/journeys", { subject: "s" }, { secret });
    assert.equal(response.status, 401, String(secret));
    assert.equal((await response.json()).error.code, "unauthorized");
    assert.equal((await agentApi(worker, "GET", "/v1/links/s", undefined, { secret })).status, 401);
  }
  const bad = await agentApi(worker, "POST", "/v1/journeys", { subject: "" });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.field, "subject");
});

test("a journey past its TTL is 404", async () => {
  const shortLived = await startWorker({ vars: vars({ CONFIGURE_EDGE_JOURNEY_TTL_SECONDS: "1" }) });
  try {
    const journey = await newJourney(shortLived, "ttl-1");
    const { token: tok, userId } = token();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const response = await complete(shortLived, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId });
    assert.equal(response.status, 404);
  } finally {
    await shortLived.dispose();
  }
});

test("faults: Configure down, slow, 5xx or malformed gives 502 and the journey completes later", async () => {
  const journey = await newJourney(worker, "faults-1");
  const { token: tok, userId } = token();
  const body = { token: tok, userId, agent: AGENT, journeyId: journey.journeyId };
  for (const fault of ["down", "slow", "5xx", "malformed"]) {
    if (fault === "down") await standin.down();
    else standin.setMode(fault, { delayMs: 5000 });
    const started = Date.now();
    const response = await complete(worker, body);
    assert.equal(response.status, 502, fault);
    const json = await response.json();
    assert.equal(json.linked, false);
    assert.equal(json.error.code, "configure_unavailable");
    if (fault === "slow") assert.ok(Date.now() - started < 3000, "gave up after CONFIGURE_API_TIMEOUT_MS");
    if (fault === "down") await standin.up();
    standin.setMode("ok");
    assert.equal(await link(worker, "faults-1"), null);
  }
  const response = await complete(worker, body);
  assert.equal(response.status, 200);
  assert.equal((await link(worker, "faults-1")).token, tok);
});

test("identity resolution: stored link, validation, phone recognition, fallback; with SDK request parity", async () => {
  // Fallback.
  const none = await agentApi(worker, "POST", "/v1/identity/resolve", { subject: "who-1" });
  assert.deepEqual(await none.json(), {
    externalId: "edge:who-1", linked: false, approved: false, recognized: false, source: "external_id",
  });
  // Phone recognition, with the SDK's exact request.
  seen.subjects.add("who-1");
  const { userId } = standin.registerPhone("+14155550101", { displayName: "Pat" });
  standin.clearRequests();
  await sdk().auth.recognizePhone([" +14155550101 ", "+14155550101", "+1 415 555 0199"]);
  const fromSdk = essentials(standin.requests.at(-1));
  standin.clearRequests();
  const recognized = await (await agentApi(worker, "POST", "/v1/identity/resolve", {
    subject: "who-1", externalId: "spectrum:who-1", phoneCandidates: [" +14155550101 ", "+14155550101", "+1 415 555 0199"],
  })).json();
  assert.deepEqual(essentials(standin.requests.at(-1)), fromSdk);
  assert.equal(recognized.source, "phone_recognition");
  assert.equal(recognized.userId, userId);
  assert.equal(recognized.displayName, "Pat");
  assert.equal(recognized.externalId, "spectrum:who-1");
  seen.tokens.add(recognized.token);
  assert.equal((await link(worker, "who-1")).source, "phone_recognition");
  // The stored link, without a Configure call.
  standin.clearRequests();
  const stored = await (await agentApi(worker, "POST", "/v1/identity/resolve", { subject: "who-1" })).json();
  assert.equal(stored.source, "token");
  assert.equal(stored.token, recognized.token);
  assert.equal(standin.requests.length, 0);
  // Validated when asked, with the SDK's exact request.
  await sdk().auth.validateSignInToken(recognized.token);
  const validateFromSdk = essentials(standin.requests.at(-1));
  standin.clearRequests();
  const validated = await (await agentApi(worker, "POST", "/v1/identity/resolve", { subject: "who-1", validateToken: true })).json();
  assert.deepEqual(essentials(standin.requests.at(-1)), validateFromSdk);
  assert.equal(validated.source, "token");
  assert.equal(validated.userId, userId);
  // Configure failing: falls through, and says which step failed.
  standin.setMode("5xx");
  const degraded = await (await agentApi(worker, "POST", "/v1/identity/resolve", {
    subject: "who-1", validateToken: true, phoneCandidates: ["+14155550101"],
  })).json();
  standin.setMode("ok");
  assert.equal(degraded.source, "external_id");
  assert.deepEqual(degraded.errors.map((e) => [e.step, e.code]), [["token_validation", "SERVER_ERROR"], ["phone_recognition", "SERVER_ERROR"]]);
});

test("GET and DELETE /v1/links/{subject}", async () => {
  assert.equal((await agentApi(worker, "GET", "/v1/links/nobody")).status, 404);
  const subject = "links/with space+plus";
  const journey = await newJourney(worker, subject);
  const { token: tok, userId } = token();
  assert.equal((await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId })).status, 200);
  const stored = await link(worker, subject);
  assert.deepEqual(Object.keys(stored).sort(), ["linkedAt", "source", "subject", "token", "userId"]);
  assert.equal(stored.subject, subject);
  const deleted = await agentApi(worker, "DELETE", `/v1/links/${encodeURIComponent(subject)}`);
  assert.equal(deleted.status, 204);
  assert.equal(await link(worker, subject), null);
});

test("after the run, KV holds no token, subject or journey id in plain text", async () => {
  const kv = await worker.kv();
  const { keys } = await kv.list();
  assert.ok(keys.length > 5, `KV holds the run's records (${keys.length})`);
  const secrets = [...seen.tokens, ...seen.subjects, ...seen.journeys, API_KEY, SECRET];
  for (const { name } of keys) {
    assert.match(name, /^(journey|link):[A-Za-z0-9_-]{43}$/);
    const value = await kv.get(name);
    for (const secret of secrets) {
      assert.ok(!name.includes(secret) && !value.includes(secret), `${name} holds a secret in plain text`);
    }
  }
});
