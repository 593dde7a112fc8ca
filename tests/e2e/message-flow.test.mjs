// The message-agent flow against the built Worker in workerd (Miniflare),
// with the Configure stand-in on 127.0.0.1: every route's success and error
// statuses, request parity with the official SDK, replay and expiry, faults
// that lose nothing, the journeys' bindings (phone, confirmation word,
// none), throttled bearer guessing, and a scan of KV for plain-text secrets.
import { test, before, after } from "node:test";
import { rawPost } from "../support/raw-post.mjs";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Configure } from "configure";
import { startWorker } from "../support/worker.mjs";
import { startStandin } from "../support/configure-standin.mjs";

const API_KEY = "sk_test_e2e_message_flow";
// >= 32 characters, >= 16 distinct: a weaker secret counts as missing.
const SECRET = "e2e-agent-api-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const SEALING_KEYS = `k1:${randomBytes(32).toString("base64")}`;
const ORIGIN = "http://127.0.0.1:8787"; // what worker.fetch() calls
const SIGN_IN = "https://sign-in.me";

let standin;
let worker;
const seen = { tokens: new Set(), subjects: new Set(), journeys: new Set(), words: new Set() };

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
  if (body.confirmation) seen.words.add(body.confirmation);
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

/** POST /v1/identity/resolve: [status, JSON answer]. */
async function resolve(w, body) {
  seen.subjects.add(body.subject);
  const response = await agentApi(w, "POST", "/v1/identity/resolve", body);
  const json = await response.json();
  if (json.token) seen.tokens.add(json.token);
  return [response.status, json];
}

/** The completion the hosted page posts for `journey`, by `who` (a token()). */
const completion = (journey, who) => ({ token: who.token, userId: who.userId, agent: AGENT, journeyId: journey.journeyId });

/** The hosted URL's message_body (null when absent). */
const messageBody = (url) => new URL(url).searchParams.get("message_body");

let phoneSerial = 0;
/** A fresh E.164 number for one test, so tests never share a phone. */
const freshPhone = () => `+1415555${String(3000 + ++phoneSerial).padStart(4, "0")}`;

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
  // No phone: bound to a confirmation word, which rides in the text-back.
  assert.equal(created.binding, "confirmation");
  assert.match(created.confirmation, /^[0-9]{6}$/);
  const expected = sdk().auth.signInUrl({
    publishableKey: "pk_test_e2e",
    delivery: "message",
    journeyId: created.journeyId,
    messageCompleteUrl: `${ORIGIN}/auth/configure/complete`,
    ...options,
    messageBody: `done ${created.confirmation}`,
  });
  assert.equal(created.url, expected);
  assert.deepEqual(Object.keys(created).sort(), ["binding", "confirmation", "expiresAt", "journeyId", "url"]);
});

test("bindings: phone by default with phoneCandidates, else confirmation; none keeps messageBody as given", async () => {
  // No messageBody: the text-back is "done <word>".
  const plain = await newJourney(worker, "binding-1");
  assert.equal(plain.binding, "confirmation");
  assert.match(plain.confirmation, /^[0-9]{6}$/);
  assert.equal(messageBody(plain.url), `done ${plain.confirmation}`);
  assert.match(plain.url, new RegExp(`[?&]message_body=done(\\+|%20)${plain.confirmation}(&|$)`));
  // The agent's own text-back, with the word after it.
  const custom = await newJourney(worker, "binding-1", { messageBody: "all set" });
  assert.equal(messageBody(custom.url), `all set ${custom.confirmation}`);
  // Every journey has its own word.
  const words = new Set([plain, custom, await newJourney(worker, "binding-1"), await newJourney(worker, "binding-1")].map((j) => j.confirmation));
  assert.ok(words.size >= 3, `words repeat: ${[...words]}`);
  // Phone candidates: bound to the phone, and still a word for the fallback.
  const phone = await newJourney(worker, "binding-1", { phoneCandidates: [freshPhone()] });
  assert.equal(phone.binding, "phone");
  assert.match(phone.confirmation, /^[0-9]{6}$/);
  assert.equal(messageBody(phone.url), `done ${phone.confirmation}`);
  const explicit = await newJourney(worker, "binding-1", { phoneCandidates: [freshPhone()], binding: "confirmation" });
  assert.equal(explicit.binding, "confirmation");
  // "none": no word, and messageBody exactly as given (absent when not given).
  const none = await newJourney(worker, "binding-1", { binding: "none", messageBody: "all set" });
  assert.equal(none.binding, "none");
  assert.equal(none.confirmation, undefined);
  assert.equal(messageBody(none.url), "all set");
  const bare = await newJourney(worker, "binding-1", { binding: "none" });
  assert.equal(messageBody(bare.url), null);
  assert.equal(bare.confirmation, undefined);
  // Refusals.
  for (const [body, field] of [
    [{ subject: "binding-1", binding: "sms" }, "binding"],
    [{ subject: "binding-1", binding: "phone" }, "phoneCandidates"],
    [{ subject: "binding-1", binding: "phone", phoneCandidates: [] }, "phoneCandidates"],
  ]) {
    const response = await agentApi(worker, "POST", "/v1/journeys", body);
    assert.equal(response.status, 400, JSON.stringify(body));
    const json = await response.json();
    assert.equal(json.error.code, "bad_request");
    assert.equal(json.error.field, field, JSON.stringify(body));
  }
});

