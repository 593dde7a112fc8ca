// The built Worker bundle (build/index.js: worker-build's shim with the
// wasm-bindgen glue) imported as deployed and driven directly in Node, with
// plain-object bindings: what happens when the wasm instance fails while it
// answers, which workerd cannot be made to do on purpose, and how bodies are
// read, with streams the test controls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ROOT } from "../support/worker.mjs";

register("../support/wasm-module-hooks.mjs", import.meta.url);
const { default: Worker } = await import(pathToFileURL(path.join(ROOT, "build/index.js")).href);
const { executionContext, raiseUncaught } = await import("cloudflare:workers");

/** The Worker as workerd drives it: one entrypoint per request, with its ctx. */
const worker = {
  fetch: (request, env, ctx = executionContext()) => new Worker(ctx, env).fetch(request),
};

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

test("a wasm failure mid-request is reported to the runtime, and the next request gets a fresh instance", async () => {
  const kv = memoryKv();
  // A binding that breaks the contract (get must return a promise): the
  // exception is thrown inside the wasm while the future is polled, where
  // no caller can catch it, and the instance's memory can no longer be
  // trusted. wasm-bindgen's abort handler schedules a reset; the exception
  // reaches the runtime as an uncaught error, which workerd reports as the
  // global `error` event and answers the hung request with a 500 (the
  // request can never settle). Node has no such watchdog, so the test plays
  // workerd's part: it raises the event and stops waiting for the request.
  const broken = { ...kv, get: () => "not a promise" };
  const instanceBefore = globalThis.__worker_init_state.instanceId;
  // The runtime's part: the test runner's own listeners (which would fail
  // the file) step aside while the test takes the uncaught error.
  const runnerListeners = process.listeners("uncaughtException");
  process.removeAllListeners("uncaughtException");
  let uncaught;
  const reported = new Promise((resolve) => {
    uncaught = (error) => {
      raiseUncaught(error);
      resolve(error);
    };
    process.once("uncaughtException", uncaught);
  });
  let timer;
  const outcome = await Promise.race([
    worker.fetch(new Request("https://edge.example/v1/links/some-subject", { headers: bearer }), envWith(broken)).then(
      (response) => ({ response }),
    ),
    reported.then((error) => ({ error })),
    new Promise((resolve) => (timer = setTimeout(() => resolve({ none: true }), 5_000))),
  ]);
  clearTimeout(timer);
  process.removeListener("uncaughtException", uncaught);
  for (const listener of runnerListeners) process.on("uncaughtException", listener);
  assert.ok(!outcome.none, "the failure must surface within 5 s");
  assert.ok(!outcome.response || outcome.response.status >= 500, "never a success");
  if (outcome.error) assert.match(String(outcome.error.message ?? outcome.error), /Critical error|RuntimeError|unreachable/);
  // The next requests are answered by a fresh instance, KV round trip included.
  const env = envWith(kv);
  const health = await worker.fetch(new Request("https://edge.example/healthz"), env);
  assert.equal(health.status, 200);
  assert.ok(globalThis.__worker_init_state.instanceId > instanceBefore, "a fresh instance answered");
  assert.equal((await createJourney(env)).status, 201);
  assert.equal(kv.entries.size, 1);
});

// Bodies: the entry reads a body only up to its route's limit (webhook
// 16 KiB, agent API 64 KiB, routes without a body: nothing). Each request
// below carries a stream the test controls; a regression (the entry reading
// the whole body) shows as no answer within the deadline, not a hang.

const NO_ANSWER = Symbol("no answer");

/** `promise`'s value, or a failed assertion after `ms`. */
async function within(ms, promise, what) {
  let timer;
  const result = await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(() => resolve(NO_ANSWER), ms)))]);
  clearTimeout(timer);
  assert.notEqual(result, NO_ANSWER, `${what}: no answer within ${ms} ms`);
  return result;
}

/**
 * A request body the test watches: `endless` yields 1 KiB chunks for as
 * long as it is read (one a macrotask, so timers still run); `silent` never
 * yields anything. Pulled only on demand (highWaterMark 0); `stop()` ends it
 * with an error so nothing outlives the test.
 */
