// The foundation under workerd: /healthz (settings presence and named
// problems), JSON errors, 404, 405 with Allow, malformed requests, and the
// static page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker, crateVersion } from "../support/worker.mjs";

const SECRET_VALUES = {
  CONFIGURE_API_KEY: "sk_test_must_never_show_4f2a",
  // >= 32 characters with >= 16 different ones, as the Worker requires.
  CONFIGURE_EDGE_API_SECRET: "edge-secret-must-never-show-9c1e-7b3d",
  CONFIGURE_AGENT: "my-agent",
};

let worker;
before(async () => {
  worker = await startWorker({ vars: SECRET_VALUES });
});
after(async () => {
  await worker?.dispose();
});

async function jsonError(response, status) {
  assert.equal(response.status, status);
  assert.match(response.headers.get("content-type"), /^application\/json/);
  const body = await response.json();
  assert.equal(body.ok, false);
  assert.equal(typeof body.error.code, "string");
  assert.equal(typeof body.error.message, "string");
  return body;
}

test("GET /healthz answers 200 with version and settings presence, never values", async () => {
  const response = await worker.fetch("/healthz");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^application\/json/);
  const text = await response.text();
  const body = JSON.parse(text);
  assert.equal(body.ok, true);
  assert.equal(body.version, crateVersion());
  assert.equal(body.settings.CONFIGURE_KV, true);
  assert.equal(body.settings.CONFIGURE_API_KEY, true);
  assert.equal(body.settings.CONFIGURE_EDGE_API_SECRET, true);
  assert.equal(body.settings.CONFIGURE_AGENT, true);
  assert.equal(body.settings.CONFIGURE_EDGE_SEALING_KEYS, false);
  assert.equal(body.settings.PUBLIC_URL, false);
  for (const value of Object.values(body.settings)) assert.equal(typeof value, "boolean");
  for (const secret of Object.values(SECRET_VALUES)) assert.ok(!text.includes(secret), "a setting value leaked");
  // PUBLIC_URL unset is named (the browser flows need it); ok stays true.
  assert.deepEqual(body.problems.map((p) => p.setting), ["PUBLIC_URL"]);
  assert.match(body.problems[0].problem, /^not set: /);
});

test("/healthz names a weak API secret and a non-loopback http URL; the agent API then answers 503", async () => {
  const weak = await startWorker({
    vars: { ...SECRET_VALUES, CONFIGURE_EDGE_API_SECRET: "edge-secret-too-short", PUBLIC_URL: "http://edge.example" },
  });
  try {
    const body = await (await weak.fetch("/healthz")).json();
    assert.equal(body.ok, true);
    const problems = Object.fromEntries(body.problems.map((p) => [p.setting, p.problem]));
    assert.deepEqual(Object.keys(problems).sort(), ["CONFIGURE_EDGE_API_SECRET", "PUBLIC_URL"]);
    assert.match(problems.CONFIGURE_EDGE_API_SECRET, /32 characters.*16 different/);
    assert.match(problems.PUBLIC_URL, /https/);
    // A weak secret counts as missing: even the right bearer gets 503, never a 401 to guess against.
    for (const secret of ["edge-secret-too-short", "wrong"]) {
      const response = await weak.fetch("/v1/links/s", { headers: { authorization: `Bearer ${secret}` } });
      const error = await jsonError(response, 503);
      assert.equal(error.error.code, "not_configured");
      assert.match(error.error.message, /CONFIGURE_EDGE_API_SECRET/);
    }
    // 32 characters but too few different ones is just as weak.
    const repetitive = await startWorker({ vars: { ...SECRET_VALUES, CONFIGURE_EDGE_API_SECRET: "abcd".repeat(10) } });
    try {
      const health = await (await repetitive.fetch("/healthz")).json();
      assert.ok(health.problems.some((p) => p.setting === "CONFIGURE_EDGE_API_SECRET"));
    } finally {
      await repetitive.dispose();
    }
  } finally {
    await weak.dispose();
  }
});

