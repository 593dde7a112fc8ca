// Faults under workerd, each a test: Configure down, hanging past the
// timeout, 5xx, malformed JSON, an answer for another agent; the Worker
// restarted between journey creation and completion (persisted KV). Each
// gives its documented status and loses no journey, state or link. (A KV
// write failing is injected natively: tests/message_flow.rs, run alongside.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startStack, complete, newJourney, linkOf, agentApi, AGENT, APP } from "./harness.mjs";

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

/** A journey and a good token; the fault is applied around one completion. */
async function survives(fault, heal, expectedStatus) {
  const { worker, standin } = stack;
  const subject = `fault-${fault}`;
  const journey = await newJourney(worker, subject);
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

test("identity resolution with Configure failing: falls through, says which step, keeps the link", async () => {
  const { worker, standin } = stack;
  const journey = await newJourney(worker, "fault-identity");
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

test("web callback with Configure failing: a 502 page, and the subject's existing link unchanged", async () => {
  const { worker, standin } = stack;
  const journey = await newJourney(worker, "fault-web");
  const { token, userId } = standin.issueToken();
  assert.equal((await complete(worker, { token, userId, journeyId: journey.journeyId })).status, 200);
  const before = await linkOf(worker, "fault-web");
  for (const fault of ["down", "5xx", "malformed"]) {
    const ticket = await (await agentApi(worker, "POST", "/v1/sign-ins", { subject: "fault-web", returnAfter: `${APP}/` })).json();
    const started = await worker.fetch(new URL(ticket.url).pathname + new URL(ticket.url).search, { redirect: "manual" });
    const state = started.headers.getSetCookie()[0].split(";")[0].split("=")[1];
    const { code } = standin.issueCode();
    await apply(fault);
    const response = await worker.fetch(`/api/configure/callback?code=${code}&state=${state}`, {
      headers: { cookie: `__Host-configure-edge-state=${state}` },
      redirect: "manual",
    });
    await heal();
    assert.equal(response.status, 502, fault);
    assert.deepEqual(await linkOf(worker, "fault-web"), before, `${fault}: link unchanged`);
  }
});

test("the Worker restarted between journey creation and completion (persisted KV): completes", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-kv-"));
  const standin = stack.standin;
  try {
    const first = await startStack({ persist: dir, standin });
    const journey = await newJourney(first.worker, "restart-1");
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