function watchedBody(kind) {
  const chunk = new Uint8Array(1024).fill(0x20);
  const watch = { pulls: 0, bytes: 0, cancelled: false, stopped: false, waiting: [] };
  watch.stream = new ReadableStream(
    {
      async pull(controller) {
        watch.pulls += 1;
        if (kind === "silent" && !watch.stopped) await new Promise((resolve) => watch.waiting.push(resolve));
        else await new Promise((resolve) => setImmediate(resolve));
        if (watch.stopped) return controller.error(new Error("the test is over"));
        watch.bytes += chunk.byteLength;
        controller.enqueue(chunk.slice());
      },
      cancel() {
        watch.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  watch.stop = () => {
    watch.stopped = true;
    watch.waiting.splice(0).forEach((resolve) => resolve());
  };
  return watch;
}

const streamed = (target, body, { method = "POST", headers = {} } = {}) =>
  new Request(`https://edge.example${target}`, {
    method,
    headers: { "content-type": "application/json", origin: "https://sign-in.me", ...headers },
    body,
    duplex: "half",
  });

async function payloadTooLarge(response) {
  assert.equal(response.status, 413);
  const body = await response.json();
  assert.equal(body.ok, false);
  assert.equal(body.error.code, "payload_too_large");
  return body;
}

test("an endless webhook body without Content-Length is cut off at 16 KiB: 413, stream cancelled", async () => {
  const env = envWith(memoryKv());
  const body = watchedBody("endless");
  try {
    const started = Date.now();
    const response = await within(3_000, worker.fetch(streamed("/auth/configure/complete", body.stream), env), "endless body");
    const json = await payloadTooLarge(response);
    assert.equal(json.linked, false, "the webhook's answer shape");
    assert.equal(response.headers.get("access-control-allow-origin"), "https://sign-in.me", "with CORS");
    assert.ok(Date.now() - started < 3_000);
    assert.ok(body.cancelled, "the stream is cancelled");
    assert.ok(body.bytes > 16 * 1024 && body.bytes <= 18 * 1024, `read just past the limit, not more (${body.bytes} bytes)`);
  } finally {
    body.stop();
  }
});

test("a Content-Length over the limit is 413 before a byte is read", async () => {
  const env = envWith(memoryKv());
  const cases = [
    ["/auth/configure/complete", String(16 * 1024 + 1)],
    ["/auth/configure/complete", "1000000000"],
    ["/v1/journeys", String(64 * 1024 + 1)],
  ];
  for (const [target, length] of cases) {
    const body = watchedBody("silent");
    try {
      const request = streamed(target, body.stream, { headers: { ...bearer, "content-length": length } });
      assert.equal(request.headers.get("content-length"), length);
      const response = await within(3_000, worker.fetch(request, env), `${target} with Content-Length ${length}`);
      await payloadTooLarge(response);
      assert.equal(body.pulls, 0, "nothing was read");
      assert.ok(body.cancelled, "the body is cancelled");
    } finally {
      body.stop();
    }
  }
});

test("a route without a body reads none: DELETE /v1/links with an endless body answers at once", async () => {
  const env = envWith(memoryKv());
  const body = watchedBody("endless");
  try {
    const request = streamed("/v1/links/entry-test", body.stream, { method: "DELETE", headers: bearer });
    const response = await within(3_000, worker.fetch(request, env), "DELETE with an endless body");
    assert.equal(response.status, 204);
    assert.equal(body.pulls, 0, "nothing was read");
  } finally {
    body.stop();
  }
});

test("bodies under the limit still reach the core, streamed or not", async () => {
  const env = envWith(memoryKv());
  const completion = JSON.stringify({ token: "cfgtok_x", userId: "user_1", agent: "my-agent", journeyId: "no-such-journey" });
  // With Content-Length: the core parses it and looks the journey up.
  const plain = await worker.fetch(streamed("/auth/configure/complete", completion), env);
  assert.equal(plain.status, 404);
  assert.equal((await plain.json()).error.code, "journey_not_found");
  // Streamed in small pieces without Content-Length: the same answer.
  const bytes = new TextEncoder().encode(completion);
  const pieces = new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 7) controller.enqueue(bytes.slice(at, at + 7));
      controller.close();
    },
  });
  const piecewise = await within(3_000, worker.fetch(streamed("/auth/configure/complete", pieces), env), "small stream");
  assert.equal(piecewise.status, 404);
  assert.equal((await piecewise.json()).error.code, "journey_not_found");
  // The core's own refusals, not 413.
  const wrongType = await worker.fetch(streamed("/auth/configure/complete", completion, { headers: { "content-type": "text/plain" } }), env);
  assert.equal(wrongType.status, 415);
  const broken = await worker.fetch(streamed("/auth/configure/complete", "{not json"), env);
  assert.equal(broken.status, 400);
  // 20 KiB: over the webhook's limit, under the agent API's.
  const big = JSON.stringify({ subject: "s".repeat(20 * 1024) });
  await payloadTooLarge(await worker.fetch(streamed("/auth/configure/complete", big), env));
  const journey = await worker.fetch(streamed("/v1/journeys", big, { headers: bearer }), env);
  assert.equal(journey.status, 400);
  assert.equal((await journey.json()).error.field, "subject");
  // And a journey still gets created.
  assert.equal((await createJourney(env)).status, 201);
});

test("a body shorter than its Content-Length (a cut-off upload) is 400 on the route's surface, never acted on", async () => {
  const kv = memoryKv();
  const env = envWith(kv);
  const whole = new TextEncoder().encode(JSON.stringify({ subject: "cut-off" }));
  const short = new ReadableStream({
    start(controller) {
      controller.enqueue(whole);
      controller.close();
    },
  });
  const request = streamed("/v1/journeys", short, { headers: { ...bearer, "content-length": String(whole.length + 40) } });
  const response = await within(3_000, worker.fetch(request, env), "cut-off body");
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error.code, "bad_request");
  assert.equal(kv.entries.size, 0, "no journey from a cut-off body");
  // The same body with its true length is a journey.
  const exact = streamed("/v1/journeys", whole, { headers: { ...bearer, "content-length": String(whole.length) } });
  assert.equal((await worker.fetch(exact, env)).status, 201);
});

test("settings are read from env on every request: a changed value on the same env object takes effect", async () => {
  // A Worker that mounts these routes may hand over one env object whose
  // values change; the parsed settings must follow the values, not the object.
  const env = envWith(memoryKv());
  const first = await worker.fetch(new Request("https://edge.example/v1/links/s", { headers: bearer }), env);
  assert.equal(first.status, 404, "the first secret is accepted");
  env.CONFIGURE_EDGE_API_SECRET = "another-agent-secret-abcdefghijklmnopqrstuv";
  const old = await worker.fetch(new Request("https://edge.example/v1/links/s", { headers: bearer }), env);
  assert.equal(old.status, 401, "the old secret no longer opens the agent API");
  const fresh = await worker.fetch(
    new Request("https://edge.example/v1/links/s", { headers: { authorization: `Bearer ${env.CONFIGURE_EDGE_API_SECRET}` } }),
    env,
  );
  assert.equal(fresh.status, 404);
});
