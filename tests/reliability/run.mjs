// `make reliability`: every reliability check, then one summary table.
// Exits non-zero if any check failed.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FUZZ_CASES = process.env.FUZZ_CASES ?? "5000";

/** Runs a command, echoing and keeping its output. */
function run(command, args, env = {}) {
  return new Promise((resolve) => {
    console.log(`\n== ${command} ${args.join(" ")}`);
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const echo = (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    };
    child.stdout.on("data", echo);
    child.stderr.on("data", echo);
    child.on("exit", (code) => resolve({ code: code ?? 1, output }));
  });
}

const sum = (output, pattern) => [...output.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
const nodeCounts = (output) => ({ pass: sum(output, /^# pass (\d+)$/gm), fail: sum(output, /^# fail (\d+)$/gm) });
const cargoCounts = (output) => ({ pass: sum(output, /(\d+) passed;/g), fail: sum(output, /(\d+) failed;/g) });

const rows = [];
let failed = false;
const row = (check, tried, outcome, ok) => {
  rows.push([check, tried, outcome, ok ? "ok" : "FAILED"]);
  if (!ok) failed = true;
};

// 2. Schema-driven bad input.
{
  const { code, output } = await run("node", ["tests/reliability/schemathesis.mjs"]);
  const line = /SCHEMATHESIS_RESULT (.*)/.exec(output);
  const r = line ? JSON.parse(line[1]) : { operations: 0, cases: 0, failures: "?", errors: "?" };
  const reached = r.state_answers === undefined ? "" : `; ${r.state_answers - r.state_answers_missed}/${r.state_answers} answers that need real state reached`;
  row("schema-driven input (schemathesis, wrangler dev)", `${r.operations} operations, ${r.cases} cases (max ${r.examples_per_operation ?? "?"} examples each)${reached}`, `${r.failures} failures, ${r.errors} errors`, code === 0 && !!line);
}

// 3. Native fuzzing.
{
  const { code, output } = await run("cargo", ["test", "--locked", "--release", "--test", "fuzz", "--", "--nocapture", "--test-threads=2"], { FUZZ_CASES });
  const targets = [...output.matchAll(/^fuzz (.+): (\d+) cases, (\d+) panics$/gm)];
  const cases = targets.reduce((n, m) => n + Number(m[2]), 0);
  const panics = targets.reduce((n, m) => n + Number(m[3]), 0);
  row("native fuzzing (proptest)", `${targets.length} targets, ${cases} cases`, `${panics} panics`, code === 0 && panics === 0 && targets.length > 0);
}

// 4. Faults: workerd, plus the natively injected KV failures.
{
  const native = await run("cargo", ["test", "--locked", "--test", "message_flow", "--test", "web_flow"]);
  const workerd = await run("node", ["--test", "--test-reporter=tap", "--test-concurrency=1", "tests/reliability/faults.test.mjs"]);
  const n = cargoCounts(native.output);
  const w = nodeCounts(workerd.output);
  row("faults (Configure down/hanging/5xx/malformed/other agent, per step; KV failing; restart)", `${w.pass + w.fail} under workerd + ${n.pass + n.fail} native flow tests`, `${w.fail + n.fail} failed (each asserts nothing lost)`, native.code === 0 && workerd.code === 0 && w.fail + n.fail === 0);
}

// 5. Load.
{
  const { code, output } = await run("node", ["tests/reliability/load.mjs"]);
  const line = /LOAD_RESULT (.*)/.exec(output);
  const r = line ? JSON.parse(line[1]) : null;
  row(
    "load (workerd, loopback)",
    r
      ? `${r.journeys} webhook completions (${r.linked_at_completion} linked at once, ${r.pending_then_confirmed} pending then confirmed by their word) + ${r.identities} identity resolutions, ${r.requests} requests: ${r.throughput} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`
      : "no result",
    r ? `${r.lost} lost, ${r.server_errors} 5xx, ${r.not_ok} unexpected answers` : "?",
    code === 0 && !!r,
  );
}

// 5b. Concurrency: one-time items and OAuth refreshes under overlapping
// requests (the ledger's Durable Object, the stand-in answering 300 ms late).
{
  const { code, output } = await run("node", ["--test", "--test-reporter=tap", "--test-concurrency=1", "tests/e2e/ledger-flows.test.mjs"]);
  const c = nodeCounts(output);
  const lines = [...output.matchAll(/CONCURRENCY (.+?) (\{.*\})$/gm)].map((m) => [m[1], JSON.parse(m[2])]);
  const detail = lines.map(([name, r]) => `${r.sent} ${name}`).join(", ");
  const outcome = lines
    .map(([name, r]) => {
      const { sent, ...rest } = r;
      return Object.entries(rest).map(([k, v]) => `${v} ${k}`).join(" ");
    })
    .join("; ");
  row("concurrency (workerd, ledger: one use per item, one refresh per link)", detail || "no result", `${outcome}; ${c.fail} failed`, code === 0 && c.fail === 0 && lines.length === 4);
}

// 6. Abuse, 7. Secrets.
for (const [name, file] of [
  ["abuse (secrets, CORS, bodies, other agents, forwarded URLs, rate limits)", "tests/reliability/abuse.test.mjs"],
  ["secrets in logs, answers and KV (tokens, codes, words, PKCE)", "tests/reliability/secrets.test.mjs"],
]) {
  const { code, output } = await run("node", ["--test", "--test-reporter=tap", "--test-concurrency=1", file]);
  const c = nodeCounts(output);
  const detail = /^# (agent API: .*|secrets scan: .*)$/m.exec(output)?.[1] ?? `${c.pass} tests`;
  row(name, detail, `${c.fail} failed`, code === 0 && c.fail === 0 && c.pass > 0);
}

const widths = [0, 1, 2, 3].map((i) => Math.max(...[["check", "tried", "outcome", "result"], ...rows].map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log("\n== reliability summary");
console.log(line(["check", "tried", "outcome", "result"]));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(line(r));
const passed = rows.filter((r) => r[3] === "ok").length;
console.log(`\n${passed} passed, ${rows.length - passed} failed`);
process.exit(failed ? 1 : 0);
