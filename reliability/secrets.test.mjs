// Secrets and tokens never appear in logs, error bodies or KV in plain
// text: every flow runs (successes, every kind of failure, Configure
// failing), the Worker's console is captured, every error body kept, and
// then all of it and the whole simulated KV are scanned.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startStack, agentApi, complete, newJourney, oauthLogin, API_KEY, SECRET, SEALING_KEY, SESSION_KEY, OAUTH_CLIENT, AGENT, APP } from "./harness.mjs";

test("a full run leaks nothing to logs, error bodies or KV", async () => {
  const logs = [];
  const stack = await startStack({ onLog: (entry) => logs.push(entry.message) });
  const { worker, standin } = stack;
  const errorBodies = [];
  const tokens = new Set();
  const subjects = new Set();
  const journeys = new Set();
  const record = async (response) => {
    if (response.status >= 400) errorBodies.push(await response.clone().text());
    return response;
  };
  try {
    // Message flow: success, replay, wrong tokens, Configure failing.
    for (let i = 0; i < 5; i++) {
      const subject = `secret-subject-${i}-${Date.now()}`;
      subjects.add(subject);
      const journey = await newJourney(worker, subject);
      journeys.add(journey.journeyId);
      const { token, userId } = standin.issueToken();
      tokens.add(token);
      const body = { token, userId, agent: AGENT, journeyId: journey.journeyId };
      if (i === 1) standin.setMode("5xx");
      if (i === 2) standin.setMode("malformed");
      if (i === 3) await standin.down();
      await record(await complete(worker, body));
      await standin.up();
      standin.setMode("ok");
      await record(await complete(worker, body));
      await record(await complete(worker, body)); // replay
      await record(await complete(worker, { ...body, token: `${token}-forged` }));
      await record(await complete(worker, { ...body, userId: "someone" }));
    }
    // Identity: stored, validated, phone recognition, failing steps.
    standin.registerPhone("+14155550177");
    for (const subject of subjects) {
      await record(await agentApi(worker, "POST", "/v1/identity/resolve", { subject, validateToken: true, phoneCandidates: ["+14155550177"] }));
    }
    const phoneSubject = `secret-phone-${Date.now()}`;
    subjects.add(phoneSubject);
    const recognized = await (await agentApi(worker, "POST", "/v1/identity/resolve", { subject: phoneSubject, phoneCandidates: ["+14155550177"] })).json();
    tokens.add(recognized.token);
    standin.setMode("5xx");
    await record(await agentApi(worker, "POST", "/v1/identity/resolve", { subject: phoneSubject, validateToken: true, phoneCandidates: ["+14155550177"] }));
    standin.setMode("ok");
    // Web flow: success and failures.
    const webSubject = `secret-web-${Date.now()}`;
    subjects.add(webSubject);
    for (const fault of ["ok", "5xx"]) {
      const ticket = await (await agentApi(worker, "POST", "/v1/sign-ins", { subject: webSubject, returnAfter: `${APP}/` })).json();
      const path = new URL(ticket.url);
      const started = await worker.fetch(path.pathname + path.search, { redirect: "manual" });
      const state = started.headers.getSetCookie()[0].split(";")[0].split("=")[1];
      const { code } = standin.issueCode();
      standin.setMode(fault);
      await record(await worker.fetch(`/api/configure/callback?code=${code}&state=${state}`, {
        headers: { cookie: `__Host-configure-edge-state=${state}` }, redirect: "manual",
      }));
      standin.setMode("ok");
      await record(await worker.fetch(`/api/configure/callback?code=${code}&state=${state}`, { redirect: "manual" }));
    }
    const webLink = await (await agentApi(worker, "GET", `/v1/links/${webSubject}`)).json();
    tokens.add(webLink.token);
    // "Continue with Configure": success, Configure failing, inactive token, tampered session.
    for (const [i, fault] of ["ok", "5xx", "malformed", "ok"].entries()) {
      const sub = `secret-oauth-sub-${i}-${Date.now()}`;
      const done = await record(await oauthLogin(worker, standin, { sub, fault, fields: i === 3 ? { active: "false" } : {} }));
      if (done.status !== 302) continue;
      const oauthLink = await (await agentApi(worker, "GET", `/v1/links/${encodeURIComponent(`configure:${sub}`)}`)).json();
      tokens.add(oauthLink.token);
      tokens.add(oauthLink.refreshToken);
      const session = done.headers.getSetCookie().find((c) => c.startsWith("__Host-configure-edge-session=")).split(";")[0];
      await record(await worker.fetch("/auth/configure/session", { headers: { cookie: `${session}x` } }));
    }
    // Bad input everywhere.
    await record(await agentApi(worker, "POST", "/v1/journeys", { subject: 5 }));
    await record(await agentApi(worker, "POST", "/v1/journeys", { subject: "s" }, { secret: `${SECRET}x` }));
    await record(await worker.fetch("/v1/links/x", { headers: { authorization: `Bearer ${API_KEY}` } }));
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the last log lines arrive

    const secrets = [...tokens, API_KEY, SECRET, SEALING_KEY, SESSION_KEY, OAUTH_CLIENT.clientSecret];
    assert.ok(tokens.size >= 9 && logs.length > 0 && errorBodies.length > 20, `a real run: ${tokens.size} tokens, ${logs.length} log lines, ${errorBodies.length} error bodies`);
    for (const secret of secrets) {
      for (const line of logs) assert.ok(!line.includes(secret), `a secret in the log: ${line}`);
      for (const body of errorBodies) assert.ok(!body.includes(secret), `a secret in an error body: ${body}`);
    }
    const kv = await worker.kv();
    const { keys } = await kv.list();
    const inKv = [...secrets, ...subjects, ...journeys];
    for (const { name } of keys) {
      const value = await kv.get(name);
      for (const secret of inKv) {
        assert.ok(!name.includes(secret) && !value.includes(secret), `${name} holds a secret, subject or journey id in plain text`);
      }
    }
    console.log(`secrets scan: ${logs.length} log lines, ${errorBodies.length} error bodies, ${keys.length} KV records, ${inKv.length} values: 0 leaks`);
  } finally {
    await stack.stop();
  }
});
