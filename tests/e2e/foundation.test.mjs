// The foundation under workerd: /healthz, JSON errors, 404, 405 with Allow,
// malformed requests, and the static page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, crateVersion } from "./support/worker.mjs";

const SECRET_VALUES = {
  CONFIGURE_API_KEY: "sk_test_must_never_show_4f2a",
  CONFIGURE_EDGE_API_SECRET: "edge-secret-must-never-show-9c1e",
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
