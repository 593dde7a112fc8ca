// Schema-driven bad input: schemathesis against the Worker under
// `wrangler dev` on 127.0.0.1 with the Configure stand-in, every operation
// of openapi.yaml, a bounded number of examples each, with the checks for
// server errors, undocumented status codes and response schema conformance.
//
// Random input alone never reaches the answers that need real state (a
// redeem code from a finished web sign-in, a journey with a good token, a
// pending completion's word), so before the run the harness makes that
// state and gives it to schemathesis as explicit examples (its "examples"
// phase), in a copy of openapi.yaml: redeems for the ticket's subject (200)
// and another (409 subject_mismatch), completions of journeys bound to
// nothing (200 linked), to a confirmation word (200 pending), to another
// user's phone (409 phone_mismatch) and over another user's link (409
// link_conflict), and the word that confirms a pending completion (200,
// source "webhook"). Schemathesis recombines the examples' fields (a good
// token with another journey), which reaches more: a second user on a
// pending journey (409 completion_conflict), replays (404). After the run
// the harness reads every exchange from schemathesis' HAR report and checks
// that each of these answers was reached.
// Prints `SCHEMATHESIS_RESULT {...}`; exits non-zero on any failure.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { freePort } from "../support/ports.mjs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startStandin, STANDIN_OAUTH_CLIENT } from "../support/configure-standin.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const EXAMPLES = Number(process.env.SCHEMATHESIS_EXAMPLES ?? 200);
// >= 32 characters with >= 16 distinct ones (a weaker one counts as missing).
const SECRET = "schemathesis-agent-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const APP = "https://app.example";
const SIGN_IN = "https://sign-in.me";
const API_KEY = "sk_test_schemathesis";


