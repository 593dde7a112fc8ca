// The Configure stand-in's refresh-token grant (rotation, invalid_grant),
// its short-lived access tokens (expiresIn), its late answers (delayMs) and
// its request counters, in-process and over /__standin/ as `make dev` runs it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startStandin, STANDIN_OAUTH_CLIENT } from "../support/configure-standin.mjs";
import { freePort } from "../support/ports.mjs";

const API_KEY = "sk_test_standin_refresh";
const RESOURCE = "https://api.configure.dev";
const REDIRECT_URI = "http://127.0.0.1:9/cb";
const { clientId, clientSecret } = STANDIN_OAUTH_CLIENT;

let standin;
before(async () => {
  standin = await startStandin({ apiKey: API_KEY, agent: "my-agent" });
  standin.registerOAuthClient({ clientId, clientSecret, redirectUris: [REDIRECT_URI] });
});
after(async () => {
  await standin?.close();
});

const tokenRequest = (url, fields, auth = `${clientId}:${clientSecret}`) =>
  fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
    body: new URLSearchParams(fields),
  });
const refresh = (refreshToken, extra = {}, auth) =>
  tokenRequest(standin.url, { grant_type: "refresh_token", refresh_token: refreshToken, resource: RESOURCE, ...extra }, auth);
const introspect = async (token) =>
  (await (await fetch(`${standin.url}/oauth/introspect`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) })).json()).active;

/** A login through the authorize page and the code grant: the token answer. */
async function signIn(name = "Pat") {
  const verifier = randomBytes(32).toString("base64url");
  const params = {
    response_type: "code", client_id: clientId, redirect_uri: REDIRECT_URI, scope: "profile.read", state: "st",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256", resource: RESOURCE,
  };
  const approved = await fetch(`${standin.url}/oauth/authorize`, {
    method: "POST", redirect: "manual", body: new URLSearchParams({ ...params, decision: "approve", name, email: "pat@example.com", sub: "sub_pat" }),
  });
  const code = new URL(approved.headers.get("location")).searchParams.get("code");
  const answer = await tokenRequest(standin.url, { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier, resource: RESOURCE });
  assert.equal(answer.status, 200);
  return answer.json();
}

test("refresh tokens rotate: each redeems once for new tokens of the same user, a used one is invalid_grant", async () => {
  standin.clearRequests();
  const first = await signIn();
  assert.equal(first.expires_in, 3600);
  assert.ok(standin.refreshTokenLive(first.refresh_token));

  const answer = await refresh(first.refresh_token);
  assert.equal(answer.status, 200);
  const second = await answer.json();
  assert.equal(second.token_type, "Bearer");
  assert.equal(second.expires_in, 3600);
  assert.notEqual(second.access_token, first.access_token);
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.equal(await introspect(second.access_token), true);
  const introspection = await (await fetch(`${standin.url}/oauth/introspect`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: second.access_token }) })).json();
  assert.equal(introspection.sub, "sub_pat");
  const profile = await fetch(`${standin.url}/v1/profile?sections=identity`, {
    headers: { "x-api-key": API_KEY, "x-agent": "my-agent", authorization: `Bearer ${second.access_token}` },
  });
  assert.deepEqual((await profile.json()).identity, { name: "Pat", email: "pat@example.com" });

  const reused = await refresh(first.refresh_token);
  assert.equal(reused.status, 400);
  assert.equal((await reused.json()).error, "invalid_grant");
  assert.equal((await (await refresh("cfgort_unknown")).json()).error, "invalid_grant");
  assert.ok(!standin.refreshTokenLive(first.refresh_token));

  // Refusals that leave the refresh token usable: the wrong client, another resource.
  assert.equal((await refresh(second.refresh_token, {}, `${clientId}:wrong`)).status, 401);
  const otherResource = await refresh(second.refresh_token, { resource: "https://other.example" });
  assert.deepEqual([otherResource.status, (await otherResource.json()).error], [400, "invalid_target"]);
  standin.registerOAuthClient({ clientId: "c2", clientSecret: "s2", redirectUris: [] });
  assert.equal((await (await refresh(second.refresh_token, {}, "c2:s2")).json()).error, "invalid_grant", "another client's token");
  assert.ok(standin.refreshTokenLive(second.refresh_token));
  const third = await (await refresh(second.refresh_token)).json();
  assert.ok(third.refresh_token);

  const { refreshToken } = standin.issueRefreshToken({ sub: "sub_direct", name: "Dee" });
  const direct = await (await refresh(refreshToken)).json();
  assert.equal((await (await fetch(`${standin.url}/oauth/introspect`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: direct.access_token }) })).json()).sub, "sub_direct");

  assert.deepEqual(standin.counts, { exchangeRequests: 0, tokenRequests: 9, codeGrantRequests: 1, refreshRequests: 8 });
  standin.clearRequests();
  assert.deepEqual(standin.counts, { exchangeRequests: 0, tokenRequests: 0, codeGrantRequests: 0, refreshRequests: 0 });
});