test("binding none: the completion webhook links the subject; a replay is 404 and changes nothing", async () => {
  const journey = await newJourney(worker, "spectrum:space-2", { binding: "none" });
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
  standin.clearRequests();
  const replay = await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId });
  assert.equal(replay.status, 404);
  assert.equal(standin.requests.length, 0, "a used journey costs no Configure request");
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
  // A confirmation journey: validated, then kept pending (it stays in KV for the scan below).
  const response = await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, linked: false, pending: true });
  assert.deepEqual(standin.requests.map(essentials), [fromSdk]);
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
  const tooLarge = await complete(worker, { token: "x".repeat(20_000), userId, journeyId: journey.journeyId });
  assert.equal(tooLarge.status, 413);
  assert.equal(tooLarge.headers.get("access-control-allow-origin"), SIGN_IN);
  const tooLargeBody = await tooLarge.json();
  assert.deepEqual([tooLargeBody.ok, tooLargeBody.linked, tooLargeBody.error.code], [false, false, "payload_too_large"]);
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
  // After all that, the journey still completes (a confirmation journey: pending).
  const last = await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId });
  assert.equal(last.status, 200);
  assert.deepEqual(await last.json(), { ok: true, linked: false, pending: true });
});

test("the agent API needs the bearer secret: 401 JSON otherwise", async () => {
  for (const secret of [null, "wrong", `${SECRET}x`, SECRET.slice(0, -1), SECRET.toUpperCase()]) {
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
    const journey = await newJourney(shortLived, "ttl-1", { binding: "none" });
    const { token: tok, userId } = token();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const response = await complete(shortLived, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId });
    assert.equal(response.status, 404);
  } finally {
    await shortLived.dispose();
  }
});

test("faults: Configure down, slow, 5xx or malformed gives 502 and the journey completes later", async () => {
  const journey = await newJourney(worker, "faults-1", { binding: "none" });
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
  const journey = await newJourney(worker, subject, { binding: "none" });
  const { token: tok, userId } = token();
  assert.equal((await complete(worker, { token: tok, userId, agent: AGENT, journeyId: journey.journeyId })).status, 200);
  const stored = await link(worker, subject);
  assert.deepEqual(Object.keys(stored).sort(), ["linkedAt", "source", "subject", "token", "userId"]);
  assert.equal(stored.subject, subject);
  const deleted = await agentApi(worker, "DELETE", `/v1/links/${encodeURIComponent(subject)}`);
  assert.equal(deleted.status, 204);
  assert.equal(await link(worker, subject), null);
});

test("binding phone: the phone's owner completing links at once", async () => {
  const subject = "phone-owner-1";
  const phone = freshPhone();
  const { userId: owner } = standin.registerPhone(phone, { displayName: "Uma" });
  const journey = await newJourney(worker, subject, { phoneCandidates: [` ${phone} `] });
  assert.equal(journey.binding, "phone");
  const u = token({ userId: owner });
  standin.clearRequests();
  const response = await complete(worker, completion(journey, u));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, linked: true });
  // Validated, then the journey's (normalized) candidates recognized.
  assert.deepEqual(standin.requests.map((r) => r.path), ["/v1/auth/sign-in/validate", "/v1/auth/sign-in/recognize-phone"]);
  assert.deepEqual(standin.requests[1].json, { candidates: [phone] });
  const stored = await link(worker, subject);
  assert.deepEqual([stored.userId, stored.token, stored.source], [owner, u.token, "webhook"]);
  // The journey is closed.
  assert.equal((await complete(worker, completion(journey, u))).status, 404);
});

