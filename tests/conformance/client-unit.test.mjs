// The typed client `createConfigureEdge` (npm/client.js, imported by name
// from the built package) against a fake fetch: the requests it sends, how
// it reads answers, the retry rule (only 502/503 with Retry-After, at most 3
// attempts, with backoff and a cap, on a mocked clock), the timeout, that the
// secret never shows, the checks before any request, the SDK's
// MessageIdentity shape, and that its TypeScript types compile for a
// consumer against the SDK's own MessageIdentity.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { inspect } from "node:util";
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { consumerDir, ROOT, PKG } from "../support/consumer.mjs";

const SECRET = "unit-client-secret-0123456789-abcdefghijkl";
const URL_BASE = "https://agent.example.com";

let consumer;
let createConfigureEdge;
let ConfigureEdgeError;

before(async () => {
  consumer = consumerDir("configure-edge-client-unit-");
  consumer.write("package.json", JSON.stringify({ type: "module", private: true }));
  const entry = consumer.write("edge.mjs", 'export * from "configure-edge";\n');
  ({ createConfigureEdge, ConfigureEdgeError } = await import(pathToFileURL(entry).href));
});
after(() => consumer?.remove());

/** A JSON answer as the Worker gives it. */
function answer(status, body, headers = {}) {
  return new Response(body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
const workerError = (status, code, message, headers = {}, field) =>
  answer(status, { ok: false, error: { code, message, ...(field ? { field } : {}) } }, headers);

/**
 * A fake fetch that answers from `script` in turn (a Response, a function of
 * the call, or an Error to throw), repeating the last; it records each call.
 */
function fakeFetch(...script) {
  const calls = [];
  const fetch = async (input, init) => {
    calls.push({ url: input, init, at: Date.now() });
    const step = script[Math.min(calls.length - 1, script.length - 1)];
    const value = typeof step === "function" ? await step(input, init) : step;
    if (value instanceof Error) throw value;
    // A fresh Response each time (a body is read once).
    return value instanceof Response ? value.clone() : value;
  };
  return { fetch, calls };
}

const client = (fetch, extra = {}) => createConfigureEdge({ url: URL_BASE, secret: SECRET, fetch, ...extra });

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a refusal");
}

function assertNoSecret(value) {
  for (const text of [String(value), JSON.stringify(value) ?? "", inspect(value, { depth: 10, showHidden: true }), value?.message ?? "", value?.stack ?? ""]) {
    assert.ok(!text.includes(SECRET), `the secret shows in: ${text.slice(0, 300)}`);
  }
}

const UNLINKED = { externalId: "spectrum:1", linked: false, approved: false, recognized: false, source: "external_id" };

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

test("requests: the mount path, bearer and JSON headers, only the fields given, subject defaulting to externalId", async () => {
  const { fetch, calls } = fakeFetch(answer(200, UNLINKED));
  const edge = createConfigureEdge({ url: "https://app.example.com/edge/", secret: SECRET, fetch });
  await edge.resolveMessageIdentity({ externalId: "spectrum:1" });
  await edge.resolveMessageIdentity({
    subject: "conv-1", externalId: "spectrum:1", phoneCandidates: ["+14155550101"], validateToken: true, messageText: "done 123456",
  });
  await edge.resolveMessageIdentity({ externalId: "spectrum:1", phoneCandidates: null, validateToken: undefined });
  assert.deepEqual(calls.map((c) => c.url), Array(3).fill("https://app.example.com/edge/v1/identity/resolve"));
  assert.deepEqual(calls.map((c) => JSON.parse(c.init.body)), [
    { subject: "spectrum:1", externalId: "spectrum:1" },
    { subject: "conv-1", externalId: "spectrum:1", phoneCandidates: ["+14155550101"], validateToken: true, messageText: "done 123456" },
    { subject: "spectrum:1", externalId: "spectrum:1" },
  ]);
  const { method, headers, signal } = calls[0].init;
  assert.equal(method, "POST");
  assert.deepEqual(headers, { accept: "application/json", authorization: `Bearer ${SECRET}`, "content-type": "application/json" });
  assert.ok(signal instanceof AbortSignal, "every attempt carries an abort signal");
  // The origin alone, with or without a trailing slash.
  for (const url of [URL_BASE, `${URL_BASE}/`, new URL(URL_BASE)]) {
    const one = fakeFetch(answer(200, { subject: "a", userId: "u", token: "t", linkedAt: "2026-01-01T00:00:00Z", source: "webhook" }));
    await createConfigureEdge({ url, secret: SECRET, fetch: one.fetch }).links.get("a");
    assert.equal(one.calls[0].url, `${URL_BASE}/v1/links/a`);
  }
});

test("every method: its route, method and body; GET and DELETE send no body", async () => {
  const journey = { journeyId: "j".repeat(43), url: "https://sign-in.me/?journey=x", expiresAt: "2026-01-01T00:15:00Z", binding: "none" };
  const link = { subject: "spectrum:+1 415/x", userId: "user_1", token: "cfgtok_1", linkedAt: "2026-01-01T00:00:00Z", source: "webhook" };
  const redeemed = { subject: "app-user", userId: "user_2", linked: true, source: "callback" };
  const report = { ok: true, registered: [{ kind: "return_to", url: "https://edge.example/api/configure/callback" }], failed: [] };
  const { fetch, calls } = fakeFetch(
    answer(201, journey),
    answer(200, link),
    new Response(null, { status: 204 }),
    answer(201, { url: "https://edge.example/auth/configure/sign-in?ticket=t", expiresAt: "2026-01-01T00:10:00Z" }),
    answer(200, redeemed),
    answer(200, report),
  );
  const edge = client(fetch);
  assert.deepEqual(await edge.createJourney({ subject: "s", binding: "none", theme: "dark", connectors: ["gmail"], unknown: "dropped" }), journey);
  assert.deepEqual(await edge.links.get("spectrum:+1 415/x"), link);
  assert.equal(await edge.links.delete("spectrum:+1 415/x"), undefined);
  assert.deepEqual(await edge.signIns.create({ subject: "app-user", returnAfter: "https://app.example/account" }), {
    url: "https://edge.example/auth/configure/sign-in?ticket=t", expiresAt: "2026-01-01T00:10:00Z",
  });
  assert.deepEqual(await edge.signIns.redeem({ code: "c", subject: "app-user" }), redeemed);
  assert.deepEqual(await edge.setup(), report);
  const encoded = `${URL_BASE}/v1/links/${encodeURIComponent("spectrum:+1 415/x")}`;
  assert.deepEqual(
    calls.map((c) => [c.init.method, c.url, c.init.body === undefined ? undefined : JSON.parse(c.init.body)]),
    [
      ["POST", `${URL_BASE}/v1/journeys`, { subject: "s", connectors: ["gmail"], theme: "dark", binding: "none" }],
      ["GET", encoded, undefined],
      ["DELETE", encoded, undefined],
      ["POST", `${URL_BASE}/v1/sign-ins`, { subject: "app-user", returnAfter: "https://app.example/account" }],
      ["POST", `${URL_BASE}/v1/sign-ins/redeem`, { code: "c", subject: "app-user" }],
      ["POST", `${URL_BASE}/v1/setup`, undefined],
    ],
  );
  assert.equal(calls[1].init.headers["content-type"], undefined, "no content-type without a body");
  assert.equal(calls[1].init.headers.accept, "application/json");
});

test("createJourney: the minted-URL fields are sent; mode, code and fallbackReason only when answered", async () => {
  const base = { journeyId: "j".repeat(43), url: "https://sign-in.me/m/x", expiresAt: "2026-01-01T00:15:00Z" };
  const { fetch, calls } = fakeFetch(
    answer(201, { ...base, binding: "sender", mode: "minted", code: "cfgmsc_1", extra: 1 }),
    answer(201, { ...base, binding: "confirmation", confirmation: "123456", mode: "plain", fallbackReason: "sender_proof_invalid" }),
  );
  const edge = client(fetch);
  const request = {
    subject: "s", messageSenderProof: "proof", channel: "imessage", reason: "signin", senderId: "+14155550101", externalId: "spectrum:1",
    thread: { key: "thread-1", spaceId: "space-1", messageId: "m-1" },
  };
  assert.deepEqual(await edge.createJourney(request), { ...base, binding: "sender", mode: "minted", code: "cfgmsc_1" });
  assert.deepEqual(JSON.parse(calls[0].init.body), request);
  const plain = await edge.createJourney({ subject: "s", messageSenderProof: "unknown" });
  assert.deepEqual(plain, { ...base, binding: "confirmation", confirmation: "123456", mode: "plain", fallbackReason: "sender_proof_invalid" });
  assert.equal("code" in plain, false);
});

// ---------------------------------------------------------------------------
// MessageIdentity
// ---------------------------------------------------------------------------

test("MessageIdentity: source webhook reads as token, errors dropped, absent keys omitted, displayName null kept", async () => {
  const { fetch } = fakeFetch(
    answer(200, { externalId: "e", token: "cfgtok_1", userId: "u1", linked: true, approved: true, recognized: false, source: "webhook" }),
    answer(200, { ...UNLINKED, errors: [{ step: "phone_recognition", code: "SERVER_ERROR", message: "Configure failed" }] }),
    answer(200, { externalId: "e", token: "cfgtok_2", userId: "u2", linked: true, approved: true, recognized: true, displayName: null, source: "phone_recognition" }),
    answer(200, { externalId: "e", token: "cfgtok_3", userId: "u3", linked: true, approved: true, recognized: true, displayName: "Pat", source: "phone_recognition" }),
  );
  const edge = client(fetch);
  assert.deepEqual(await edge.resolveMessageIdentity({ externalId: "e", messageText: "done 1" }), {
    externalId: "e", token: "cfgtok_1", userId: "u1", linked: true, approved: true, recognized: false, source: "token",
  });
  const unlinked = await edge.resolveMessageIdentity({ externalId: "spectrum:1" });
  assert.deepEqual(unlinked, UNLINKED);
  assert.deepEqual(Object.keys(unlinked), ["externalId", "linked", "approved", "recognized", "source"], "no undefined keys, no errors");
  const nullName = await edge.resolveMessageIdentity({ externalId: "e" });
  assert.equal(nullName.displayName, null);
  assert.equal((await edge.resolveMessageIdentity({ externalId: "e" })).displayName, "Pat");
});

test("externalId is required before any request (status 0, bad_request, field externalId); links need a subject", async () => {
  const { fetch, calls } = fakeFetch(answer(200, UNLINKED));
  const edge = client(fetch);
  for (const bad of [undefined, {}, { externalId: "" }, { externalId: "   " }, { externalId: 7 }, { subject: "s" }]) {
    const error = await rejection(edge.resolveMessageIdentity(bad));
    assert.ok(error instanceof ConfigureEdgeError);
    assert.deepEqual([error.status, error.code, error.field], [0, "bad_request", "externalId"], JSON.stringify(bad));
  }
  for (const bad of ["", undefined, 5]) {
    for (const call of [(s) => edge.links.get(s), (s) => edge.links.delete(s)]) {
      const error = await rejection(call(bad));
      assert.deepEqual([error.status, error.code, error.field], [0, "bad_request", "subject"]);
    }
  }
  assert.equal(calls.length, 0, "nothing was sent");
});

// ---------------------------------------------------------------------------
// Answers and errors
// ---------------------------------------------------------------------------

test("errors: the Worker's status, code, field, message and Retry-After; links.get null only for link_not_found", async () => {
  const { fetch } = fakeFetch(
    workerError(400, "bad_request", "theme must be \"light\" or \"dark\"", {}, "theme"),
    workerError(429, "rate_limited", "Too many attempts", { "retry-after": "60" }),
    workerError(404, "link_not_found", "No link for this subject"),
    workerError(404, "not_found", "Not found"),
    workerError(409, "subject_mismatch", "Another subject"),
  );
  const edge = client(fetch);
  const bad = await rejection(edge.createJourney({ subject: "s", theme: "blue" }));
  assert.ok(bad instanceof ConfigureEdgeError && bad instanceof Error);
  assert.equal(bad.name, "ConfigureEdgeError");
  assert.deepEqual([bad.status, bad.code, bad.field, bad.message, bad.retryAfter], [400, "bad_request", "theme", "theme must be \"light\" or \"dark\"", undefined]);
  const limited = await rejection(edge.links.get("s"));
  assert.deepEqual([limited.status, limited.code, limited.retryAfter, limited.field], [429, "rate_limited", 60, undefined]);
  assert.equal(await edge.links.get("s"), null);
  const notFound = await rejection(edge.links.get("s"));
  assert.deepEqual([notFound.status, notFound.code], [404, "not_found"]);
  const mismatch = await rejection(edge.signIns.redeem({ code: "c", subject: "s" }));
  assert.deepEqual([mismatch.status, mismatch.code], [409, "subject_mismatch"]);
});

test("bad_answer: an answer that is not the Worker's JSON", async () => {
  const html = new Response("<html>502 Bad Gateway</html>", { status: 502, headers: { "content-type": "text/html" } });
  const { fetch } = fakeFetch(
    html,
    answer(200, "<html>hello</html>"),
    answer(200, { unexpected: true }),
    answer(500, { error: "not the Worker's shape" }),
    answer(200, { ...UNLINKED, source: "something_else" }),
  );
  const edge = client(fetch);
  for (const status of [502, 200, 200, 500]) {
    const error = await rejection(edge.links.get("s"));
    assert.deepEqual([error.status, error.code], [status, "bad_answer"], error.message);
  }
  const identity = await rejection(edge.resolveMessageIdentity({ externalId: "e" }));
  assert.deepEqual([identity.status, identity.code], [200, "bad_answer"]);
});

// ---------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------

test("retries: 503 and 502 with Retry-After are retried, up to 3 attempts, then the last answer's error", async () => {
  let n = 0;
  const { fetch, calls } = fakeFetch(() => workerError(503, "store_unavailable", `attempt ${++n}`, { "retry-after": "0" }));
  const error = await rejection(client(fetch).resolveMessageIdentity({ externalId: "e" }));
  assert.equal(calls.length, 3);
  assert.deepEqual([error.status, error.code, error.message, error.retryAfter], [503, "store_unavailable", "attempt 3", 0]);
  // Backoff between attempts (Retry-After 0): about 250 ms, then 500 ms.
  const gaps = [calls[1].at - calls[0].at, calls[2].at - calls[1].at];
  assert.ok(gaps[0] >= 240 && gaps[1] >= 490, `gaps ${gaps}`);

  // A 502 with Retry-After, then an answer: the answer.
  const recovering = fakeFetch(workerError(502, "configure_unavailable", "Configure failed", { "retry-after": "0" }), answer(200, UNLINKED));
  assert.deepEqual(await client(recovering.fetch).resolveMessageIdentity({ externalId: "spectrum:1" }), UNLINKED);
  assert.equal(recovering.calls.length, 2);
  assert.equal(recovering.calls[1].init.body, recovering.calls[0].init.body, "the same request again");
});

test("no retry: 503 without Retry-After, 429, 400, 404, 500 (even with Retry-After), network errors", async () => {
  const cases = [
    workerError(503, "not_configured", "PUBLIC_URL is missing"),
    workerError(429, "rate_limited", "Too many", { "retry-after": "0" }),
    workerError(400, "bad_request", "bad", { "retry-after": "0" }, "subject"),
    workerError(404, "journey_not_found", "gone", { "retry-after": "0" }),
    workerError(500, "internal_error", "bug", { "retry-after": "0" }),
    workerError(504, "internal_error", "gateway", { "retry-after": "0" }),
  ];
  for (const refusal of cases) {
    const { fetch, calls } = fakeFetch(refusal);
    const error = await rejection(client(fetch).createJourney({ subject: "s" }));
    assert.equal(calls.length, 1, `${refusal.status}: one attempt`);
    assert.equal(error.status, refusal.status);
  }
  // A minted journey is asked for once: a sender proof may be good for one mint.
  const minting = fakeFetch(workerError(503, "store_unavailable", "later", { "retry-after": "0" }));
  await rejection(client(minting.fetch).createJourney({ subject: "s", messageSenderProof: "p", channel: "imessage" }));
  assert.equal(minting.calls.length, 1, "createJourney with messageSenderProof: one attempt");
  const { fetch, calls } = fakeFetch(new TypeError("fetch failed"));
  const error = await rejection(client(fetch).createJourney({ subject: "s" }));
  assert.equal(calls.length, 1, "a network error is not retried: the request may have arrived");
  assert.deepEqual([error.status, error.code, error.retryAfter], [0, "network_error", undefined]);
  assert.match(error.message, /fetch failed/);
});

test("backoff on a mocked clock: max(Retry-After, 250 ms doubling), each wait capped at 5 s", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  /** Attempts after each step of the clock. */
  async function attemptsOver(retryAfter, steps) {
    const { fetch, calls } = fakeFetch(workerError(503, "store_unavailable", "busy", { "retry-after": retryAfter }));
    const outcome = client(fetch).setup().catch((error) => error);
    await settle();
    const counts = [calls.length];
    for (const ms of steps) {
      t.mock.timers.tick(ms);
      await settle();
      counts.push(calls.length);
    }
    // Settled only after the third attempt (else a wait outlasted the steps).
    if (calls.length === 3) assert.equal((await outcome).code, "store_unavailable");
    return counts;
  }
  // Retry-After 0: the backoff, 250 then 500 ms.
  assert.deepEqual(await attemptsOver("0", [249, 1, 499, 1]), [1, 1, 2, 2, 3]);
  // Retry-After 2: 2 s both times (more than the backoff).
  assert.deepEqual(await attemptsOver("2", [1999, 1, 1999, 1]), [1, 1, 2, 2, 3]);
  // Retry-After an hour: capped at 5 s, so a caller is never stuck.
  assert.deepEqual(await attemptsOver("3600", [4999, 1, 4999, 1]), [1, 1, 2, 2, 3]);
  // Retry-After as an HTTP date 3 s ahead (rounded up to whole seconds).
  const date = new Date(Date.now() + 2500).toUTCString();
  const counts = await attemptsOver(date, [1000, 4000, 5000]);
  assert.deepEqual([counts[0], counts[1], counts.at(-1)], [1, 1, 3]);
});

