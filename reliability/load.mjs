// Load: JOURNEYS message journeys (default 1000) completed through the
// webhook concurrently under workerd, mixed with identity resolutions
// (stored links and phone recognition), on loopback only, bounded in count
// and time. Afterwards every link must be retrievable with its token.
// Prints throughput and p50/p99, and one machine-readable line
// `LOAD_RESULT {...}`; exits non-zero on any loss or 5xx.
import { startStack, agentApi, complete, newJourney, linkOf, AGENT } from "./harness.mjs";

const JOURNEYS = Number(process.env.LOAD_JOURNEYS ?? 1000);
const IDENTITIES = Number(process.env.LOAD_IDENTITIES ?? 500);
const IN_FLIGHT = Number(process.env.LOAD_IN_FLIGHT ?? 64);
const DEADLINE_MS = Number(process.env.LOAD_DEADLINE_MS ?? 240_000);

const started = Date.now();
const timer = setTimeout(() => {
  console.error(`load: over the ${DEADLINE_MS} ms bound, stopping`);
  process.exit(2);
}, DEADLINE_MS);

/** Runs `tasks` with at most `limit` in flight. */
async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  });
  await Promise.all(workers);
  return results;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const stack = await startStack({ vars: { CONFIGURE_API_TIMEOUT_MS: "10000" } });
const { worker, standin } = stack;
try {
  // Set-up (not measured): journeys, their tokens, known phones and stored links.
  const journeys = await pool(
    Array.from({ length: JOURNEYS }, (_, i) => async () => {
      const subject = `load-${i}`;
      const journey = await newJourney(worker, subject);
      const { token, userId } = standin.issueToken();
      return { subject, journeyId: journey.journeyId, token, userId };
    }),
    IN_FLIGHT,
  );
  for (let i = 0; i < IDENTITIES; i++) standin.registerPhone(`+1415555${String(i).padStart(4, "0")}`);

  // The measured mix: every completion, and identity resolutions interleaved.
  const statuses = new Map();
  const latencies = [];
  const timed = (kind, call) => async () => {
    const t0 = performance.now();
    const response = await call();
    latencies.push(performance.now() - t0);
    await response.arrayBuffer();
    const key = `${kind} ${response.status}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    return response.status;
  };
  const tasks = [];
  let identity = 0;
  for (const [i, j] of journeys.entries()) {
    tasks.push(timed("complete", () => complete(worker, { token: j.token, userId: j.userId, agent: AGENT, journeyId: j.journeyId })));
    if (identity < IDENTITIES && i % 2 === 1) {
      const n = identity++;
      const body = n % 2 === 0
        ? { subject: `load-${n}` } // a stored link once its completion has landed, else the fallback
        : { subject: `load-phone-${n}`, phoneCandidates: [`+1415555${String(n).padStart(4, "0")}`] };
      tasks.push(timed("identity", () => agentApi(worker, "POST", "/v1/identity/resolve", body)));
    }
  }
  const t0 = performance.now();
  const results = await pool(tasks, IN_FLIGHT);
  const seconds = (performance.now() - t0) / 1000;

  // Every link retrievable, with its token.
  let lost = 0;
  await pool(
    journeys.map((j) => async () => {
      const link = await linkOf(worker, j.subject);
      if (!link || link.token !== j.token) lost++;
    }),
    IN_FLIGHT,
  );
  const serverErrors = results.filter((s) => s >= 500).length;
  const notOk = results.filter((s) => s !== 200).length;
  latencies.sort((a, b) => a - b);
  const result = {
    journeys: JOURNEYS,
    identities: IDENTITIES,
    requests: results.length,
    seconds: Number(seconds.toFixed(2)),
    throughput: Number((results.length / seconds).toFixed(1)),
    p50_ms: Number(percentile(latencies, 50).toFixed(1)),
    p99_ms: Number(percentile(latencies, 99).toFixed(1)),
    lost,
    server_errors: serverErrors,
    not_ok: notOk,
    statuses: Object.fromEntries(statuses),
  };
  console.log(
    `load: ${result.requests} requests (${JOURNEYS} webhook completions + ${IDENTITIES} identity resolutions, ${IN_FLIGHT} in flight) in ${result.seconds} s: ` +
      `${result.throughput} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms; ${lost} lost, ${serverErrors} 5xx`,
  );
  console.log(`LOAD_RESULT ${JSON.stringify(result)}`);
  process.exitCode = lost === 0 && serverErrors === 0 && notOk === 0 ? 0 : 1;
} finally {
  await stack.stop();
  clearTimeout(timer);
  console.log(`load: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
