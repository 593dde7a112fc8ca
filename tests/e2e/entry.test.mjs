// The built Worker bundle (build/index.js: worker/index.js with the
// wasm-bindgen glue) imported as deployed and driven directly in Node, with
// plain-object bindings: what happens when the wasm instance fails while it
// answers, which workerd cannot be made to do on purpose.
import { test } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ROOT } from "./support/worker.mjs";

register("./support/wasm-module-hooks.mjs", import.meta.url);
const { default: worker } = await import(pathToFileURL(path.join(ROOT, "build/index.js")).href);

const SECRET = "entry-test-agent-secret-0123456789";

function memoryKv() {
  const entries = new Map();
  return {
    entries,
    get: async (key) => entries.get(key) ?? null,
    put: async (key, value) => void entries.set(key, value),
    delete: async (key) => void entries.delete(key),
  };
}

function envWith(kv) {
  return {
    CONFIGURE_KV: kv,
    CONFIGURE_AGENT: "my-agent",
    CONFIGURE_API_KEY: "sk_test_entry",
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    CONFIGURE_PUBLISHABLE_KEY: "pk_test_entry",
  };
}

const bearer = { authorization: `Bearer ${SECRET}` };
const createJourney = (env) =>
  worker.fetch(
    new Request("https://edge.example/v1/journeys", {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ subject: "entry-test" }),
    }),
    env,
  );

test("requests, bodies and answers cross the entry intact", async () => {
  const kv = memoryKv();
  const env = envWith(kv);
  const created = await createJourney(env);
  assert.equal(created.status, 201);
  assert.match(created.headers.get("content-type"), /^application\/json/);
  const { journeyId, url } = await created.json();
  assert.match(journeyId, /^[A-Za-z0-9_-]{43}$/);
  assert.match(url, /journey=/);
  assert.equal(kv.entries.size, 1, "the journey is stored, sealed");
  const [stored] = kv.entries.values();
  assert.ok(!stored.includes("entry-test"), "the subject is not stored in plain text");
  const wrong = await worker.fetch(new Request("https://edge.example/healthz", { method: "DELETE" }), env);
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET, HEAD");
});

test("a wasm failure mid-request answers 500, and the next request gets a fresh instance", async () => {
  const kv = memoryKv();
  // A binding that breaks the contract (get must return a promise): the
  // exception is thrown inside the wasm while the future is polled, where
  // no caller can catch it. Before the entry guarded against it, such a
  // request never settled and the instance kept serving.
  const broken = { ...kv, get: () => "not a promise" };
  let timer;
  const failed = await Promise.race([
    worker.fetch(new Request("https://edge.example/v1/links/some-subject", { headers: bearer }), envWith(broken)),
    new Promise((resolve) => (timer = setTimeout(() => resolve("no answer"), 5_000))),
  ]);
  clearTimeout(timer);
  assert.notEqual(failed, "no answer", "the request must settle");
  assert.equal(failed.status, 500);
  assert.equal((await failed.json()).error.code, "internal_error");
  // The next requests are answered by a fresh instance, KV round trip included.
  const env = envWith(kv);
  const health = await worker.fetch(new Request("https://edge.example/healthz"), env);
  assert.equal(health.status, 200);
  assert.equal((await createJourney(env)).status, 201);
  assert.equal(kv.entries.size, 1);
});
