// The Configure stand-in speaks the protocol: the official SDK's auth
// methods, pointed at it with baseUrl, get the answers they expect.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Configure, ConfigureError } from "configure";
import { startStandin } from "../standin/configure-standin.mjs";

const API_KEY = "sk_test_standin_protocol";
let standin;
let configure;

before(async () => {
  standin = await startStandin({ apiKey: API_KEY, agent: "my-agent" });
  configure = new Configure({ apiKey: API_KEY, agent: "my-agent", baseUrl: standin.url });
});
after(async () => {
  await standin.close();
});

test("validateSignInToken: valid tokens of this agent, invalid otherwise", async () => {
  const { token, userId } = standin.issueToken();
  assert.deepEqual(await configure.auth.validateSignInToken(token), {
    valid: true, userId, tokenUse: "agent", approved: true, agent: "my-agent",
  });
  assert.equal((await configure.auth.validateSignInToken("cfgtok_unknown")).valid, false);
  const request = standin.requests.at(-1);
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/v1/auth/sign-in/validate");
  assert.equal(request.headers["x-api-key"], API_KEY);
  assert.equal(request.headers["x-agent"], "my-agent");
  assert.equal(request.headers["content-type"], "application/json");
});

test("exchangeSignInCode: a code exchanges once", async () => {
  const { code, userId } = standin.issueCode();
  const linked = await configure.auth.exchangeSignInCode(code);
  assert.equal(linked.userId, userId);
  assert.equal(linked.agent, "my-agent");
  assert.match(linked.token, /^cfgtok_/);
  assert.equal((await configure.auth.validateSignInToken(linked.token)).valid, true);
  await assert.rejects(configure.auth.exchangeSignInCode(code), (error) => error instanceof ConfigureError && error.code === "INVALID_INPUT");
});

test("recognizePhone and resolveMessageIdentity", async () => {
  const { userId } = standin.registerPhone("+14155551234", { displayName: "Pat" });
  const recognition = await configure.auth.recognizePhone([" +14155551234 ", "+14155551234"]);
  assert.equal(recognition.approved, true);
  assert.equal(recognition.userId, userId);
  assert.equal(recognition.displayName, "Pat");
  assert.equal(recognition.phoneCandidateCount, 1);
  assert.deepEqual(standin.requests.at(-1).json, { candidates: ["+14155551234"] });
  const identity = await configure.auth.resolveMessageIdentity({ externalId: "x:1", phoneCandidates: ["+14155551234"] });
  assert.equal(identity.source, "phone_recognition");
  const unknown = await configure.auth.resolveMessageIdentity({ externalId: "x:2", phoneCandidates: ["+19995550000"] });
  assert.equal(unknown.source, "external_id");
});

test("return destinations: allow, list, remove", async () => {
  const allowed = await configure.auth.allowSignInReturnTo("https://app.example/api/configure/callback");
  assert.equal(allowed.destination, "https://app.example/api/configure/callback");
  assert.ok(allowed.createdAt);
  const list = await configure.auth.listSignInReturnDestinations();
  assert.deepEqual(list.destinations.map((d) => d.destination), ["https://app.example/api/configure/callback"]);
  assert.equal(standin.requests.at(-1).headers["content-type"], undefined, "the list call sends no Content-Type");
  const removed = await configure.auth.removeSignInReturnTo("https://app.example/api/configure/callback");
  assert.equal(removed.deleted, true);
});

test("failures map to the SDK's error codes", async () => {
  const wrongKey = new Configure({ apiKey: "sk_wrong", agent: "my-agent", baseUrl: standin.url });
  await assert.rejects(wrongKey.auth.validateSignInToken("t"), (e) => e.code === "AUTH_REQUIRED");
  standin.setMode("5xx");
  await assert.rejects(configure.auth.validateSignInToken("t"), (e) => e.code === "SERVER_ERROR" && e.statusCode === 503);
  standin.setMode("malformed");
  await assert.rejects(configure.auth.validateSignInToken("t"), (e) => e.code === "NETWORK_ERROR");
  standin.setMode("slow", { delayMs: 2000 });
  const impatient = new Configure({ apiKey: API_KEY, agent: "my-agent", baseUrl: standin.url, timeout: 100 });
  await assert.rejects(impatient.auth.validateSignInToken("t"), (e) => e.code === "TIMEOUT");
  standin.setMode("other-agent");
  const { token } = standin.issueToken();
  assert.equal((await configure.auth.validateSignInToken(token)).agent, "other-agent");
  standin.setMode("invalid-token");
  assert.equal((await configure.auth.validateSignInToken(token)).valid, false);
  await standin.down();
  await assert.rejects(configure.auth.validateSignInToken(token), (e) => e.code === "NETWORK_ERROR");
  await standin.up();
  assert.equal((await configure.auth.validateSignInToken(token)).valid, true);
});
