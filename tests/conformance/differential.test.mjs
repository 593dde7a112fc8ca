// Differential tests: our helpers (pkg/, built by `make pkg`) against the
// official SDK (configure@1.7.4) on the same generated inputs, from a fixed
// seed. Every URL, every thrown name, code and message must be equal.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { Configure, resolveSsoRedirectUri as sdkResolveSsoRedirectUri } from "configure";
import * as ours from "../../pkg/node.js";
import * as gen from "./generators.mjs";

before(() => {
  // The SDK falls back to these when an option is missing; our helpers never read the environment.
  delete process.env.CONFIGURE_AGENT;
  delete process.env.CONFIGURE_API_KEY;
});

/** Shows a value with lone surrogates and control characters visible. */
function show(value) {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  try {
    return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v === undefined ? "<undefined>" : v));
  } catch {
    return String(value);
  }
}

function outcome(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: [error?.name, error?.code, error?.message] };
  }
}

async function asyncOutcome(fn) {
  try {
    return { value: await fn() };
  } catch (error) {
    return { error: [error?.name, error?.code, error?.message] };
  }
}

/** Compares outcomes over `count` generated inputs; reports the first few differences. */
async function differential(name, count, generate, sdkSide, ourSide) {
  const r = gen.rng(gen.SEED ^ [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7));
  const differences = [];
  let values = 0;
  let errors = 0;
  for (let i = 0; i < count; i++) {
    const input = generate(r);
    const expected = await sdkSide(input);
    const actual = await ourSide(input);
    if ("error" in expected) errors++;
    else values++;
    if (show(expected) !== show(actual)) {
      differences.push({ index: i, input: show(input), sdk: show(expected), ours: show(actual) });
    }
  }
  console.log(
    `${name}: ${count} cases (${values} values, ${errors} errors), ${differences.length} differences (seed ${gen.SEED})`,
  );
  assert.equal(
    differences.length,
    0,
    `${differences.length} differences; first ones:\n${differences.slice(0, 8).map((d) => JSON.stringify(d)).join("\n")}`,
  );
}

/** A client whose fetch records the JSON body it would send, and answers {}. */
function recordingClient() {
  const sent = [];
  const client = new Configure({
    apiKey: "sk_test_differential",
    agent: "my-agent",
    fetch: async (_url, init) => {
      sent.push(JSON.parse(init.body));
      return new Response("{}", { status: 200, headers: { "content-type": "application/json" } });
    },
  });
  return { client, sent };
}

test(`signInUrl equals the SDK's for ${gen.CASES} generated option sets`, async () => {
  await differential(
    "signInUrl",
    gen.CASES,
    gen.signInOptions,
    (options) =>
      outcome(() => new Configure({ apiKey: "sk_test_differential", agent: options.agent }).auth.signInUrl(options)),
    (options) => outcome(() => ours.signInUrl(options)),
  );
});

test(`validateAgentHandle equals the SDK's for ${gen.CASES} generated handles`, async () => {
  // The SDK validates the handle in its client constructor.
  await differential(
    "validateAgentHandle",
    gen.CASES,
    gen.agentHandle,
    (agent) => outcome(() => new Configure({ apiKey: "sk_test_differential", agent }).agent ?? agent),
    (agent) => outcome(() => ours.validateAgentHandle(agent)),
  );
});

test(`normalizePhoneCandidates equals what the SDK's recognizePhone sends for ${gen.CASES} inputs`, async () => {
  const { client, sent } = recordingClient();
  await differential(
    "normalizePhoneCandidates",
    gen.CASES,
    gen.phoneCandidates,
    async (value) =>
      asyncOutcome(async () => {
        await client.auth.recognizePhone(value);
        return sent.pop().candidates;
      }),
    (value) => outcome(() => ours.normalizePhoneCandidates(value)),
  );
});

test(`validatePhone equals what the SDK's sendOtp sends for ${gen.CASES} phone strings`, async () => {
  const { client, sent } = recordingClient();
  await differential(
    "validatePhone",
    gen.CASES,
    gen.phoneText,
    async (phone) =>
      asyncOutcome(async () => {
        await client.auth.sendOtp(phone);
        return sent.pop().phone;
      }),
    (phone) => outcome(() => ours.validatePhone(phone)),
  );
});

test(`resolveSsoRedirectUri equals the SDK's for ${gen.CASES} inputs`, async () => {
  await differential(
    "resolveSsoRedirectUri",
    gen.CASES,
    gen.ssoInput,
    (input) => outcome(() => sdkResolveSsoRedirectUri(input)),
    (input) => outcome(() => ours.resolveSsoRedirectUri(input)),
  );
});
