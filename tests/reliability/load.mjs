// Load: JOURNEYS message journeys (default 1000) completed through the
// webhook concurrently under workerd, mixed with identity resolutions
// (stored links and phone recognition), on loopback only, bounded in count
// and time. The journeys take turns over the three bindings: "none" (linked
// at the completion), "phone" (the phone is the token's user's: linked at
// the completion, after Configure recognizes it) and "confirmation" (the
// completion is pending; the conversation's word, sent through identity
// resolution right after it, links it). Each answer must say so: a
// completion counted as linked answered `linked: true`, a pending one
// `pending: true` and then its word `source: "webhook"`. Afterwards every
// journey's link must be retrievable with its token; one missing or with
// another token is lost.
// Prints throughput and p50/p99, and one machine-readable line
// `LOAD_RESULT {...}`; exits non-zero on any loss, 5xx or unexpected answer.
import { startStack, agentApi, complete, newJourney, confirm, linkOf, AGENT } from "./harness.mjs";

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
  const BINDINGS = ["none", "phone", "confirmation"];
  const journeys = await pool(
    Array.from({ length: JOURNEYS }, (_, i) => async () => {
      const subject = `load-${i}`;
      const binding = BINDINGS[i % BINDINGS.length];
      const { token, userId } = standin.issueToken();
      let options = { binding };
      if (binding === "phone") {
        const phone = `+1628555${String(i).padStart(4, "0")}`;
        standin.registerPhone(phone, { userId });
        options = { phoneCandidates: [phone] };
      }
      const journey = await newJourney(worker, subject, options);
      if (journey.binding !== binding) throw new Error(`journey ${i}: binding ${journey.binding}, not ${binding}`);
      return { subject, binding, journeyId: journey.journeyId, word: journey.confirmation, token, userId };
    }),
    IN_FLIGHT,
  );
  for (let i = 0; i < IDENTITIES; i++) standin.registerPhone(`+1415555${String(i).padStart(4, "0")}`);

  // The measured mix: every completion, and identity resolutions interleaved.
  const statuses = new Map();
  const latencies = [];
  const results = [];
  let unexpected = 0;
  const unexpectedSamples = [];
  /** One timed request; `expect(json)` says whether its answer is the one the flow must give. */
  const timed = async (kind, call, expect = () => true) => {
    const t0 = performance.now();
    const response = await call();
    const text = await response.text();
    latencies.push(performance.now() - t0);
    const key = `${kind} ${response.status}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    results.push(response.status);
    let json;
    try {
      json = JSON.parse(text);
    } catch {}
    if (response.status !== 200 || !expect(json)) {
      unexpected++;
      if (unexpectedSamples.length < 5) unexpectedSamples.push(`${kind} ${response.status} ${text.slice(0, 200)}`);
    }
    return json;
  };
  const counts = { linked: 0, pending: 0, confirmed: 0 };
  const completion = (j) => async () => {
    const body = { token: j.token, userId: j.userId, agent: AGENT, journeyId: j.journeyId };
    if (j.binding !== "confirmation") {
      const done = await timed(`complete (${j.binding})`, () => complete(worker, body), (a) => a?.ok === true && a.linked === true && a.pending === undefined);
      if (done?.linked === true) counts.linked++;
      return;
    }
    // Pending until the conversation sends its word back: the word follows at once.
    const done = await timed("complete (confirmation)", () => complete(worker, body), (a) => a?.ok === true && a.linked === false && a.pending === true);
    if (done?.pending !== true) return;
    counts.pending++;
    const identity = await timed("confirm word", () => confirm(worker, j.subject, j.word), (a) => a?.linked === true && a.source === "webhook" && a.token === j.token);
    if (identity?.source === "webhook") counts.confirmed++;
  };
  const tasks = [];
  let identity = 0;
  for (const [i, j] of journeys.entries()) {
    tasks.push(completion(j));
    if (identity < IDENTITIES && i % 2 === 1) {
      const n = identity++;
      const body = n % 2 === 0
        ? { subject: `load-${n}` } // a stored link once its completion has landed, else the fallback
        : { subject: `load-phone-${n}`, phoneCandidates: [`+1415555${String(n).padStart(4, "0")}`] };
      tasks.push(() => timed("identity", () => agentApi(worker, "POST", "/v1/identity/resolve", body)));
    }
  }
  const t0 = performance.now();
  await pool(tasks, IN_FLIGHT);
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
  const notOk = unexpected;
  // Every journey was counted either linked at its completion or confirmed by its word.
  const counted = counts.linked + counts.confirmed;
  latencies.sort((a, b) => a - b);
  const result = {
    journeys: JOURNEYS,
    identities: IDENTITIES,
    linked_at_completion: counts.linked,
    pending_then_confirmed: counts.confirmed,
    confirmations: counts.pending,
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
  for (const sample of unexpectedSamples) console.log(`load: unexpected answer: ${sample}`);
  console.log(
    `load: ${result.requests} requests (${JOURNEYS} webhook completions: ${counts.linked} linked at once, ${counts.pending} pending then ${counts.confirmed} confirmed by their word; ` +
      `+ ${IDENTITIES} identity resolutions, ${IN_FLIGHT} in flight) in ${result.seconds} s: ` +
      `${result.throughput} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms; ${lost} lost, ${serverErrors} 5xx, ${notOk} unexpected answers`,
  );
  console.log(`LOAD_RESULT ${JSON.stringify(result)}`);
  process.exitCode = lost === 0 && serverErrors === 0 && notOk === 0 && counted === JOURNEYS ? 0 : 1;
} finally {
  await stack.stop();
  clearTimeout(timer);
  console.log(`load: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