// ---------------------------------------------------------------------------
// Timeout
// ---------------------------------------------------------------------------

test("timeout: code timeout (status 0) per attempt, the request aborted, not retried", async () => {
  // A fetch that honors the signal.
  const signals = [];
  const honoring = fakeFetch((_, init) => {
    signals.push(init.signal);
    return new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  });
  const started = Date.now();
  const error = await rejection(client(honoring.fetch, { timeoutMs: 50 }).links.get("s"));
  assert.deepEqual([error.status, error.code], [0, "timeout"]);
  assert.ok(error instanceof ConfigureEdgeError);
  assert.ok(Date.now() - started < 2000);
  assert.equal(signals[0].aborted, true);
  assert.equal(honoring.calls.length, 1);
  // A fetch that ignores the signal still times out.
  const deaf = fakeFetch(() => new Promise(() => {}));
  assert.equal((await rejection(client(deaf.fetch, { timeoutMs: 50 }).setup())).code, "timeout");
  // The body counts too: headers in time, a body that never ends.
  const stalled = fakeFetch(() => ({ status: 200, headers: new Headers(), text: () => new Promise(() => {}) }));
  assert.equal((await rejection(client(stalled.fetch, { timeoutMs: 50 }).setup())).code, "timeout");
  // A 503 with Retry-After that then times out: the timeout ends it (no retry after no answer).
  const mixed = fakeFetch(workerError(503, "store_unavailable", "busy", { "retry-after": "0" }), () => new Promise(() => {}));
  assert.equal((await rejection(client(mixed.fetch, { timeoutMs: 50 }).setup())).code, "timeout");
  assert.equal(mixed.calls.length, 2);
});

