// Faults under workerd, each a test: Configure down, hanging past the
// timeout, 5xx, malformed JSON, an answer for another agent; the Worker
// restarted between journey creation and completion, and between a pending
// completion and its confirmation word (persisted KV). Each gives its
// documented status and loses no journey, pending completion, redeem code,
// state or link. (A KV write failing is injected natively:
// tests/message_flow.rs and tests/web_flow.rs, run alongside.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startStack, complete, newJourney, confirm, linkOf, agentApi, webSignIn, redeem, AGENT } from "./harness.mjs";

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

/**
 * A journey and a good token; the fault is applied around one completion.
 * binding "none", so that the retry links at once (the bound journeys'
 * faults: the tests below).
 */
async function survives(fault, heal, expectedStatus) {
  const { worker, standin } = stack;
  const subject = `fault-${fault}`;
  const journey = await newJourney(worker, subject, { binding: "none" });
  const { token, userId } = standin.issueToken();
  const body = { token, userId, agent: AGENT, journeyId: journey.journeyId };
  await apply(fault);
  const started = Date.now();
  const response = await complete(worker, body);
  const elapsed = Date.now() - started;
  const json = await response.json();
  await heal();
  assert.equal(response.status, expectedStatus, `${fault}: ${JSON.stringify(json)}`);
  assert.equal(json.linked, false);
  assert.equal(await linkOf(worker, subject), null, "nothing half-written");
  // Nothing lost: the same journey completes once Configure is back.
  const retry = await complete(worker, body);
  assert.equal(retry.status, 200, `${fault}: the journey survived`);
  assert.deepEqual(await retry.json(), { ok: true, linked: true });
  assert.equal((await linkOf(worker, subject)).token, token);
  return elapsed;
}

async function apply(fault) {
  if (fault === "down") await stack.standin.down();
  else if (fault === "hanging") stack.standin.setMode("slow", { delayMs: 10_000 });
  else stack.standin.setMode(fault);
}
const heal = async () => {
  await stack.standin.up();
  stack.standin.setMode("ok");
};

test("Configure API down: 502, journey kept", async () => {
  await survives("down", heal, 502);
});

test("Configure API hanging past CONFIGURE_API_TIMEOUT_MS: 502 within the timeout, journey kept", async () => {
  const elapsed = await survives("hanging", heal, 502);
  assert.ok(elapsed < 2000, `gave up after ~400 ms, took ${elapsed} ms`);
});

test("Configure API 5xx: 502, journey kept", async () => {
  await survives("5xx", heal, 502);
});

test("Configure API malformed JSON: 502, journey kept", async () => {
  await survives("malformed", heal, 502);
});

test("Configure answering for another agent: 401, journey kept", async () => {
  await survives("other-agent", heal, 401);
});

test("a confirmation journey with Configure failing: 502, no pending completion, the word links once Configure is back", async () => {
  const { worker, standin } = stack;
  const subject = "fault-confirmation";
  const journey = await newJourney(worker, subject);
  assert.equal(journey.binding, "confirmation");
  const { token, userId } = standin.issueToken();
  const body = { token, userId, agent: AGENT, journeyId: journey.journeyId };
  for (const fault of ["down", "5xx", "malformed"]) {
    await apply(fault);
    const response = await complete(worker, body);
    await heal();
    assert.equal(response.status, 502, fault);
    assert.equal((await response.json()).linked, false);
    // Nothing pending: the word does not link what was never completed.
    const early = await (await confirm(worker, subject, journey.confirmation)).json();
    assert.equal(early.linked, false, `${fault}: ${JSON.stringify(early)}`);
  }
  const pending = await complete(worker, body);
  assert.deepEqual(await pending.json(), { ok: true, linked: false, pending: true });
  assert.equal(await linkOf(worker, subject), null, "pending is not linked");
  // The word needs no Configure request: it links while Configure is down.
  await apply("down");
  const confirmed = await confirm(worker, subject, journey.confirmation);
  await heal();
  const identity = await confirmed.json();
  assert.equal(identity.source, "webhook", JSON.stringify(identity));
  assert.equal(identity.token, token);
  assert.equal((await linkOf(worker, subject)).token, token);
  assert.equal((await complete(worker, body)).status, 404, "the journey is closed");
});

