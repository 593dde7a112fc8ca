// The SDK's message sign-in methods through the built Worker in workerd:
// minted, sender-bound URLs (POST /v1/journeys with messageSenderProof →
// Configure's createMessageSignInUrl) and the agent's message line (POST
// /v1/setup with CONFIGURE_EDGE_MESSAGE_LINE_PHONE → listMessageLines, then
// registerMessageLine). Each request is compared with the official SDK's for
// the same options, and the stand-in's answers to these endpoints are
// checked by the SDK itself.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Configure } from "configure";
import { startWorker } from "../support/worker.mjs";
import { startStandin } from "../support/configure-standin.mjs";

const API_KEY = "sk_test_e2e_message_sign_in";
const SECRET = "e2e-message-sign-in-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const SEALING_KEYS = `k1:${randomBytes(32).toString("base64")}`;
const ORIGIN = "http://127.0.0.1:8787"; // what worker.fetch() calls
const LINE_PHONE = "+14155550142";

let standin;
let worker;

function vars(extra = {}) {
  return {
    CONFIGURE_AGENT: AGENT,
    CONFIGURE_API_KEY: API_KEY,
    CONFIGURE_BASE_URL: standin.url,
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: SEALING_KEYS,
    CONFIGURE_PUBLISHABLE_KEY: "pk_test_e2e",
    CONFIGURE_API_TIMEOUT_MS: "500",
    // The stand-in serves the hosted page, so the webhook's CORS origin is its own.
    CONFIGURE_SIGN_IN_ORIGIN: standin.url,
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

function agentApi(w, method, path, body) {
  const headers = { "content-type": "application/json", authorization: `Bearer ${SECRET}` };
  return w.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function link(w, subject) {
  const response = await agentApi(w, "GET", `/v1/links/${encodeURIComponent(subject)}`);
  return response.status === 404 ? null : response.json();
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

const lastRequest = (path) => standin.requests.filter((r) => r.path === path).at(-1);

/** What the stand-in's hosted page does when its form is submitted. */
async function finishHostedPage(body) {
  const response = await fetch(`${standin.url}/__standin/hosted/finish`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ agent: AGENT, ...body }),
  });
  return response.json();
}

test("a verified sender proof: the SDK's request, a minted URL, and the sender's completion links at once", async () => {
  const sender = "+14155550100";
  const { proof } = standin.issueSenderProof({ channel: "imessage", senderId: sender });
  const options = {
    reason: "signin",
    channel: "imessage",
    connectors: ["gmail", "calendar"],
    displayName: "Your Agent",
    messageLinePhone: "+14155551234",
    messageBody: "done",
    theme: "dark",
  };
  const subject = "spectrum:minted-1";
  standin.clearRequests();
  const response = await agentApi(worker, "POST", "/v1/journeys", {
    subject,
    externalId: subject,
    senderId: sender,
    thread: { spaceId: "space-1", messageId: "m-1" },
    messageSenderProof: proof,
    ...options,
  });
  assert.equal(response.status, 201, await response.clone().text());
  const created = await response.json();
  const fromWorker = essentials(lastRequest("/v1/auth/sign-in/message-url"));
  // The SDK's request for the same options, journey and webhook.
  standin.clearRequests();
  await sdk().auth.createMessageSignInUrl({
    ...options,
    subject: { key: subject, externalId: subject, senderId: sender },
    thread: { spaceId: "space-1", messageId: "m-1" },
    messageSenderProof: proof,
    messageCompleteUrl: `${ORIGIN}/auth/configure/complete`,
    journeyId: created.journeyId,
  });
  assert.deepEqual(fromWorker, essentials(lastRequest("/v1/auth/sign-in/message-url")));

  // Configure's minted URL and code, bound to the sender: no word.
  assert.equal(created.mode, "minted");
  assert.equal(created.binding, "sender");
  assert.match(created.code, /^cfgmsu_/);
  assert.equal(created.url, `${standin.url}/${AGENT}?code=${created.code}`);
  assert.equal(created.confirmation, undefined);
  assert.equal(created.fallbackReason, undefined);
  assert.ok(Date.parse(created.expiresAt) <= Date.now() + 10 * 60_000 + 1000, "ends with the code");

  // The hosted page knows the journey from the code alone.
  const page = await (await fetch(created.url)).text();
  assert.ok(page.includes(created.journeyId), "the page carries the journey");
  // Someone else's phone cannot finish it (a forwarded link)...
  const forwarded = await finishHostedPage({ code: created.code, phone: "+14155559999" });
  assert.match(forwarded.error, /another phone/);
  // ...nor can a completion posted straight to the webhook with the journey
  // the page showed and a token of someone else's: Configure must know the
  // sender's phone as the token's user.
  const intruder = standin.issueToken({ userId: "user_intruder" });
  const direct = await worker.fetch("/auth/configure/complete", {
    method: "POST",
    headers: { "content-type": "application/json", origin: standin.url },
    body: JSON.stringify({ token: intruder.token, userId: intruder.userId, agent: AGENT, journeyId: created.journeyId }),
  });
  assert.equal(direct.status, 409);
  assert.deepEqual([(await direct.json()).error.code], ["sender_not_verified"]);
  assert.equal(await link(worker, subject), null);
  // The sender finishes it; the completion links at once.
  const finished = await finishHostedPage({ code: created.code, phone: sender });
  assert.equal(finished.complete.body.journeyId, created.journeyId);
  const completion = await worker.fetch(new URL(finished.complete.url).pathname, {
    method: "POST",
    headers: { "content-type": "application/json", origin: standin.url },
    body: JSON.stringify(finished.complete.body),
  });
  assert.equal(completion.status, 200);
  assert.deepEqual(await completion.json(), { ok: true, linked: true });
  const stored = await link(worker, subject);
  assert.deepEqual([stored.userId, stored.source], [finished.complete.body.userId, "webhook"]);
  // Once: the code and the journey are spent.
  assert.match((await finishHostedPage({ code: created.code, phone: sender })).error, /expired or was already used/);
  const replay = await worker.fetch("/auth/configure/complete", {
    method: "POST",
    headers: { "content-type": "application/json", origin: standin.url },
    body: JSON.stringify(finished.complete.body),
  });
  assert.equal(replay.status, 404);
});

test("an unverified proof: the plain URL with mode and fallbackReason, bound by the word", async () => {
  const wrongSender = standin.issueSenderProof({ channel: "imessage", senderId: "+14155550100" }).proof;
  for (const [body, reason] of [
    [{ messageSenderProof: "not-signed", channel: "imessage" }, "sender_proof_invalid"],
    [{ messageSenderProof: wrongSender, channel: "imessage", senderId: "+14155550101" }, "sender_proof_invalid"],
    [{ messageSenderProof: standin.issueSenderProof({ channel: "sms" }).proof, channel: "imessage" }, "sender_proof_invalid"],
    [{ messageSenderProof: "not-signed", channel: "telegram" }, "sender_proof_unsupported"],
  ]) {
    const subject = `plain:${reason}:${body.channel}:${Math.random()}`;
    const response = await agentApi(worker, "POST", "/v1/journeys", { subject, reason: "reconnect", ...body });
    assert.equal(response.status, 201);
    const created = await response.json();
    assert.deepEqual([created.mode, created.fallbackReason, created.binding], ["plain", reason, "confirmation"]);
    assert.equal(created.code, undefined);
    // The Worker's own URL: the journey, its webhook and the word in the text-back.
    const url = new URL(created.url);
    assert.equal(url.searchParams.get("journey"), created.journeyId);
    assert.equal(url.searchParams.get("message_body"), `done ${created.confirmation}`);
    assert.equal(url.searchParams.get("message_complete_url"), `${ORIGIN}/auth/configure/complete`);
  }
});

test("minting: bad input is 400 naming the field before Configure is asked; Configure down is 502 and stores nothing", async () => {
  standin.clearRequests();
  for (const [body, field] of [
    [{ messageSenderProof: "p" }, "channel"],
    [{ messageSenderProof: "p", channel: "imessage", reason: "because" }, "reason"],
  ]) {
    const response = await agentApi(worker, "POST", "/v1/journeys", { subject: "bad-input", ...body });
    assert.equal(response.status, 400);
    assert.equal((await response.json()).error.field, field);
  }
  assert.equal(standin.requests.length, 0);
  const kv = await worker.kv();
  const before = (await kv.list()).keys.length;
  standin.setMode("5xx");
  const response = await agentApi(worker, "POST", "/v1/journeys", {
    subject: "down-1", messageSenderProof: "p", channel: "imessage",
  });
  standin.setMode("ok");
  assert.equal(response.status, 502);
  assert.equal((await response.json()).error.code, "configure_unavailable");
  assert.equal((await kv.list()).keys.length, before, "no journey without its URL");
});

test("setup registers CONFIGURE_EDGE_MESSAGE_LINE_PHONE once, with the SDK's requests", async () => {
  const withLine = await startWorker({
    vars: vars({ PUBLIC_URL: "https://edge.example", CONFIGURE_EDGE_MESSAGE_LINE_PHONE: "+1 (415) 555-0142" }),
  });
  try {
    standin.clearRequests();
    const first = await (await agentApi(withLine, "POST", "/v1/setup")).json();
    assert.equal(first.ok, true, JSON.stringify(first));
    assert.deepEqual(first.registered.find((r) => r.kind === "message_line"), {
      kind: "message_line", phone: LINE_PHONE, status: "registered",
    });
    const [list, register] = standin.requests.filter((r) => r.path === "/v1/auth/sign-in/message-lines");
    assert.deepEqual([list.method, register.method], ["GET", "POST"]);
    // The SDK's requests for the same line.
    standin.clearRequests();
    await sdk().auth.listMessageLines();
    await sdk().auth.registerMessageLine({ phone: "+1 (415) 555-0142" });
    const [sdkList, sdkRegister] = standin.requests;
    assert.deepEqual(essentials(list), essentials(sdkList));
    assert.deepEqual(essentials(register), essentials(sdkRegister));
    // Configure lists it (by its last four digits): the next setup finds it.
    assert.deepEqual(standin.messageLines.map((l) => [l.phone_last4, l.status]), [["0142", "active"]]);
    standin.clearRequests();
    const second = await (await agentApi(withLine, "POST", "/v1/setup")).json();
    assert.equal(second.registered.find((r) => r.kind === "message_line").status, "already-registered");
    assert.deepEqual(standin.requests.filter((r) => r.path.endsWith("message-lines")).map((r) => r.method), ["GET"]);
    // A failure is reported, not hidden, and nothing is registered blind.
    await sdk().auth.revokeMessageLine({ phone: LINE_PHONE });
    standin.setMode("5xx");
    const failed = await (await agentApi(withLine, "POST", "/v1/setup")).json();
    standin.setMode("ok");
    assert.equal(failed.ok, false);
    const entry = failed.failed.find((r) => r.kind === "message_line");
    assert.deepEqual([entry.phone, entry.code], [LINE_PHONE, "SERVER_ERROR"]);
    // Journeys use the line when they name none.
    const created = await (await agentApi(withLine, "POST", "/v1/journeys", { subject: "line-default", binding: "none" })).json();
    assert.equal(new URL(created.url).searchParams.get("message_line_phone"), LINE_PHONE);
  } finally {
    await withLine.dispose();
  }
});

test("the stand-in answers the SDK's message methods as Configure does", async () => {
  const auth = sdk().auth;
  const base = { reason: "permissions", channel: "sms", subject: { key: "k", externalId: "e" } };
  const { proof } = standin.issueSenderProof({ channel: "sms" });
  const minted = await auth.createMessageSignInUrl({ ...base, messageSenderProof: proof, idempotencyKey: "idem-1" });
  assert.deepEqual(Object.keys(minted).sort(), ["code", "expiresAt", "idempotencyKey", "mode", "reason", "url"]);
  assert.deepEqual([minted.mode, minted.reason, minted.idempotencyKey], ["minted", "permissions", "idem-1"]);
  assert.ok(Date.parse(minted.expiresAt) > Date.now());
  for (const [options, why] of [
    [base, "sender_proof_missing"],
    [{ ...base, messageSenderProof: "forged" }, "sender_proof_invalid"],
    [{ ...base, channel: "whatsapp", messageSenderProof: proof }, "sender_proof_unsupported"],
  ]) {
    const plain = await auth.createMessageSignInUrl(options);
    assert.deepEqual([plain.mode, plain.fallbackReason, plain.url], ["plain", why, `${standin.url}/${AGENT}`]);
  }
  // The SDK refuses a bad reason before any request; the stand-in refuses it too.
  await assert.rejects(auth.createMessageSignInUrl({ ...base, reason: "later" }), { code: "INVALID_INPUT" });
  const raw = await fetch(`${standin.url}/v1/auth/sign-in/message-url`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": API_KEY, "x-agent": AGENT },
    body: JSON.stringify({ ...base, reason: "later" }),
  });
  assert.equal(raw.status, 400);
  // Lines: registered, listed without the phone, revoked exactly once.
  const { line } = await auth.registerMessageLine({ phone: "+14155550177", channel: "sms", label: "support" });
  assert.deepEqual([line.channel, line.phoneLast4, line.label, line.status], ["sms", "0177", "support", "active"]);
  assert.ok(!JSON.stringify(await auth.listMessageLines()).includes("4155550177"), "never the raw phone");
  assert.equal((await auth.revokeMessageLine({ phone: "+14155550177", channel: "sms" })).deleted, true);
  assert.equal((await auth.revokeMessageLine({ phone: "+14155550177", channel: "sms" })).deleted, false);
  assert.ok((await auth.listMessageLines()).lines.every((l) => l.phoneLast4 !== "0177"));
});