// ---------------------------------------------------------------------------
// Options and the secret
// ---------------------------------------------------------------------------

test("invalid options throw ConfigureEdgeError invalid_options (status 0) at creation", () => {
  const fetch = async () => assert.fail("no request");
  const cases = [
    undefined,
    null,
    "https://agent.example.com",
    { secret: SECRET, fetch },
    { url: "", secret: SECRET, fetch },
    { url: "agent.example.com", secret: SECRET, fetch },
    { url: "ftp://agent.example.com", secret: SECRET, fetch },
    // The secret would cross the network in the clear.
    { url: "http://agent.example.com", secret: SECRET, fetch },
    { url: "http://127.0.0.1.example.com", secret: SECRET, fetch },
    { url: `https://user:${SECRET}@agent.example.com`, secret: SECRET, fetch },
    { url: "https://agent.example.com/?x=1", secret: SECRET, fetch },
    { url: 42, secret: SECRET, fetch },
    { url: URL_BASE, fetch },
    { url: URL_BASE, secret: "", fetch },
    { url: URL_BASE, secret: "   ", fetch },
    { url: URL_BASE, secret: 123, fetch },
    { url: URL_BASE, secret: SECRET, fetch: "fetch" },
    { url: URL_BASE, secret: SECRET, fetch: null },
    ...[0, -1, Number.NaN, Number.POSITIVE_INFINITY, "1000", 2 ** 31].map((timeoutMs) => ({ url: URL_BASE, secret: SECRET, fetch, timeoutMs })),
  ];
  for (const options of cases) {
    let thrown;
    try {
      createConfigureEdge(options);
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof ConfigureEdgeError, `refused: ${inspect(options)}`);
    assert.deepEqual([thrown.status, thrown.code], [0, "invalid_options"]);
    assertNoSecret(thrown);
  }
  // Valid: a positive timeout, no fetch (the global one); http on loopback.
  assert.equal(typeof createConfigureEdge({ url: URL_BASE, secret: SECRET, timeoutMs: 1 }).setup, "function");
  for (const url of ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"]) {
    assert.equal(typeof createConfigureEdge({ url, secret: SECRET }).setup, "function", url);
  }
});