function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"], ...options });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-schemathesis-"));
const standin = await startStandin({ apiKey: API_KEY, agent: AGENT });
// The same Worker config, with a limit the fuzzer cannot reach (the 429
// path is checked by the abuse tests), serving a snapshot of the built
// Worker with no [build] step: an edit or rebuild in the tree while the run
// lasts neither reloads nor changes the Worker under test.
const snapshot = path.join(work, "build");
fs.mkdirSync(snapshot);
for (const file of ["index.js", "index_bg.wasm"]) fs.copyFileSync(path.join(ROOT, "build", file), path.join(snapshot, file));
const config = path.join(ROOT, "wrangler.reliability.toml");
fs.writeFileSync(
  config,
  fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8")
    .replace(/simple = \{ limit = \d+/, "simple = { limit = 1000000")
    .replace(/^main = .*$/m, `main = ${JSON.stringify(path.join(snapshot, "index.js"))}`)
    .replace(/^\[build\]\n(?:(?!\[).*\n)*/m, ""),
);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const vars = {
  CONFIGURE_AGENT: AGENT,
  CONFIGURE_API_KEY: API_KEY,
  CONFIGURE_BASE_URL: standin.url,
  CONFIGURE_EDGE_API_SECRET: SECRET,
  CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
  CONFIGURE_PUBLISHABLE_KEY: "pk_test_schemathesis",
  CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
  ALLOWED_RETURN_ORIGINS: APP,
  // The browser flows' URLs (loopback http is allowed).
  PUBLIC_URL: base,
  CONFIGURE_API_TIMEOUT_MS: "2000",
  // "Continue with Configure" against the stand-in's OAuth client.
  CONFIGURE_ACCOUNTS_ORIGIN: standin.url,
  CONFIGURE_OAUTH_CLIENT_ID: STANDIN_OAUTH_CLIENT.clientId,
  CONFIGURE_OAUTH_CLIENT_SECRET: STANDIN_OAUTH_CLIENT.clientSecret,
  CONFIGURE_EDGE_SESSION_KEYS: `s1:${randomBytes(32).toString("base64")}`,
};
const wrangler = spawn(
  "wrangler",
  [
    "dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--persist-to", path.join(work, "state"),
    "--show-interactive-dev-session=false", ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ],
  { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
);
let wranglerOutput = "";
wrangler.stdout.on("data", (d) => (wranglerOutput += d));
wrangler.stderr.on("data", (d) => (wranglerOutput += d));

const agentApi = (pathname, body) =>
  fetch(`${base}${pathname}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${SECRET}` },
    body: JSON.stringify(body),
  });
async function created(response, what) {
  if (response.status !== 201) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  return response.json();
}
const complete = (body) =>
  fetch(`${base}/auth/configure/complete`, { method: "POST", headers: { "content-type": "application/json", origin: SIGN_IN }, body: JSON.stringify(body) });

/** A finished web sign-in for `subject`: the configure_code its callback gave returnAfter. */
async function redeemCode(subject) {
  const { url } = await created(await agentApi("/v1/sign-ins", { subject, returnAfter: `${APP}/signed-in` }), "sign-in");
  const started = await fetch(url, { redirect: "manual" });
  const cookie = started.headers.getSetCookie().find((c) => c.startsWith("__Host-configure-edge-state="))?.split(";")[0];
  if (!cookie) throw new Error(`sign-in route: ${started.status} ${await started.text()}`);
  const state = cookie.split("=")[1];
  const { code } = standin.issueCode();
  const callback = await fetch(`${base}/api/configure/callback?code=${code}&state=${state}`, { headers: { cookie }, redirect: "manual" });
  const back = callback.status === 302 ? new URL(callback.headers.get("location")).searchParams.get("configure_code") : null;
  if (!back) throw new Error(`callback: ${callback.status} ${await callback.text()}`);
  return back;
}

/** The state the examples need, as request bodies per path. Subjects are unique to this run. */
async function prepareExamples() {
  const run = randomBytes(6).toString("hex");
  const subject = (name) => `st-${name}-${run}`;
  // Web: two codes for their own subject (200), one for another (409).
  const redeems = [];
  for (const [name, as] of [["redeem-1", null], ["redeem-2", null], ["redeem-forwarded", "st-someone-else"]]) {
    const own = subject(name);
    redeems.push({ subject: own, code: await redeemCode(own), as: as ?? own });
  }
  // Message: journeys and the completions schemathesis is to post.
  const journey = async (name, options) => ({ subject: subject(name), ...(await created(await agentApi("/v1/journeys", { subject: subject(name), ...options }), `journey ${name}`)) });
  const none = await journey("none", { binding: "none" });
  const pending = await journey("pending", { binding: "confirmation", messageBody: "yes" });
  const phone = "+14155550999";
  standin.registerPhone(phone); // another user's phone
  const phoneBound = await journey("phone", { phoneCandidates: [phone] });
  // A subject linked to one user; a binding-"none" journey over it.
  const taken = await journey("taken", { binding: "none" });
  const first = standin.issueToken();
  const linked = await complete({ ...first, agent: AGENT, journeyId: taken.journeyId });
  if (linked.status !== 200) throw new Error(`set-up completion: ${linked.status} ${await linked.text()}`);
  const conflict = await journey("taken", { binding: "none" });
  // A completion already pending: schemathesis sends its word.
  const waiting = await journey("waiting", {});
  const waitingToken = standin.issueToken();
  const kept = await (await complete({ ...waitingToken, agent: AGENT, journeyId: waiting.journeyId })).json();
  if (kept.pending !== true) throw new Error(`set-up completion: ${JSON.stringify(kept)}`);

  const tokens = { none: standin.issueToken(), pending: standin.issueToken(), phone: standin.issueToken(), conflict: standin.issueToken() };
  const completion = (j, t) => ({ token: t.token, userId: t.userId, agent: AGENT, journeyId: j.journeyId });
  const examples = {
    "/v1/sign-ins/redeem": Object.fromEntries(redeems.map((r, i) => [`redeem-${i}`, { code: r.code, subject: r.as }])),
    "/auth/configure/complete": {
      "binding-none": completion(none, tokens.none),
      "binding-confirmation": completion(pending, tokens.pending),
      "phone-of-another-user": completion(phoneBound, tokens.phone),
      "over-another-users-link": completion(conflict, tokens.conflict),
    },
    "/v1/identity/resolve": { "confirmation-word": { subject: waiting.subject, messageText: `done ${waiting.confirmation}` } },
    "/v1/journeys": {
      "phone-binding": { subject: subject("new-phone"), phoneCandidates: ["+14155550998"], messageBody: "done" },
      "binding-none": { subject: subject("new-none"), binding: "none" },
    },
    "/v1/sign-ins": { "with-return": { subject: subject("new-web"), returnAfter: `${APP}/after?x=1` } },
  };

  return examples;
}

/** The answers that need real state: each must be among the run's exchanges. */
const MUST_REACH = [
  ["POST /v1/sign-ins/redeem 200 linked", "POST", "/v1/sign-ins/redeem", 200, (b) => b?.linked === true && b.source === "callback"],
  ["POST /v1/sign-ins/redeem 409 subject_mismatch", "POST", "/v1/sign-ins/redeem", 409, (b) => b?.error?.code === "subject_mismatch"],
  ["POST /v1/sign-ins/redeem 404 code_not_found", "POST", "/v1/sign-ins/redeem", 404, (b) => b?.error?.code === "code_not_found"],
  ["POST /auth/configure/complete 200 linked", "POST", "/auth/configure/complete", 200, (b) => b?.linked === true],
  ["POST /auth/configure/complete 200 pending", "POST", "/auth/configure/complete", 200, (b) => b?.pending === true && b.linked === false],
  ["POST /auth/configure/complete 409 phone_mismatch", "POST", "/auth/configure/complete", 409, (b) => b?.error?.code === "phone_mismatch"],
  ["POST /auth/configure/complete 409 link_conflict", "POST", "/auth/configure/complete", 409, (b) => b?.error?.code === "link_conflict"],
  ["POST /auth/configure/complete 404 journey_not_found", "POST", "/auth/configure/complete", 404, (b) => b?.error?.code === "journey_not_found"],
  // Reached when schemathesis posts a good token of another example to the pending journey.
  ["POST /auth/configure/complete 409 completion_conflict (optional)", "POST", "/auth/configure/complete", 409, (b) => b?.error?.code === "completion_conflict"],
  ["POST /v1/identity/resolve 200 source webhook", "POST", "/v1/identity/resolve", 200, (b) => b?.source === "webhook" && b.linked === true],
  ["POST /v1/journeys 201 binding phone", "POST", "/v1/journeys", 201, (b) => b?.binding === "phone" && /^\d{6}$/.test(b.confirmation)],
  ["POST /v1/journeys 201 binding confirmation", "POST", "/v1/journeys", 201, (b) => b?.binding === "confirmation" && /^\d{6}$/.test(b.confirmation)],
  ["POST /v1/journeys 201 binding none", "POST", "/v1/journeys", 201, (b) => b?.binding === "none" && b.confirmation === undefined],
  ["POST /v1/sign-ins 201", "POST", "/v1/sign-ins", 201, (b) => typeof b?.url === "string" && b.url.startsWith(`${base}/auth/configure/sign-in?ticket=`)],
  ["POST /v1/sign-ins 400 returnAfter", "POST", "/v1/sign-ins", 400, (b) => b?.error?.field === "returnAfter"],
];

/** Per answer of MUST_REACH, how often the run reached it; and every status per operation. */
function reachedAnswers(harPath) {
  const { log } = JSON.parse(fs.readFileSync(harPath, "utf8"));
  const reached = Object.fromEntries(MUST_REACH.map(([name]) => [name, 0]));
  const statuses = {};
  for (const { request, response } of log.entries) {
    const pathname = new URL(request.url).pathname;
    const key = `${request.method} ${pathname.startsWith("/v1/links/") ? "/v1/links/{subject}" : pathname}`;
    statuses[key] ??= {};
    statuses[key][response.status] = (statuses[key][response.status] ?? 0) + 1;
    let body;
    try {
      body = JSON.parse(response.content?.text ?? "");
    } catch {}
    for (const [name, method, wanted, status, test] of MUST_REACH) {
      if (request.method === method && pathname === wanted && response.status === status && test(body)) reached[name]++;
    }
  }
  return { reached, statuses };
}

/** openapi.yaml as JSON (PyYAML from the schemathesis virtualenv), with the examples. */
function specWithExamples(examples) {
  const json = path.join(work, "openapi.json");
  const python = path.join(ROOT, ".tools/venv/bin/python");
  const converted = spawnSync(python, ["-c", "import sys, json, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], 'w'))", path.join(ROOT, "openapi.yaml"), json], { encoding: "utf8" });
  if (converted.status !== 0) throw new Error(`openapi.yaml did not convert: ${converted.stderr}`);
  const spec = JSON.parse(fs.readFileSync(json, "utf8"));
  for (const [pathname, named] of Object.entries(examples)) {
    const media = spec.paths[pathname].post.requestBody.content["application/json"];
    media.examples = Object.fromEntries(Object.entries(named).map(([name, value]) => [name, { value }]));
  }
  // The webhook's examples come from the sign-in origin, as the hosted page's do.
  for (const method of ["post", "options"]) {
    const origin = spec.paths["/auth/configure/complete"][method].parameters.find((p) => p.name === "Origin");
    origin.example = SIGN_IN;
  }
  fs.writeFileSync(json, JSON.stringify(spec));
  return json;
}

let exitCode = 1;
try {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (Date.now() > deadline || wrangler.exitCode !== null) throw new Error(`wrangler dev did not start:\n${wranglerOutput}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const { problems } = await (await fetch(`${base}/healthz`)).json();
  if (problems.length > 0) throw new Error(`the Worker's settings have problems: ${JSON.stringify(problems)}`);
  const examples = await prepareExamples();
  const spec = specWithExamples(examples);
  const report = path.join(work, "report.json");
  const har = path.join(work, "report.har");
  const st = path.join(ROOT, ".tools/venv/bin/st");
  const code = await run(st, [
    "run", spec, "--url", base,
    "-H", `Authorization: Bearer ${SECRET}`, "--max-examples", String(EXAMPLES), "--seed", "20261128",
    "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
    "--report", "json,har", "--report-json-path", report, "--report-har-path", har, "--no-color",
  ], { cwd: work, env: { ...process.env, SCHEMATHESIS_HOOKS: "" } });
  const json = JSON.parse(fs.readFileSync(report, "utf8"));
  const { reached, statuses } = reachedAnswers(har);
  console.log("schemathesis: statuses per operation:");
  for (const [operation, counts] of Object.entries(statuses).sort()) console.log(`  ${operation}: ${JSON.stringify(counts)}`);
  console.log("schemathesis: answers that need real state:");
  for (const [name, n] of Object.entries(reached)) console.log(`  ${n > 0 ? "reached" : name.endsWith("(optional)") ? "not reached" : "MISSED"} ${name} (${n}x)`);
  const missed = Object.entries(reached).filter(([name, n]) => n === 0 && !name.endsWith("(optional)")).map(([name]) => name);
  const result = {
    operations: json.operations.tested,
    cases: json.test_cases.generated,
    failures: json.test_cases.unique_failures + json.test_cases.with_failures,
    errors: json.test_cases.errored + json.operations.errored,
    examples_per_operation: EXAMPLES,
    state_answers: MUST_REACH.filter(([name]) => !name.endsWith("(optional)")).length,
    state_answers_missed: missed.length,
  };
  console.log(`SCHEMATHESIS_RESULT ${JSON.stringify(result)}`);
  exitCode = code === 0 && result.failures === 0 && result.errors === 0 && missed.length === 0 ? 0 : 1;
} finally {
  try {
    process.kill(-wrangler.pid, "SIGTERM");
  } catch {}
  await standin.close();
  fs.rmSync(config, { force: true });
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
