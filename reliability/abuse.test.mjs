// Abuse: the agent API refuses missing, wrong and near-miss secrets; the
// webhook refuses CORS from other origins, oversized and deeply nested
// bodies, and tokens of other agents; the public routes are rate limited
// through the Workers Rate Limiting binding (simulated), 429 with Retry-After.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, agentApi, complete, newJourney, linkOf, SECRET, AGENT, SIGN_IN } from "./harness.mjs";

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

test("the agent API refuses missing, wrong and near-miss secrets", async () => {
  const flip = (s, i) => s.slice(0, i) + (s[i] === "a" ? "b" : "a") + s.slice(i + 1);
  const nearMisses = [
    null, "", "wrong", SECRET.slice(0, -1), `${SECRET}0`, `0${SECRET}`, flip(SECRET, 0), flip(SECRET, SECRET.length - 1),
    SECRET.toUpperCase(), SECRET.replace(/-/g, "_"), ` ${SECRET.slice(1)}`, encodeURIComponent(SECRET + "/"),
  ];
  const routes = [["POST", "/v1/journeys", { subject: "abuse" }], ["POST", "/v1/identity/resolve", { subject: "abuse" }],
    ["GET", "/v1/links/abuse"], ["DELETE", "/v1/links/abuse"], ["POST", "/v1/sign-ins", { subject: "abuse" }], ["POST", "/v1/setup"]];
  let refused = 0;
  for (const secret of nearMisses) {
    for (const [method, path, body] of routes) {
      const response = await agentApi(stack.worker, method, path, body, { secret });
      assert.equal(response.status, 401, `${method} ${path} with ${JSON.stringify(secret)}`);
      assert.equal((await response.json()).error.code, "unauthorized");
      refused++;
    }
  }
  for (const scheme of ["Basic", "Token", "Bearer:"]) {
    const response = await stack.worker.fetch("/v1/links/abuse", { headers: { authorization: `${scheme} ${SECRET}` } });
    assert.equal(response.status, 401, scheme);
    refused++;
  }
  console.log(`agent API: ${refused} wrong or near-miss credentials refused`);
});

test("the webhook refuses other origins, oversized and deeply nested bodies, and other agents' tokens", async () => {
  const { worker, standin } = stack;
  const journey = await newJourney(worker, "abuse-webhook");
  const { token, userId } = standin.issueToken();
  const good = { token, userId, agent: AGENT, journeyId: journey.journeyId };
  for (const origin of ["https://evil.example", "https://sign-in.me.evil.example", "http://sign-in.me", "null", "https://SIGN-IN.me:8443"]) {
    const preflight = await worker.fetch("/auth/configure/complete", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    assert.equal(preflight.status, 403, origin);
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);
    assert.equal((await complete(worker, good, { origin })).status, 403, origin);
  }
  assert.equal((await complete(worker, { ...good, pad: "x".repeat(17 * 1024) })).status, 413);
  const deep = await complete(worker, `{"token":${"[".repeat(3000)}${"]".repeat(3000)}}`);
  assert.equal(deep.status, 400);
  const other = standin.issueToken({ agent: "other-agent" });
  assert.equal((await complete(worker, { ...good, token: other.token, userId: other.userId })).status, 401);
  assert.equal(await linkOf(worker, "abuse-webhook"), null);
  assert.equal((await complete(worker, good)).status, 200, "the real completion still works");
});

test("public routes are rate limited per client: 429 with Retry-After", async () => {
  const limited = await startStack({ rateLimit: { limit: 5, period: 60 }, standin: stack.standin });
  try {
    const from = (ip) => ({ headers: { "cf-connecting-ip": ip } });
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await complete(limited.worker, { token: "t", userId: "u", journeyId: "j" }, from("203.0.113.9"))).status);
    }
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.ok(statuses.slice(5).every((s) => s === 429), statuses.join(","));
    const last = await complete(limited.worker, { token: "t", userId: "u", journeyId: "j" }, from("203.0.113.9"));
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers.get("retry-after")) > 0);
    assert.equal((await last.json()).error.code, "rate_limited");
    assert.equal(last.headers.get("access-control-allow-origin"), SIGN_IN, "a limited browser still reads the answer");
    // Another client is not affected; nor is the authenticated agent API.
    assert.equal((await complete(limited.worker, { token: "t", userId: "u", journeyId: "j" }, from("198.51.100.2"))).status, 401);
    for (let i = 0; i < 8; i++) {
      assert.equal((await agentApi(limited.worker, "GET", "/v1/links/nobody", undefined, { headers: { "cf-connecting-ip": "203.0.113.9" } })).status, 404);
    }
    // The browser routes too.
    for (const path of ["/auth/configure/sign-in?ticket=x", "/api/configure/callback?code=c&state=s"]) {
      const seen = [];
      for (let i = 0; i < 7; i++) {
        seen.push((await limited.worker.fetch(path, { headers: { "cf-connecting-ip": "192.0.2.44" }, redirect: "manual" })).status);
      }
      assert.equal(seen.at(-1), 429, `${path}: ${seen}`);
    }
  } finally {
    await limited.stop();
  }
});