test("the secret never shows: not in the client's JSON or inspection, not in any error", async () => {
  const edge = client(fakeFetch(answer(200, UNLINKED)).fetch);
  assertNoSecret(edge);
  assertNoSecret(edge.links);
  assert.ok(Object.isFrozen(edge), "the client cannot be changed to leak it");
  const leaky = [
    workerError(401, "unauthorized", `Bearer ${SECRET} is wrong`),
    new Error(`refused Authorization: Bearer ${SECRET}`),
    () => {
      throw new Error(`${SECRET}`);
    },
  ];
  for (const step of leaky) {
    const error = await rejection(client(fakeFetch(step).fetch).links.get("s"));
    assert.ok(error instanceof ConfigureEdgeError);
    assertNoSecret(error);
  }
  const unauthorized = await rejection(client(fakeFetch(workerError(401, "unauthorized", "Missing or wrong bearer secret")).fetch).setup());
  assert.deepEqual([unauthorized.status, unauthorized.code, unauthorized.message], [401, "unauthorized", "Missing or wrong bearer secret"]);
});

test("fetch is called unbound-safe: a given fetch without this, the global one on globalThis at call time", async (t) => {
  const thisValues = [];
  const given = function (input, init) {
    "use strict";
    thisValues.push(this);
    return Promise.resolve(answer(200, UNLINKED));
  };
  await client(given).resolveMessageIdentity({ externalId: "spectrum:1" });
  assert.deepEqual(thisValues, [undefined]);

  const edge = createConfigureEdge({ url: URL_BASE, secret: SECRET });
  // Workers refuse a fetch called on another object ("Illegal invocation").
  t.mock.method(globalThis, "fetch", function (input) {
    if (this !== globalThis && this !== undefined) throw new TypeError("Illegal invocation");
    return Promise.resolve(answer(200, { ...UNLINKED, externalId: String(input).endsWith("/v1/identity/resolve") ? "spectrum:1" : "?" }));
  });
  assert.deepEqual(await edge.resolveMessageIdentity({ externalId: "spectrum:1" }), UNLINKED);
  assert.equal(globalThis.fetch.mock.callCount(), 1);
});

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

