// Abuse: the agent API refuses missing, wrong and near-miss secrets, and
// rate limits failed bearer checks; the webhook refuses CORS from other
// origins, oversized (declared or streamed) and deeply nested bodies, and
// tokens of other agents or not approved; forwarded ticket and journey URLs
// link nothing; reserved subjects are refused; the public routes are rate
// limited through the Workers Rate Limiting binding (simulated), 429 with
// Retry-After.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rawPost } from "../support/raw-post.mjs";
import { startStack, agentApi, complete, newJourney, confirm, linkOf, webSignIn, redeem, SECRET, AGENT, SIGN_IN, APP } from "./harness.mjs";

/** Every agent-API route, with a body it would take. */
const AGENT_ROUTES = [
  ["POST", "/v1/journeys", { subject: "abuse" }],
  ["POST", "/v1/identity/resolve", { subject: "abuse" }],
  ["GET", "/v1/links/abuse"],
  ["DELETE", "/v1/links/abuse"],
  ["POST", "/v1/sign-ins", { subject: "abuse", returnAfter: `${APP}/` }],
  ["POST", "/v1/sign-ins/redeem", { code: "abuse-code", subject: "abuse" }],
  ["POST", "/v1/setup"],
];

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
  const routes = AGENT_ROUTES;
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
  const journey = await newJourney(worker, "abuse-webhook", { binding: "none" });
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
  const tooLarge = await complete(worker, { ...good, pad: "x".repeat(17 * 1024) });
  assert.equal(tooLarge.status, 413);
  assert.deepEqual({ ...(await tooLarge.json()), error: undefined }, { ok: false, linked: false, error: undefined });
  const deep = await complete(worker, `{"token":${"[".repeat(3000)}${"]".repeat(3000)}}`);
  assert.equal(deep.status, 400);
  const other = standin.issueToken({ agent: "other-agent" });
  assert.equal((await complete(worker, { ...good, token: other.token, userId: other.userId })).status, 401);
  const declined = standin.issueToken({ approved: false });
  assert.equal((await complete(worker, { ...good, token: declined.token, userId: declined.userId })).status, 401, "a token not approved");
  assert.equal(await linkOf(worker, "abuse-webhook"), null);
  // An unknown journey is 404 before any Configure request: no token oracle.
  standin.clearRequests();
  const unknown = await complete(worker, { ...good, journeyId: "no-such-journey" });
  assert.equal(unknown.status, 404);
  assert.equal(standin.requests.length, 0, "no Configure request for an unknown journey");
  assert.equal((await complete(worker, good)).status, 200, "the real completion still works");
  assert.equal((await linkOf(worker, "abuse-webhook")).token, token);
});

test("bodies over the route's limit are refused before they are buffered: declared or streamed, 413", async () => {
  const { worker } = stack;
  const cases = [
    ["/auth/configure/complete", 16 * 1024, { origin: SIGN_IN }],
    ["/v1/journeys", 64 * 1024, { authorization: `Bearer ${SECRET}` }],
    ["/v1/sign-ins/redeem", 64 * 1024, { authorization: `Bearer ${SECRET}` }],
  ];
  for (const [path, limit, headers] of cases) {
    for (const declared of [limit + 1, 1_000_000_000]) {
      const answer = await rawPost(worker.url, path, headers, { declared });
      assert.equal(answer.status, 413, `${path}: Content-Length ${declared}`);
      assert.equal(answer.json.error.code, "payload_too_large");
    }
    const flowing = await rawPost(worker.url, path, headers, { max: 64 * limit });
    assert.ok(flowing.sent < 8 * limit, `${path}: stopped while the body was still flowing (${flowing.sent} bytes sent)`);
    if (flowing.cut) continue; // the socket broke before the 413 was read; stopped early all the same
    assert.equal(flowing.status, 413, `${path}: streamed`);
    assert.equal(flowing.json.error.code, "payload_too_large");
    if (path === "/auth/configure/complete") assert.equal(flowing.json.linked, false);
  }
});

