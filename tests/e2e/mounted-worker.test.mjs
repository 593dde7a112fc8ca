// The example under examples/mounted-worker: someone else's workers-rs
// Worker that serves its own routes and mounts every configure-edge route
// under its own Router (`configure_edge::worker::handle`), run under workerd
// with the KV binding configure-edge reads.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker, crateVersion } from "../support/worker.mjs";

const SECRET = "mounted-example-agent-secret-0123456789";
const bearer = { authorization: `Bearer ${SECRET}` };
let worker;
before(async () => {
  worker = await startWorker({
    bundle: "examples/mounted-worker/build",
    assets: false,
    vars: {
      CONFIGURE_AGENT: "my-agent",
      CONFIGURE_EDGE_API_SECRET: SECRET,
      CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
      CONFIGURE_PUBLISHABLE_KEY: "pk_test_mounted",
    },
  });
});
after(async () => {
  await worker?.dispose();
});

test("the app's own routes answer beside the mounted ones", async () => {
  const home = await worker.fetch("/");
  assert.equal(home.status, 200);
  assert.equal(await home.text(), "The app's own home page.");
  const hello = await worker.fetch("/app/hello/ada");
  assert.equal(await hello.text(), "Hello, ada, from the app's own route.");
  // A path neither side serves: the app's router answers it.
  assert.equal((await worker.fetch("/elsewhere")).status, 404);
});

test("configure-edge's routes answer under the app's router, with its bindings", async () => {
  const health = await worker.fetch("/healthz");
  assert.equal(health.status, 200);
  const body = await health.json();
  assert.equal(body.version, crateVersion());
  assert.equal(body.settings.CONFIGURE_KV, true);
  // The agent API, KV write and read included.
  const created = await worker.fetch("/v1/journeys", {
    method: "POST",
    headers: { ...bearer, "content-type": "application/json" },
    body: JSON.stringify({ subject: "mounted:1", binding: "none" }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const journey = await created.json();
  assert.match(journey.url, /journey=/);
  const stored = await (await worker.kv()).list();
  assert.equal(stored.keys.length, 1, "the journey is in the app's KV namespace");
  const link = await worker.fetch("/v1/links/mounted%3A1", { headers: bearer });
  assert.equal(link.status, 404);
  assert.equal((await link.json()).error.code, "link_not_found");
  // configure-edge's own 401, 404 and 405 under the mounted prefixes.
  assert.equal((await worker.fetch("/v1/links/x")).status, 401);
  const unknown = await worker.fetch("/v1/nothing-here");
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, "not_found");
  const wrong = await worker.fetch("/healthz", { method: "DELETE" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET, HEAD");
  // The webhook's CORS preflight, through the app's router.
  const preflight = await worker.fetch("/auth/configure/complete", {
    method: "OPTIONS",
    headers: { origin: "https://sign-in.me", "access-control-request-method": "POST" },
  });
  assert.equal(preflight.headers.get("access-control-allow-origin"), "https://sign-in.me");
});