test("TypeScript: every method type-checks for a consumer; MessageIdentity is the SDK's both ways; no any", () => {
  const types = fs.readFileSync(path.join(PKG, "index.d.ts"), "utf8");
  const code = types.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  assert.doesNotMatch(code, /\bany\b/, "no `any` in public types");
  const project = consumerDir("configure-edge-client-types-");
  try {
    // The SDK beside the package, for its own MessageIdentity.
    fs.symlinkSync(path.join(ROOT, "node_modules/configure"), path.join(project.dir, "node_modules", "configure"), "dir");
    project.write("package.json", JSON.stringify({ type: "module", private: true }));
    project.write(
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, types: [], skipLibCheck: false },
        files: ["consumer.ts"],
      }),
    );
    project.write(
      "consumer.ts",
      `import { createConfigureEdge, ConfigureEdgeError, type ConfigureEdgeClient, type MessageIdentity, type JourneyCreated,
  type Link, type SignInCreated, type Redeemed, type SetupReport, type ConfigureEdgeOptions } from "configure-edge";
import type { MessageIdentity as SdkMessageIdentity } from "configure";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameIdentity: Same<MessageIdentity, SdkMessageIdentity> = true;

const options: ConfigureEdgeOptions = { url: "https://agent.example.com", secret: "s", fetch: globalThis.fetch, timeoutMs: 5000 };
const routed: ConfigureEdgeOptions = { url: new URL("https://app.example.com/edge"), secret: "s", fetch: (input, init) => fetch(input, init) };
const edge: ConfigureEdgeClient = createConfigureEdge(options);
void createConfigureEdge(routed);

async function all(): Promise<void> {
  const identity: SdkMessageIdentity = await edge.resolveMessageIdentity({ externalId: "spectrum:1", phoneCandidates: ["+1"], validateToken: true, messageText: "done" });
  const mine: MessageIdentity = await edge.resolveMessageIdentity({ subject: "s", externalId: "e", phoneCandidates: "+1" });
  const journey: JourneyCreated = await edge.createJourney({ subject: "s", connectors: ["gmail"], theme: "dark", binding: "phone", phoneCandidates: ["+1"],
    messageSenderProof: "p", channel: "imessage", reason: "signin", senderId: "+1", externalId: "e", thread: { key: "t", spaceId: "s" } });
  const binding: "phone" | "confirmation" | "none" | "sender" = journey.binding;
  const mode: "minted" | "plain" | undefined = journey.mode;
  const fallback: "sender_proof_missing" | "sender_proof_invalid" | "sender_proof_unsupported" | undefined = journey.fallbackReason;
  const link: Link | null = await edge.links.get("s");
  const gone: void = await edge.links.delete("s");
  const ticket: SignInCreated = await edge.signIns.create({ subject: "s", returnAfter: "https://app.example/a" });
  const redeemed: Redeemed = await edge.signIns.redeem({ code: "c", subject: "s" });
  const linked: true = redeemed.linked;
  const report: SetupReport = await edge.setup();
  const where: string | undefined = report.registered[0]?.url ?? report.registered[0]?.phone;
  void [identity, mine, binding, mode, fallback, link, gone, ticket, linked, where];
  try { await edge.setup(); } catch (error) {
    if (error instanceof ConfigureEdgeError) {
      const status: number = error.status; const code: string = error.code;
      const field: string | undefined = error.field; const retryAfter: number | undefined = error.retryAfter;
      void [status, code, field, retryAfter];
    }
  }
}
void [all, sameIdentity];
// @ts-expect-error externalId is required
edge.resolveMessageIdentity({ subject: "s" });
// @ts-expect-error the secret is required
createConfigureEdge({ url: "https://agent.example.com" });
// @ts-expect-error a subject is required
edge.createJourney({ binding: "none" });
// @ts-expect-error binding "sender" is the Worker's answer, not a request
edge.createJourney({ subject: "s", binding: "sender" });
// @ts-expect-error returnAfter is required
edge.signIns.create({ subject: "s" });
// @ts-expect-error the client has no secret property
void edge.secret;
`,
    );
    const tsc = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project.dir], { encoding: "utf8" });
    assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  } finally {
    project.remove();
  }
});