test("forwarded ticket and journey URLs link nothing; reserved subjects are refused", async () => {
  const { worker, standin } = stack;
  // A ticket minted for A, completed in someone else's browser, redeemed by
  // the app for the user signed in there (B): 409, nothing for A or B, and
  // the code is gone.
  const forwarded = await webSignIn(worker, standin, "abuse-web-a");
  assert.ok(forwarded.code, `a code: ${forwarded.response.status}`);
  const mismatch = await redeem(worker, forwarded.code, "abuse-web-b");
  assert.equal(mismatch.status, 409);
  assert.equal((await mismatch.json()).error.code, "subject_mismatch");
  assert.equal((await redeem(worker, forwarded.code, "abuse-web-a")).status, 404, "discarded");
  assert.equal(await linkOf(worker, "abuse-web-a"), null);
  assert.equal(await linkOf(worker, "abuse-web-b"), null);
  // Guessed codes are 404.
  for (const code of ["", "x", forwarded.signInCode, forwarded.state, "A".repeat(43)]) {
    const response = await redeem(worker, code, "abuse-web-a");
    assert.ok([400, 404].includes(response.status), `${JSON.stringify(code)}: ${response.status}`);
  }
  // A phone-bound journey completed by another recognized user: 409, nothing stored, still usable.
  const phone = "+14155550777";
  const owner = standin.registerPhone(phone);
  const journey = await newJourney(worker, "abuse-phone", { phoneCandidates: [phone] });
  const intruder = standin.issueToken();
  const taken = await complete(worker, { token: intruder.token, userId: intruder.userId, agent: AGENT, journeyId: journey.journeyId });
  assert.equal(taken.status, 409);
  assert.equal((await taken.json()).error.code, "phone_mismatch");
  assert.equal(await linkOf(worker, "abuse-phone"), null);
  const real = standin.issueToken({ userId: owner.userId });
  assert.equal((await complete(worker, { token: real.token, userId: real.userId, agent: AGENT, journeyId: journey.journeyId })).status, 200);
  assert.equal((await linkOf(worker, "abuse-phone")).userId, owner.userId);
  // A confirmation journey: the word from another conversation, or a wrong word, does nothing.
  const wordJourney = await newJourney(worker, "abuse-word");
  const someone = standin.issueToken();
  const pending = await complete(worker, { token: someone.token, userId: someone.userId, agent: AGENT, journeyId: wordJourney.journeyId });
  assert.deepEqual(await pending.json(), { ok: true, linked: false, pending: true });
  const wrong = String((Number(wordJourney.confirmation) + 1) % 1_000_000).padStart(6, "0");
  assert.equal((await (await confirm(worker, "abuse-word", wrong)).json()).linked, false, "a wrong word");
  assert.equal((await (await confirm(worker, "abuse-other", wordJourney.confirmation)).json()).linked, false, "another subject");
  assert.equal((await (await confirm(worker, "abuse-word", `${wordJourney.confirmation}0`)).json()).linked, false, "part of a longer number");
  assert.equal(await linkOf(worker, "abuse-word"), null);
  assert.equal(await linkOf(worker, "abuse-other"), null);
  // A second user completing the same journey while one is pending: both discarded.
  const second = standin.issueToken();
  const conflict = await complete(worker, { token: second.token, userId: second.userId, agent: AGENT, journeyId: wordJourney.journeyId });
  assert.equal(conflict.status, 409);
  assert.equal((await conflict.json()).error.code, "completion_conflict");
  assert.equal((await (await confirm(worker, "abuse-word", wordJourney.confirmation)).json()).linked, false);
  assert.equal(await linkOf(worker, "abuse-word"), null);
  // binding "none" never replaces another user's link.
  const none = await newJourney(worker, "abuse-phone", { binding: "none" });
  const replacer = standin.issueToken();
  const replaced = await complete(worker, { token: replacer.token, userId: replacer.userId, agent: AGENT, journeyId: none.journeyId });
  assert.equal(replaced.status, 409);
  assert.equal((await replaced.json()).error.code, "link_conflict");
  assert.equal((await linkOf(worker, "abuse-phone")).userId, owner.userId);
  // The OAuth subjects are written by the OAuth callback alone.
  for (const [method, path, body] of AGENT_ROUTES.filter(([, , body]) => body?.subject)) {
    const response = await agentApi(worker, method, path, { ...body, subject: "configure:someone" });
    assert.equal(response.status, 400, path);
    assert.equal((await response.json()).error.field, "subject", path);
  }
});

test("public routes are rate limited per client: 429 with Retry-After", async () => {
  const limited = await startStack({ rateLimit: { limit: 5, period: 60 }, standin: stack.standin });
  try {
    const from = (ip) => ({ headers: { "cf-connecting-ip": ip } });
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await complete(limited.worker, { token: "t", userId: "u", journeyId: "j" }, from("203.0.113.9"))).status);
    }
    // An unknown journey is 404 (read before the token), until the limit.
    assert.deepEqual(statuses.slice(0, 5), [404, 404, 404, 404, 404]);
    assert.ok(statuses.slice(5).every((s) => s === 429), statuses.join(","));
    const last = await complete(limited.worker, { token: "t", userId: "u", journeyId: "j" }, from("203.0.113.9"));
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers.get("retry-after")) > 0);
    assert.equal((await last.json()).error.code, "rate_limited");
    assert.equal(last.headers.get("access-control-allow-origin"), SIGN_IN, "a limited browser still reads the answer");
    // Another client is not affected; nor is the authenticated agent API.
    assert.equal((await complete(limited.worker, { token: "t", userId: "u", journeyId: "j" }, from("198.51.100.2"))).status, 404);
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

test("failed bearer checks are rate limited per client: 429 with Retry-After instead of 401", async () => {
  const limited = await startStack({ rateLimit: { limit: 5, period: 60 }, standin: stack.standin });
  try {
    const from = (ip) => ({ "cf-connecting-ip": ip });
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      const [method, path, body] = AGENT_ROUTES[i % AGENT_ROUTES.length];
      statuses.push((await agentApi(limited.worker, method, path, body, { secret: `guess-${i}`, headers: from("203.0.113.50") })).status);
    }
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.ok(statuses.slice(5).every((s) => s === 429), statuses.join(","));
    for (const [method, path, body] of AGENT_ROUTES) {
      const last = await agentApi(limited.worker, method, path, body, { secret: "guess", headers: from("203.0.113.50") });
      assert.equal(last.status, 429, path);
      assert.ok(Number(last.headers.get("retry-after")) > 0);
      assert.equal((await last.json()).error.code, "rate_limited");
    }
    // The right secret is not a failed check; another client is not affected.
    assert.equal((await agentApi(limited.worker, "GET", "/v1/links/nobody", undefined, { headers: from("203.0.113.50") })).status, 404);
    assert.equal((await agentApi(limited.worker, "GET", "/v1/links/nobody", undefined, { secret: "guess", headers: from("198.51.100.7") })).status, 401);
    console.log(`agent API: ${statuses.filter((s) => s === 429).length + AGENT_ROUTES.length} guesses after the limit answered 429`);
  } finally {
    await limited.stop();
  }
});