test("binding phone: another user's token is 409, nothing stored, and the owner can still complete", async () => {
  const subject = "phone-other-1";
  const phone = freshPhone();
  const { userId: owner } = standin.registerPhone(phone);
  const journey = await newJourney(worker, subject, { phoneCandidates: [phone] });
  const v = token(); // a different Configure user: a forwarded link
  for (let attempt = 0; attempt < 2; attempt++) {
    const refused = await complete(worker, completion(journey, v));
    assert.equal(refused.status, 409);
    const body = await refused.json();
    assert.deepEqual([body.ok, body.linked, body.error.code], [false, false, "phone_mismatch"]);
    assert.equal(refused.headers.get("access-control-allow-origin"), SIGN_IN);
  }
  assert.equal(await link(worker, subject), null);
  // Nothing was kept pending either: the journey's word links nothing.
  const [status, identity] = await resolve(worker, { subject, messageText: `done ${journey.confirmation}` });
  assert.equal(status, 200);
  assert.deepEqual([identity.linked, identity.source], [false, "external_id"]);
  assert.equal(await link(worker, subject), null);
  // The journey is still usable: its owner completes it.
  const u = token({ userId: owner });
  const response = await complete(worker, completion(journey, u));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, linked: true });
  const stored = await link(worker, subject);
  assert.deepEqual([stored.userId, stored.token], [owner, u.token]);
});

test("binding phone, unrecognized phone: pending until the conversation sends the word", async () => {
  const subject = "phone-unknown-1";
  const journey = await newJourney(worker, subject, { phoneCandidates: [freshPhone()] }); // never registered
  assert.equal(journey.binding, "phone");
  const u = token();
  const response = await complete(worker, completion(journey, u));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, linked: false, pending: true });
  assert.equal((await agentApi(worker, "GET", `/v1/links/${subject}`)).status, 404);
  // Resolving without the word: nothing linked.
  const [, before] = await resolve(worker, { subject });
  assert.deepEqual([before.linked, before.source, before.token], [false, "external_id", undefined]);
  // The word, from the same conversation, links it.
  standin.clearRequests();
  const [status, identity] = await resolve(worker, { subject, messageText: `done ${journey.confirmation}` });
  assert.equal(status, 200);
  assert.deepEqual(identity, {
    externalId: `edge:${subject}`, token: u.token, userId: u.userId, linked: true, approved: true, recognized: false, source: "webhook",
  });
  assert.equal(standin.requests.length, 0, "the word needs no Configure request");
  const stored = await link(worker, subject);
  assert.deepEqual([stored.userId, stored.token, stored.source], [u.userId, u.token, "webhook"]);
  // The journey is closed: a replayed completion is 404, the word again is the stored link.
  assert.equal((await complete(worker, completion(journey, u))).status, 404);
  const [, again] = await resolve(worker, { subject, messageText: `done ${journey.confirmation}` });
  assert.equal(again.source, "token");
});

test("binding confirmation: only the word from the same subject links; another subject's or a wrong word does nothing", async () => {
  const subject = "confirm-1";
  const elsewhere = "confirm-1-elsewhere";
  const journey = await newJourney(worker, subject);
  assert.equal(journey.binding, "confirmation");
  const word = journey.confirmation;
  const u = token();
  const response = await complete(worker, completion(journey, u));
  assert.deepEqual([response.status, await response.json()], [200, { ok: true, linked: false, pending: true }]);
  // The right word sent from another conversation: that subject is not linked, the original stays pending.
  const [, other] = await resolve(worker, { subject: elsewhere, messageText: `done ${word}` });
  assert.deepEqual([other.linked, other.source, other.token], [false, "external_id", undefined]);
  assert.equal(await link(worker, elsewhere), null);
  assert.equal(await link(worker, subject), null);
  // Wrong words, and the word inside a longer number: nothing.
  const wrong = String((Number(word) + 1) % 1_000_000).padStart(6, "0");
  for (const messageText of [`done ${wrong}`, `done 1${word}`, `done ${word}0`, "done", `done ${word.slice(1)}`]) {
    const [, answer] = await resolve(worker, { subject, messageText });
    assert.deepEqual([answer.linked, answer.source], [false, "external_id"], messageText);
    assert.equal(await link(worker, subject), null, messageText);
  }
  // The word, in the text-back's own words, from the same subject.
  const [, linked] = await resolve(worker, { subject, messageText: `Done ${word}!` });
  assert.deepEqual([linked.linked, linked.source, linked.userId, linked.token], [true, "webhook", u.userId, u.token]);
  assert.equal((await link(worker, subject)).userId, u.userId);
  assert.equal(await link(worker, elsewhere), null);
});