test("a phone-bound journey with phone recognition failing after a good token: 502, nothing stored, then linked for the phone's owner", async () => {
  const { standin } = stack;
  const own = await startStack({ standin, proxy: true });
  try {
    const { worker, proxy } = own;
    const subject = "fault-phone";
    const phone = "+14155550901";
    const { userId } = standin.registerPhone(phone);
    const journey = await newJourney(worker, subject, { phoneCandidates: [phone] });
    assert.equal(journey.binding, "phone");
    const { token } = standin.issueToken({ userId });
    const body = { token, userId, agent: AGENT, journeyId: journey.journeyId };
    for (const fault of ["down", "hanging", "5xx", "malformed"]) {
      proxy.fail("/v1/auth/sign-in/recognize-phone", fault);
      const started = Date.now();
      const response = await complete(worker, body);
      const elapsed = Date.now() - started;
      proxy.fail("/v1/auth/sign-in/recognize-phone", null);
      const json = await response.json();
      assert.equal(response.status, 502, `${fault}: ${JSON.stringify(json)}`);
      assert.equal(json.linked, false);
      assert.ok(elapsed < 2000, `${fault}: took ${elapsed} ms`);
      assert.equal(await linkOf(worker, subject), null, `${fault}: nothing half-written`);
      const identity = await (await confirm(worker, subject, journey.confirmation)).json();
      assert.equal(identity.linked, false, `${fault}: nothing pending either`);
    }
    const done = await complete(worker, body);
    assert.deepEqual(await done.json(), { ok: true, linked: true });
    assert.equal((await linkOf(worker, subject)).token, token);
  } finally {
    await own.stop();
  }
});

test("identity resolution with Configure failing: falls through, says which step, keeps the link", async () => {
  const { worker, standin } = stack;
  const journey = await newJourney(worker, "fault-identity", { binding: "none" });
  const { token, userId } = standin.issueToken();
  assert.equal((await complete(worker, { token, userId, journeyId: journey.journeyId })).status, 200);
  for (const fault of ["down", "hanging", "5xx", "malformed"]) {
    await apply(fault);
    const identity = await (await agentApi(worker, "POST", "/v1/identity/resolve", { subject: "fault-identity", validateToken: true })).json();
    await heal();
    assert.equal(identity.source, "external_id", fault);
    assert.equal(identity.errors[0].step, "token_validation", fault);
    assert.equal((await linkOf(worker, "fault-identity")).token, token, `${fault}: link kept`);
  }
});

test("web callback with Configure failing: a 502 page, no redeem code, and the subject's existing link unchanged", async () => {
  const { worker, standin } = stack;
  const journey = await newJourney(worker, "fault-web", { binding: "none" });
  const { token, userId } = standin.issueToken();
  assert.equal((await complete(worker, { token, userId, journeyId: journey.journeyId })).status, 200);
  const before = await linkOf(worker, "fault-web");
  for (const fault of ["down", "5xx", "malformed"]) {
    const signIn = await webSignIn(worker, standin, "fault-web", { fault });
    assert.equal(signIn.response.status, 502, fault);
    assert.equal(signIn.code, undefined, `${fault}: no code to redeem`);
    assert.deepEqual(await linkOf(worker, "fault-web"), before, `${fault}: link unchanged`);
  }
  // Configure back: the same subject signs in again and the app redeems.
  const signIn = await webSignIn(worker, standin, "fault-web", { userId });
  assert.equal(signIn.response.status, 302);
  const redeemed = await redeem(worker, signIn.code, "fault-web");
  assert.equal(redeemed.status, 200, await redeemed.clone().text());
  assert.equal((await linkOf(worker, "fault-web")).source, "callback");
});

test("the Worker restarted between journey creation and completion (persisted KV): completes", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-kv-"));
  const standin = stack.standin;
  try {
    const first = await startStack({ persist: dir, standin });
    const journey = await newJourney(first.worker, "restart-1", { binding: "none" });
    await first.stop();
    const second = await startStack({ persist: dir, standin });
    try {
      const { token, userId } = standin.issueToken();
      const response = await complete(second.worker, { token, userId, agent: AGENT, journeyId: journey.journeyId });
      assert.equal(response.status, 200);
      assert.equal((await linkOf(second.worker, "restart-1")).token, token);
    } finally {
      await second.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the Worker restarted with a completion pending and with a redeem code outstanding (persisted KV): both finish", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-kv-"));
  const standin = stack.standin;
  try {
    // The sealing key lives in the harness module: the same for both instances.
    const first = await startStack({ persist: dir, standin });
    const journey = await newJourney(first.worker, "restart-pending");
    const { token, userId } = standin.issueToken();
    const pending = await complete(first.worker, { token, userId, agent: AGENT, journeyId: journey.journeyId });
    assert.deepEqual(await pending.json(), { ok: true, linked: false, pending: true });
    const signIn = await webSignIn(first.worker, standin, "restart-web");
    assert.ok(signIn.code, `a code: ${signIn.response.status}`);
    await first.stop();
    const second = await startStack({ persist: dir, standin });
    try {
      const identity = await (await confirm(second.worker, "restart-pending", journey.confirmation)).json();
      assert.equal(identity.source, "webhook", JSON.stringify(identity));
      assert.equal((await linkOf(second.worker, "restart-pending")).token, token);
      assert.equal((await redeem(second.worker, signIn.code, "restart-web")).status, 200);
      assert.equal((await linkOf(second.worker, "restart-web")).source, "callback");
    } finally {
      await second.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
