// `make bench`: configure-edge against what people would otherwise use, in
// one run, as ratios. Not part of `make test`'s pass or fail.
//   1. helpers in Node: ours (pkg/) against the official SDK, same inputs, same process;
//   2. the Worker under workerd against a reference JavaScript Worker that uses
//      the official SDK with the same KV layout (bench/reference/), both with
//      the Configure stand-in on loopback: p50, p99, requests per second;
//   3. CPU time per request (the workerd process's own CPU accounting, from
//      /proc, divided by the requests);
//   4. deploy bundle raw and gzip, and cold start (a fresh workerd to its
//      first answer);
//   5. what the ledger (the CONFIGURE_LEDGER Durable Object) adds per route:
//      ours with the object against ours on KV alone, in ms (p50, CPU) and in
//      round trips to the object (counted by the native test
//      tests/app.rs ledger_round_trips_per_route, passed in by scripts/bench.sh).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Configure } from "configure";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import * as ours from "../../pkg/node.js";
import { startStandin } from "../support/configure-standin.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const QUICK = process.env.BENCH_QUICK === "1";
const ROUND_MS = QUICK ? 150 : 400;
const ROUNDS = QUICK ? 3 : 7;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? (QUICK ? 100 : 400));
const IN_FLIGHT = 8;
// The Worker part: measured rounds per route and Worker, and the warm-up.
const TRIALS = QUICK ? 1 : 5;
const WARMUP_REQUESTS = QUICK ? 50 : 200;
const table = [];
const row = (part, what, oursValue, referenceValue, ratio, note = "") => table.push({ part, what, ours: oursValue, reference: referenceValue, ratio, note });
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const fmt = (n, digits = 0) => Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

// ---------- 1. helpers ----------
function rate(fn) {
  let n = 0;
  const end = performance.now() + ROUND_MS;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  return n / (ROUND_MS / 1000);
}
/** Interleaved rounds, median of each: fair on a busy machine. */
function compare(a, b) {
  for (let i = 0; i < 2; i++) (rate(a), rate(b));
  const ra = [];
  const rb = [];
  for (let i = 0; i < ROUNDS; i++) {
    ra.push(rate(a));
    rb.push(rate(b));
  }
  return [median(ra), median(rb)];
}

const sdk = new Configure({ apiKey: "sk_bench", agent: "my-agent" });
const shapes = {
  "signInUrl, 4 options": { publishableKey: "pk_test_1", delivery: "message", displayName: "Your Agent", connectors: ["gmail", "calendar"] },
  "signInUrl, 6 options": { publishableKey: "pk_test_1", delivery: "message", displayName: "Your Agent", messageLinePhone: "+14155551234", messageBody: "done", connectors: ["gmail", "calendar"] },
  "signInUrl, web (returnTo, state)": { publishableKey: "pk_test_1", returnTo: "https://app.example/api/configure/callback", state: "3f9a1c0e5b7d2a4c6e8f0a1b3c5d7e9f" },
  "signInUrl, custom origin": { signInOrigin: "https://signin.example.com", journeyId: "Nw3xK9", delivery: "message", theme: "dark" },
};
for (const [name, options] of Object.entries(shapes)) {
  const withAgent = { agent: "my-agent", ...options };
  if (ours.signInUrl(withAgent) !== sdk.auth.signInUrl(options)) throw new Error(`${name}: the URLs differ`);
  const [o, s] = compare(() => ours.signInUrl(withAgent), () => sdk.auth.signInUrl(options));
  row("1 helpers (calls/s)", name, fmt(o), fmt(s), o / s);
}
{
  // The SDK's normalizeCandidates is not exported (recognizePhone calls it
  // before a fetch), so its algorithm is written out here as the baseline.
  const candidates = [" +1 415 555 1234 ", "+14155551234", "", "+1 (415) 555-9999"];
  const sdkNormalize = (value) => {
    const items = Array.isArray(value) ? value : value ? [value] : [];
    const out = [];
    const seen = new Set();
    for (const item of items) {
      const c = String(item || "").trim();
      if (!c || seen.has(c)) continue;
      seen.add(c);
      out.push(c);
    }
    return out;
  };
  const [o, s] = compare(() => ours.normalizePhoneCandidates(candidates), () => sdkNormalize(candidates));
  row("1 helpers (calls/s)", "normalizePhoneCandidates (4 items)", fmt(o), fmt(s), o / s, "SDK's algorithm inlined (not exported)");
  const { validateAgentHandle: sdkValidate } = await import("../../node_modules/configure/dist/browser.mjs");
  const [a, b] = compare(() => ours.validateAgentHandle("my-agent"), () => sdkValidate("my-agent"));
  row("1 helpers (calls/s)", "validateAgentHandle", fmt(a), fmt(b), a / b);
}