test("binding confirmation: two different users completing one journey is 409 and closes it", async () => {
  const subject = "confirm-race-1";
  const journey = await newJourney(worker, subject);
  const first = token();
  const second = token();
  assert.equal((await complete(worker, completion(journey, first))).status, 200);
  // The same user again is fine (the hosted page retried).
  const retried = await complete(worker, completion(journey, first));
  assert.deepEqual([retried.status, await retried.json()], [200, { ok: true, linked: false, pending: true }]);
  const raced = await complete(worker, completion(journey, second));
  assert.equal(raced.status, 409);
  const body = await raced.json();
  assert.deepEqual([body.ok, body.linked, body.error.code], [false, false, "completion_conflict"]);
  // Both discarded: the word links nobody, and the journey is gone.
  const [, identity] = await resolve(worker, { subject, messageText: `done ${journey.confirmation}` });
  assert.equal(identity.linked, false);
  assert.equal(await link(worker, subject), null);
  const after = await complete(worker, completion(journey, first));
  assert.equal(after.status, 404);
  assert.equal((await after.json()).error.code, "journey_not_found");
});

test("binding none never replaces another user's link: 409, link unchanged", async () => {
  const subject = "none-conflict-1";
  const a = token();
  const firstJourney = await newJourney(worker, subject, { binding: "none" });
  assert.equal((await complete(worker, completion(firstJourney, a))).status, 200);
  const before = await link(worker, subject);
  assert.equal(before.userId, a.userId);
  const b = token();
  const journey = await newJourney(worker, subject, { binding: "none" });
  const refused = await complete(worker, completion(journey, b));
  assert.equal(refused.status, 409);
  const body = await refused.json();
  assert.deepEqual([body.ok, body.linked, body.error.code], [false, false, "link_conflict"]);
  assert.deepEqual(await link(worker, subject), before);
  // The same user signing in again renews the link.
  const renewed = token({ userId: a.userId });
  const again = await complete(worker, completion(journey, renewed));
  assert.deepEqual([again.status, await again.json()], [200, { ok: true, linked: true }]);
  assert.deepEqual([(await link(worker, subject)).userId, (await link(worker, subject)).token], [a.userId, renewed.token]);
});

test("an unknown journey is 404 before any request to Configure", async () => {
  const u = token();
  for (const journeyId of ["no-such-journey", "A".repeat(43)]) {
    standin.clearRequests();
    const response = await complete(worker, { token: u.token, userId: u.userId, agent: AGENT, journeyId });
    assert.equal(response.status, 404);
    const body = await response.json();
    assert.deepEqual([body.ok, body.linked, body.error.code], [false, false, "journey_not_found"]);
    assert.deepEqual(standin.requests.map((r) => r.path), [], "no validate request for an unknown journey");
  }
  // Whereas a known journey is validated (the check above can see requests).
  const journey = await newJourney(worker, "unknown-journey-control", { binding: "none" });
  standin.clearRequests();
  assert.equal((await complete(worker, completion(journey, u))).status, 200);
  assert.deepEqual(standin.requests.map((r) => r.path), ["/v1/auth/sign-in/validate"]);
});

test("a token that is not an approved agent token is 401, and the journey stays usable", async () => {
  for (const binding of ["none", "confirmation"]) {
    for (const refused of [{ approved: false }, { tokenUse: "access" }]) {
      const subject = `unapproved-${binding}-${Object.keys(refused)[0]}`;
      const journey = await newJourney(worker, subject, { binding });
      const unapproved = token(refused);
      const response = await complete(worker, completion(journey, unapproved));
      assert.equal(response.status, 401, `${binding} ${JSON.stringify(refused)}`);
      const body = await response.json();
      assert.deepEqual([body.ok, body.linked], [false, false]);
      assert.equal(await link(worker, subject), null);
      const approved = token({ userId: unapproved.userId });
      assert.equal((await complete(worker, completion(journey, approved))).status, 200, binding);
    }
  }
});

