// Schema-driven bad input: schemathesis against the Worker under
// `wrangler dev` on 127.0.0.1 with the Configure stand-in, every operation
// of openapi.yaml, a bounded number of examples each, with the checks for
// server errors, undocumented status codes and response schema conformance.
// Prints `SCHEMATHESIS_RESULT {...}`; exits non-zero on any failure.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { freePort } from "../tests/support/ports.mjs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startStandin, STANDIN_OAUTH_CLIENT } from "../tests/standin/configure-standin.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLES = Number(process.env.SCHEMATHESIS_EXAMPLES ?? 200);
const SECRET = "schemathesis-agent-secret-0123456789";
const API_KEY = "sk_test_schemathesis";


function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"], ...options });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-schemathesis-"));
const standin = await startStandin({ apiKey: API_KEY, agent: "my-agent" });
// The same Worker config, with a limit the fuzzer cannot reach (the 429
// path is checked by the abuse tests).
const config = path.join(ROOT, "wrangler.reliability.toml");
fs.writeFileSync(
  config,
  fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8").replace(/simple = \{ limit = \d+/, "simple = { limit = 1000000"),
);
const port = await freePort();
const vars = {
  CONFIGURE_AGENT: "my-agent",
  CONFIGURE_API_KEY: API_KEY,
  CONFIGURE_BASE_URL: standin.url,
  CONFIGURE_EDGE_API_SECRET: SECRET,
  CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
  CONFIGURE_PUBLISHABLE_KEY: "pk_test_schemathesis",
  CONFIGURE_SIGN_IN_ORIGIN: "https://sign-in.me",
  ALLOWED_RETURN_ORIGINS: "https://app.example",
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

let exitCode = 1;
try {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (Date.now() > deadline || wrangler.exitCode !== null) throw new Error(`wrangler dev did not start:\n${wranglerOutput}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const report = path.join(work, "report.json");
  const st = path.join(ROOT, ".tools/venv/bin/st");
  const code = await run(st, [
    "run", path.join(ROOT, "openapi.yaml"), "--url", `http://127.0.0.1:${port}`,
    "-H", `Authorization: Bearer ${SECRET}`, "--max-examples", String(EXAMPLES), "--seed", "20261128",
    "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
    "--report", "json", "--report-json-path", report, "--no-color",
  ], { cwd: work, env: { ...process.env, SCHEMATHESIS_HOOKS: "" } });
  const json = JSON.parse(fs.readFileSync(report, "utf8"));
  const result = {
    operations: json.operations.tested,
    cases: json.test_cases.generated,
    failures: json.test_cases.unique_failures + json.test_cases.with_failures,
    errors: json.test_cases.errored + json.operations.errored,
    examples_per_operation: EXAMPLES,
  };
  console.log(`SCHEMATHESIS_RESULT ${JSON.stringify(result)}`);
  exitCode = code === 0 && result.failures === 0 && result.errors === 0 ? 0 : 1;
} finally {
  try {
    process.kill(-wrangler.pid, "SIGTERM");
  } catch {}
  await standin.close();
  fs.rmSync(config, { force: true });
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