test("expiresIn makes access tokens short-lived: answered as expires_in, inactive once it passes", async () => {
  assert.deepEqual(standin.setOptions({ expiresIn: 1 }), { expiresIn: 1, delayMs: 0 });
  try {
    const short = await signIn();
    assert.equal(short.expires_in, 1);
    assert.equal(await introspect(short.access_token), true);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await introspect(short.access_token), false, "expired");
    const profile = await fetch(`${standin.url}/v1/profile?sections=identity`, {
      headers: { "x-api-key": API_KEY, "x-agent": "my-agent", authorization: `Bearer ${short.access_token}` },
    });
    assert.equal(profile.status, 401);
    standin.setOptions({ expiresIn: 600 });
    const renewed = await (await refresh(short.refresh_token)).json();
    assert.equal(renewed.expires_in, 600);
    assert.equal(await introspect(renewed.access_token), true);
  } finally {
    standin.setOptions({ expiresIn: 3600 });
  }
  assert.throws(() => standin.setOptions({ delayMs: -1 }), /delayMs must be a number >= 0/);
  assert.deepEqual(standin.options, { expiresIn: 3600, delayMs: 0 });
});

test("delayMs answers every API request late, counted as soon as it arrives", async () => {
  const { code } = standin.issueCode();
  standin.clearRequests();
  standin.setOptions({ delayMs: 300 });
  try {
    const started = Date.now();
    const exchange = (c) =>
      fetch(`${standin.url}/v1/auth/sign-in/exchange`, {
        method: "POST", headers: { "content-type": "application/json", "x-api-key": API_KEY, "x-agent": "my-agent" }, body: JSON.stringify({ code: c }),
      });
    const both = Promise.all([exchange(code), exchange(code)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(standin.counts.exchangeRequests, 2, "both in flight");
    standin.setMode("ok"); // a mode change does not cut the delay short
    const statuses = (await both).map((r) => r.status).sort();
    assert.ok(Date.now() - started >= 290, `answered after ${Date.now() - started} ms`);
    assert.deepEqual(statuses, [200, 400], "the code is single use");
    // The control routes are not delayed.
    const controlStart = Date.now();
    await fetch(`${standin.url}/__standin/counts`);
    assert.ok(Date.now() - controlStart < 250);
  } finally {
    standin.setOptions({ delayMs: 0 });
  }
});

test("as a process: --expires-in and STANDIN_DELAY_MS, /__standin/options, /__standin/counts, /__standin/refresh-tokens", async (t) => {
  const script = fileURLToPath(new URL("../support/configure-standin.mjs", import.meta.url));
  const port = await freePort();
  const child = spawn(process.execPath, [script, "--port", String(port), "--api-key", API_KEY, "--expires-in", "42"], {
    env: { ...process.env, STANDIN_DELAY_MS: "150" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => child.kill());
  await once(child.stdout, "data");
  const url = `http://127.0.0.1:${port}`;
  const control = async (method, path, body) =>
    (await fetch(`${url}/__standin/${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) })).json();
  assert.deepEqual(await control("GET", "options"), { expiresIn: 42, delayMs: 150 });
  const { refreshToken } = await control("POST", "refresh-tokens", { sub: "sub_proc" });
  const started = Date.now();
  const answer = await tokenRequest(url, { grant_type: "refresh_token", refresh_token: refreshToken, resource: RESOURCE });
  assert.ok(Date.now() - started >= 140, "delayed");
  assert.equal((await answer.json()).expires_in, 42);
  assert.deepEqual(await control("GET", "counts"), { exchangeRequests: 0, tokenRequests: 1, codeGrantRequests: 0, refreshRequests: 1 });
  assert.deepEqual(await control("POST", "options", { delayMs: 0, expiresIn: 5 }), { expiresIn: 5, delayMs: 0 });
  const reused = await tokenRequest(url, { grant_type: "refresh_token", refresh_token: refreshToken, resource: RESOURCE });
  assert.equal((await reused.json()).error, "invalid_grant");
  assert.equal((await control("GET", "counts")).refreshRequests, 2);
  assert.equal((await fetch(`${url}/__standin/options`, { method: "POST", body: JSON.stringify({ delayMs: "x" }) })).status, 400);
});