test('subjects starting with "configure:" are refused on journeys and identity resolution', async () => {
  for (const subject of ["configure:", "configure:user_1", "configure:x:y"]) {
    for (const path of ["/v1/journeys", "/v1/identity/resolve"]) {
      const response = await agentApi(worker, "POST", path, { subject, messageText: "done 123456" });
      assert.equal(response.status, 400, `${path} ${subject}`);
      const body = await response.json();
      assert.equal(body.error.code, "bad_request");
      assert.equal(body.error.field, "subject");
    }
  }
  // Only the prefix is reserved, and reading such a subject's link is still allowed.
  await newJourney(worker, "x-configure:y", { binding: "none" });
  assert.equal((await agentApi(worker, "POST", "/v1/identity/resolve", { subject: "x-configure:y" })).status, 200);
  const read = await agentApi(worker, "GET", "/v1/links/configure%3Anobody");
  assert.equal(read.status, 404);
  assert.equal((await read.json()).error.code, "link_not_found");
});

test("failed bearer checks are rate limited: a wrong secret ends in 429 with Retry-After", async () => {
  const limited = await startWorker({ vars: vars(), rateLimit: { limit: 3, period: 60 } });
  try {
    const client = { "cf-connecting-ip": "198.51.100.7" };
    const attempt = (secret, headers = client) =>
      limited.fetch("/v1/links/rate-1", { headers: { ...headers, authorization: `Bearer ${secret}` } });
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const response = await attempt("wrong-secret-guess");
      statuses.push(response.status);
      if (response.status === 429) {
        assert.equal(response.headers.get("retry-after"), "60");
        const body = await response.json();
        assert.deepEqual([body.ok, body.error.code], [false, "rate_limited"]);
      } else {
        assert.equal(response.status, 401);
        await response.body?.cancel();
      }
    }
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401], "the first failures are plain 401s");
    assert.deepEqual(statuses.slice(-2), [429, 429], `guessing ends in 429: ${statuses}`);
    // The right secret is never throttled, and another client is counted apart.
    assert.equal((await attempt(SECRET)).status, 404);
    assert.equal((await attempt("wrong-secret-guess", { "cf-connecting-ip": "198.51.100.8" })).status, 401);
  } finally {
    await limited.dispose();
  }
});

test("after the run, KV holds no token, subject or journey id in plain text", async () => {
  const kv = await worker.kv();
  const { keys } = await kv.list();
  assert.ok(keys.length > 5, `KV holds the run's records (${keys.length})`);
  // Completions still waiting for their word are scanned too.
  assert.ok(keys.some(({ name }) => name.startsWith("pending:")), "KV holds pending completions");
  assert.ok(seen.words.size > 5, "the run's confirmation words are known");
  const secrets = [...seen.tokens, ...seen.subjects, ...seen.journeys, API_KEY, SECRET];
  for (const { name } of keys) {
    assert.match(name, /^(journey|link|pending):[A-Za-z0-9_-]{43}$/);
    const value = await kv.get(name);
    for (const secret of secrets) {
      assert.ok(!name.includes(secret) && !value.includes(secret), `${name} holds a secret in plain text`);
    }
    // A word as a whole run of digits (timestamps are longer runs).
    for (const word of seen.words) {
      assert.doesNotMatch(value, new RegExp(`(?<![0-9])${word}(?![0-9])`), `${name} holds a confirmation word in plain text`);
    }
  }
});

test("under workerd, a streamed body without Content-Length is cut off at the route's limit (413)", async () => {
  const answer = await rawPost(worker.url, "/auth/configure/complete", { origin: SIGN_IN }, { max: 1024 * 1024 });
  assert.ok(answer.sent < 1024 * 1024, `stopped before the whole body was sent (${answer.sent} bytes)`);
  if (answer.cut) return; // (the 413 itself is checked by tests/e2e/entry.test.mjs, deterministically)
  assert.equal(answer.status, 413, answer.text);
  const body = JSON.parse(answer.text);
  assert.equal(body.error.code, "payload_too_large");
  assert.equal(body.linked, false);
  assert.equal(answer.headers["access-control-allow-origin"], SIGN_IN);
});