test("without PUBLIC_URL the web sign-in and setup answer 503; journeys still work; with it, no problem", async () => {
  const secret = SECRET_VALUES.CONFIGURE_EDGE_API_SECRET;
  const vars = {
    ...SECRET_VALUES,
    CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    ALLOWED_RETURN_ORIGINS: "https://app.example",
  };
  const post = (w, path, body) =>
    w.fetch(path, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const signIn = { subject: "s", returnAfter: "https://app.example/after" };
  const without = await startWorker({ vars });
  try {
    for (const path of ["/v1/sign-ins", "/v1/setup"]) {
      const error = await jsonError(await post(without, path, path === "/v1/setup" ? {} : signIn), 503);
      assert.equal(error.error.code, "not_configured", path);
      assert.match(error.error.message, /PUBLIC_URL/, path);
    }
    const page = await without.fetch("/auth/configure/sign-in?ticket=abc", { redirect: "manual" });
    assert.equal(page.status, 503);
    assert.match(page.headers.get("content-type"), /^text\/html/);
    assert.match(await page.text(), /PUBLIC_URL/);
    // Journeys fall back to the request's origin for the completion webhook.
    const journey = await post(without, "/v1/journeys", { subject: "s" });
    assert.equal(journey.status, 201);
    const { url } = await journey.json();
    assert.equal(new URL(url).searchParams.get("message_complete_url"), "http://127.0.0.1:8787/auth/configure/complete");
  } finally {
    await without.dispose();
  }
  for (const publicUrl of ["https://edge.example", "http://127.0.0.1:8787"]) {
    const withUrl = await startWorker({ vars: { ...vars, PUBLIC_URL: publicUrl } });
    try {
      assert.deepEqual((await (await withUrl.fetch("/healthz")).json()).problems, [], publicUrl);
      const created = await post(withUrl, "/v1/sign-ins", signIn);
      assert.equal(created.status, 201, `${publicUrl}: ${await created.clone().text()}`);
      assert.ok((await created.json()).url.startsWith(`${publicUrl}/auth/configure/sign-in?ticket=`));
    } finally {
      await withUrl.dispose();
    }
  }
});

test("HEAD /healthz answers 200 without a body", async () => {
  const response = await worker.fetch("/healthz", { method: "HEAD" });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "");
});

test("an unknown path is a JSON 404", async () => {
  for (const target of ["/nope", "/healthz/extra", "/v1/unknown?x=1", "/%ZZ", "/healthz%00"]) {
    const body = await jsonError(await worker.fetch(target), 404);
    assert.equal(body.error.code, "not_found", target);
  }
});

test("a wrong method is a JSON 405 with Allow", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    const response = await worker.fetch("/healthz", { method, body: method === "POST" ? "{}" : undefined });
    const body = await jsonError(response, 405);
    assert.equal(response.headers.get("allow"), "GET, HEAD", method);
    assert.equal(body.error.code, "method_not_allowed");
  }
});

test("malformed requests get JSON errors, not crashes", async () => {
  // An unusual method on an unknown path.
  await jsonError(await worker.fetch("/nope", { method: "PROPFIND" }), 404);
  // Binary garbage as a body, wrong content type, on an unknown route.
  await jsonError(
    await worker.fetch("/v1/journeys-typo", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([0xff, 0xfe, 0x00, 0x80]),
    }),
    404,
  );
  // A very long path and query.
  await jsonError(await worker.fetch("/" + "a".repeat(8000) + "?" + "b=%".repeat(500)), 404);
  // The Worker still answers after all of it.
  assert.equal((await worker.fetch("/healthz")).status, 200);
});

test("GET / serves the static page from www/", async () => {
  const response = await worker.fetch("/");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^text\/html/);
  assert.match(await response.text(), /configure-edge/);
});
