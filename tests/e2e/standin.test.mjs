// The Configure stand-in speaks the protocol: the official SDK's auth
// methods, pointed at it with baseUrl, get the answers they expect.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Configure, ConfigureError } from "configure";
import { startStandin } from "../support/configure-standin.mjs";

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

test("OAuth client PATCH: the SDK's ensureSsoCallback registers, sees it registered, and explains refusals", async () => {
  const { ensureSsoCallback } = await import("configure");
  const input = { redirectUri: "http://127.0.0.1:8787/auth/configure/oauth/callback", clientId: "cfg_client_standin", apiKey: API_KEY, baseUrl: standin.url };
  const first = await ensureSsoCallback(input);
  assert.equal(first.status, "registered");
  assert.ok(first.registered.includes(input.redirectUri));
  assert.equal((await ensureSsoCallback(input)).status, "already-registered");
  const request = standin.requests.at(-1);
  assert.equal(request.method, "PATCH");
  assert.equal(request.path, "/v1/developer/oauth/clients/cfg_client_standin");
  assert.deepEqual(request.json, { add_redirect_uris: [input.redirectUri] });
  const wrongKey = await ensureSsoCallback({ ...input, apiKey: "sk_wrong" });
  assert.equal(wrongKey.status, "failed");
  assert.match(wrongKey.reason, /^Configure rejected the API key \(Invalid API key\.\)/);
  const unknown = await ensureSsoCallback({ ...input, clientId: "cfg_nobody" });
  assert.equal(unknown.reason, 'No OAuth client "cfg_nobody" on the account that owns this API key. Check CONFIGURE_OAUTH_CLIENT_ID.');
});

test("OAuth authorize + token: PKCE S256, client_secret_basic, single-use codes, introspection and identity", async () => {
  const { createHash, randomBytes } = await import("node:crypto");
  const redirectUri = "http://127.0.0.1:9/cb";
  standin.registerOAuthClient({ clientId: "c1", clientSecret: "s1", redirectUris: [redirectUri] });
  const verifier = randomBytes(32).toString("base64url");
  const params = {
    response_type: "code", client_id: "c1", redirect_uri: redirectUri, scope: "profile.read", state: "st",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
    resource: "https://api.configure.dev",
  };
  const page = await fetch(`${standin.url}/oauth/authorize?${new URLSearchParams(params)}`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /LOCAL STAND-IN of accounts\.configure\.dev/);
  const refused = await fetch(`${standin.url}/oauth/authorize?${new URLSearchParams({ ...params, redirect_uri: "https://evil.example/cb" })}`);
  assert.equal(refused.status, 400);
  const approved = await fetch(`${standin.url}/oauth/authorize`, {
    method: "POST", redirect: "manual", body: new URLSearchParams({ ...params, decision: "approve", name: "Pat", email: "pat@example.com" }),
  });
  assert.equal(approved.status, 302);
  const back = new URL(approved.headers.get("location"));
  assert.equal(back.searchParams.get("state"), "st");
  const redeem = (form, auth = "c1:s1") => fetch(`${standin.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
    body: new URLSearchParams(form),
  });
  const form = { grant_type: "authorization_code", code: back.searchParams.get("code"), redirect_uri: redirectUri, code_verifier: verifier, resource: "https://api.configure.dev" };
  assert.equal((await redeem(form, "c1:wrong")).status, 401);
  assert.equal((await (await redeem({ ...form, code_verifier: "x" })).json()).error, "invalid_grant");
  // The failed attempt used the code up (single use), so authorize again.
  const again = await fetch(`${standin.url}/oauth/authorize`, { method: "POST", redirect: "manual", body: new URLSearchParams({ ...params, decision: "approve", name: "Pat", email: "pat@example.com" }) });
  const code = new URL(again.headers.get("location")).searchParams.get("code");
  const tokens = await (await redeem({ ...form, code })).json();
  assert.equal(tokens.token_type, "Bearer");
  assert.equal((await redeem({ ...form, code })).status, 400, "codes are single use");
  const introspection = await (await fetch(`${standin.url}/oauth/introspect`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: tokens.access_token }) })).json();
  assert.equal(introspection.active, true);
  const profile = await configure.profile({ token: tokens.access_token }).read({ sections: ["identity"] });
  assert.deepEqual({ ...profile.profile.identity }, { name: "Pat", email: "pat@example.com" });
});

test("the hosted-page stand-in shows the text-back it would send (message_body), escaped", async () => {
  const page = async (query) => {
    const response = await fetch(`${standin.url}/my-agent?${new URLSearchParams(query)}`);
    assert.equal(response.status, 200);
    return response.text();
  };
  const html = await page({ journey: "j1", delivery: "message", message_body: "done 482913" });
  assert.match(html, /LOCAL STAND-IN of sign-in\.me/);
  assert.match(html, /<p id="text-back">Text back: <strong>done 482913<\/strong><\/p>/);
  const hostile = await page({ journey: "j1", message_body: `<img src=x onerror="alert(1)"> & 'done' 482913` });
  assert.ok(!hostile.includes("<img"), "message_body is escaped");
  assert.match(hostile, /Text back: <strong>&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt; &amp; &#39;done&#39; 482913<\/strong>/);
  assert.doesNotMatch(await page({ journey: "j1" }), /Text back/, "no message_body, no text-back line");
});