// ---------- shared: bundles and workerd instances ----------
function bundle(dir, outdir) {
  const result = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  if (result.status !== 0) throw new Error(`bundling ${dir} failed:\n${result.stdout}\n${result.stderr}`);
  const files = fs.readdirSync(outdir).filter((f) => !f.endsWith(".map") && f !== "README.md");
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const bytes = fs.readFileSync(path.join(outdir, f));
    raw += bytes.length;
    gzip += zlib.gzipSync(bytes, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-bench-"));
const oursOut = path.join(work, "ours");
const refOut = path.join(work, "reference");
const oursBundle = bundle(ROOT, oursOut);
const refBundle = bundle(path.join(ROOT, "tests/bench/reference"), refOut);

const API_KEY = "sk_test_bench";
// >= 32 characters with >= 16 distinct ones (a weaker one counts as missing).
const SECRET = "bench-agent-api-secret-0123456789-abcdefghij";
const APP = "https://app.example";
const standin = await startStandin({ apiKey: API_KEY, agent: "my-agent" });
const vars = {
  CONFIGURE_AGENT: "my-agent",
  CONFIGURE_API_KEY: API_KEY,
  CONFIGURE_BASE_URL: standin.url,
  CONFIGURE_EDGE_API_SECRET: SECRET,
  CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
  CONFIGURE_SIGN_IN_ORIGIN: "https://sign-in.me",
  // The web sign-in needs PUBLIC_URL (its URLs) and an allowlisted returnAfter.
  PUBLIC_URL: "http://127.0.0.1:8787",
  ALLOWED_RETURN_ORIGINS: APP,
};

function modulesOf(kind) {
  if (kind === "ours" || kind === "ours-kv") {
    const wasm = oursBundle.files.find((f) => f.endsWith(".wasm"));
    return [
      { type: "ESModule", path: path.join(oursOut, "index.js") },
      { type: "CompiledWasm", path: path.join(oursOut, wasm) },
    ];
  }
  return [{ type: "ESModule", path: path.join(refOut, "index.js") }];
}

async function startWorkerd(kind) {
  const before = new Set(workerdPids());
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: modulesOf(kind),
      modulesRoot: kind === "reference" ? refOut : oursOut,
      compatibilityDate: "2026-11-17",
      // The reference needs node:crypto; ours needs no flag, but both run
      // under the same flags.
      compatibilityFlags: ["nodejs_compat"],
      kvNamespaces: ["CONFIGURE_KV"],
      // Ours as deployed, with the ledger's SQLite Durable Object; "ours-kv"
      // the same bundle on KV alone, the baseline of part 5.
      ...(kind === "ours" ? { durableObjects: { CONFIGURE_LEDGER: { className: "ConfigureLedger", useSQLite: true } } } : {}),
      bindings: vars,
      host: "127.0.0.1",
      cf: false,
    }),
  );
  await mf.ready;
  const pid = workerdPids().find((p) => !before.has(p));
  return { mf, pid, fetch: (target, init) => mf.dispatchFetch(new URL(target, "http://127.0.0.1:8787"), init) };
}

/** workerd processes that are children of this Node process. */
function workerdPids() {
  const pids = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = /\(([^)]*)\)/.exec(stat)[1];
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm.startsWith("workerd") && ppid === process.pid) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid) {
  if (!pid) return NaN;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

async function pool(tasks, limit) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < tasks.length) await tasks[next++]();
  }));
}

const json = (body) => ({ method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${SECRET}` }, body: JSON.stringify(body) });

/** Per route: a setup that returns `n` request thunks, each expected to answer `status`. */
const routes = {
  "completion webhook": {
    status: 200,
    async setup(w, n) {
      const calls = [];
      for (let i = 0; i < n; i++) {
        // binding "none": the completion links at once (a bound journey would
        // be pending on the conversation's word, a different amount of work).
        const { journeyId } = await (await w.fetch("/v1/journeys", json({ subject: `bench-${i}-${Math.random()}`, binding: "none" }))).json();
        const { token, userId } = standin.issueToken();
        calls.push(() => w.fetch("/auth/configure/complete", json({ token, userId, agent: "my-agent", journeyId })));
      }
      return calls;
    },
  },
  "identity: stored link": {
    status: 200,
    async setup(w, n) {
      const subject = `bench-stored-${Math.random()}`;
      const { journeyId } = await (await w.fetch("/v1/journeys", json({ subject, binding: "none" }))).json();
      const { token, userId } = standin.issueToken();
      const done = await w.fetch("/auth/configure/complete", json({ token, userId, agent: "my-agent", journeyId }));
      if (done.status !== 200) throw new Error(`setup: ${done.status}`);
      return Array.from({ length: n }, () => () => w.fetch("/v1/identity/resolve", json({ subject })));
    },
  },
  "identity: phone recognition": {
    status: 200,
    async setup(w, n) {
      return Array.from({ length: n }, (_, i) => {
        const phone = `+1628555${String(i).padStart(4, "0")}`;
        standin.registerPhone(phone);
        return () => w.fetch("/v1/identity/resolve", json({ subject: `bench-phone-${i}-${Math.random()}`, phoneCandidates: [phone] }));
      });
    },
  },
  "return-code callback": {
    status: 302,
    async setup(w, n) {
      const calls = [];
      for (let i = 0; i < n; i++) {
        const { url } = await (await w.fetch("/v1/sign-ins", json({ subject: `bench-web-${i}-${Math.random()}`, returnAfter: `${APP}/signed-in` }))).json();
        const started = await w.fetch(new URL(url).pathname + new URL(url).search, { redirect: "manual" });
        const state = started.headers.get("set-cookie").split(";")[0].split("=")[1];
        const { code } = standin.issueCode();
        calls.push(() => w.fetch(`/api/configure/callback?code=${code}&state=${state}`, { headers: { cookie: `__Host-configure-edge-state=${state}` }, redirect: "manual" }));
      }
      return calls;
    },
  },
};

/** One measured round of a route against one Worker. */
async function round(w, route, requests) {
  const calls = await route.setup(w, requests);
  const latencies = [];
  let wrong = 0;
  const cpuBefore = cpuSeconds(w.pid);
  const t0 = performance.now();
  await pool(calls.map((call) => async () => {
    const start = performance.now();
    const response = await call();
    await response.arrayBuffer();
    latencies.push(performance.now() - start);
    if (response.status !== route.status) wrong++;
  }), IN_FLIGHT);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(w.pid) - cpuBefore;
  latencies.sort((a, b) => a - b);
  return {
    p50: latencies[Math.floor(latencies.length * 0.5)],
    p99: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))],
    rps: calls.length / seconds,
    cpuMs: (cpu * 1000) / calls.length,
    wrong,
  };
}

/**
 * Both Workers side by side: per route, one unmeasured warm-up round each
 * (V8 compiles JS and tiers wasm up from its baseline compiler while they
 * run), then TRIALS measured rounds, alternating ours and the reference so
 * that drift in the machine's load hits both alike; each figure is the
 * median of its rounds.
 */
async function measureBoth() {
  const kinds = ["ours", "reference", "ours-kv"];
  const workers = {};
  const results = { ours: {}, reference: {}, "ours-kv": {} };
  try {
    for (const kind of kinds) workers[kind] = await startWorkerd(kind);
    for (const [name, route] of Object.entries(routes)) {
      for (const kind of kinds) await round(workers[kind], route, WARMUP_REQUESTS);
      const rounds = { ours: [], reference: [], "ours-kv": [] };
      for (let i = 0; i < TRIALS; i++) {
        for (const kind of kinds) rounds[kind].push(await round(workers[kind], route, REQUESTS));
      }
      for (const kind of kinds) {
        const of = (key) => median(rounds[kind].map((r) => r[key]));
        results[kind][name] = {
          p50: of("p50"),
          p99: of("p99"),
          rps: of("rps"),
          cpuMs: of("cpuMs"),
          wrong: rounds[kind].reduce((sum, r) => sum + r.wrong, 0),
        };
      }
    }
  } finally {
    for (const w of Object.values(workers)) await w.mf.dispose();
  }
  return results;
}

const { ours: oursResults, reference: refResults, "ours-kv": kvResults } = await measureBoth();
for (const name of Object.keys(routes)) {
  const o = oursResults[name];
  const r = refResults[name];
  const note = o.wrong || r.wrong ? `unexpected statuses: ours ${o.wrong}, reference ${r.wrong}` : "";
  row("2 workerd latency", `${name}: p50 ms`, fmt(o.p50, 1), fmt(r.p50, 1), r.p50 / o.p50, note);
  row("2 workerd latency", `${name}: p99 ms`, fmt(o.p99, 1), fmt(r.p99, 1), r.p99 / o.p99);
  row("2 workerd throughput", `${name}: requests/s`, fmt(o.rps), fmt(r.rps), o.rps / r.rps);
  row("3 CPU per request", `${name}: ms (workerd process)`, fmt(o.cpuMs, 2), fmt(r.cpuMs, 2), r.cpuMs / o.cpuMs, "includes the simulated KV");
}

// ---------- 5. what the ledger adds ----------
// Round trips to the ledger's objects per request, as the native test counts
// them (scripts/bench.sh passes its line in); ms measured above, ours with
// the object against the same bundle on KV alone.
const roundTrips = JSON.parse(process.env.LEDGER_ROUND_TRIPS || "{}");
for (const name of Object.keys(routes)) {
  const o = oursResults[name];
  const k = kvResults[name];
  const trips = roundTrips[name] === undefined ? "round trips: not counted" : `${roundTrips[name]} round trips to the object`;
  row("5 ledger cost", `${name}: p50 ms, ledger vs KV alone`, fmt(o.p50, 1), fmt(k.p50, 1), k.p50 / o.p50, `adds ${fmt(o.p50 - k.p50, 1)} ms; ${trips}`);
  row("5 ledger cost", `${name}: CPU ms, ledger vs KV alone`, fmt(o.cpuMs, 2), fmt(k.cpuMs, 2), k.cpuMs / o.cpuMs, `adds ${fmt(o.cpuMs - k.cpuMs, 2)} ms (workerd process, objects included)`);
}

// ---------- 4. size and cold start ----------
// The platform's one size limit: 64 MiB uncompressed, on every plan.
const PLATFORM_LIMIT = 64 * 1024 * 1024;
row("4 bundle", "raw bytes", fmt(oursBundle.raw), fmt(refBundle.raw), refBundle.raw / oursBundle.raw, `${((100 * oursBundle.raw) / PLATFORM_LIMIT).toFixed(2)}% of the 64 MiB limit`);
row("4 bundle", "gzip bytes", fmt(oursBundle.gzip), fmt(refBundle.gzip), refBundle.gzip / oursBundle.gzip, `ours ${(oursBundle.gzip / refBundle.gzip).toFixed(2)}x the reference`);
async function coldStart(kind) {
  const times = [];
  for (let i = 0; i < (QUICK ? 3 : 5); i++) {
    const t0 = performance.now();
    const w = await startWorkerd(kind);
    const response = await w.fetch("/healthz");
    await response.arrayBuffer();
    times.push(performance.now() - t0);
    await w.mf.dispose();
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}
const coldOurs = await coldStart("ours");
const coldRef = await coldStart("reference");
row("4 cold start", "new workerd to first answer, ms (median)", fmt(coldOurs, 0), fmt(coldRef, 0), coldRef / coldOurs, `ours ${(coldOurs / coldRef).toFixed(2)}x the reference`);

await standin.close();
fs.rmSync(work, { recursive: true, force: true });

// ---------- the table ----------
const header = ["part", "what", "ours", "reference (SDK)", "ratio", "note"];
// By part (stable: rows keep their order within a part).
table.sort((a, b) => a.part.localeCompare(b.part));
const cells = table.map((r) => [r.part, r.what, r.ours, r.reference, `${r.ratio.toFixed(2)}x`, r.note]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
const line = (c) => `| ${c.map((x, i) => String(x).padEnd(widths[i])).join(" | ")} |`;
console.log("\nratio: above 1 means configure-edge is better (faster, smaller, fewer ms); in part 5 the reference column is ours on KV alone\n");
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const c of cells) console.log(line(c));
console.log(`\nmachine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}; Node ${process.version}; workerd: ${WARMUP_REQUESTS} warm-up requests, then ${TRIALS} alternating rounds of ${REQUESTS} requests per route and Worker (medians), ${IN_FLIGHT} in flight`);
