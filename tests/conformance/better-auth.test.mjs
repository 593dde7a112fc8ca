// configureBetterAuthOAuthProvider against the official SDK's: equal config
// objects (functions aside) for generated options, the same errors, and
// equal getUserInfo / mapProfileToUser results against the Configure stand-in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { configureBetterAuthOAuthProvider as sdkProvider } from "configure";
import { configureBetterAuthOAuthProvider as ourProvider } from "../../pkg/node.js";
import { startStandin } from "../support/configure-standin.mjs";
import * as gen from "./generators.mjs";

const CASES = Number(process.env.DIFF_CASES ?? 20000) / 10;
let standin;
before(async () => {
  delete process.env.CONFIGURE_API_KEY;
  delete process.env.CONFIGURE_AGENT;
  standin = await startStandin({ apiKey: "sk_test_better_auth", agent: "my-agent" });
});
after(async () => {
  await standin?.close();
});

function withoutFunctions(config) {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => typeof v !== "function"));
}

function outcome(fn) {
  try {
    return { value: withoutFunctions(fn()) };
  } catch (error) {
    return { error: [error.name, error.code, error.message] };
  }
}

function options(r) {
  const o = { clientId: r.pick(["client_1", "", "c-2"]), clientSecret: r.pick(["secret", "", undefined]) };
  o.apiKey = r.chance(0.9) ? r.pick(["sk_test_1", "pk_test_2", "x"]) : r.pick([undefined, ""]);
  o.agent = r.chance(0.85) ? r.pick(["my-agent", "ab", "travel-agent"]) : gen.agentHandle(r);
  if (r.chance(0.6)) o.baseUrl = String(gen.origin(r) ?? "");
  if (r.chance(0.6)) o.accountsOrigin = String(gen.origin(r) ?? "");
  if (r.chance(0.6)) o.resource = String(gen.origin(r) ?? "");
  if (r.chance(0.4)) o.scopes = r.pick([[], ["profile.read"], ["a", "b", "c"]]);
  if (r.chance(0.3)) o.providerId = r.pick(["", "configure-sso", "x"]);
  return o;
}

test(`the config object equals the SDK's for ${CASES} generated option sets`, () => {
  const r = gen.rng(gen.SEED ^ 0xbe77e4);
  const differences = [];
  let values = 0;
  for (let i = 0; i < CASES; i++) {
    const o = options(r);
    const expected = outcome(() => sdkProvider(o));
    const actual = outcome(() => ourProvider(o));
    if ("value" in expected) values++;
    if (JSON.stringify(expected) !== JSON.stringify(actual)) differences.push({ i, o, expected, actual });
  }
  console.log(`configureBetterAuthOAuthProvider: ${CASES} cases (${values} configs, ${CASES - values} errors), ${differences.length} differences`);
  assert.equal(differences.length, 0, JSON.stringify(differences.slice(0, 3)));
});

test("getUserInfo and mapProfileToUser give the SDK's results against the stand-in", async () => {
  const make = (factory, apiKey = "sk_test_better_auth") =>
    factory({ clientId: "c", clientSecret: "s", apiKey, agent: "my-agent", baseUrl: standin.url });
  const full = standin.issueAccessToken({ name: "Pat Example", email: "pat@example.com" });
  const phoneOnly = standin.issueAccessToken({});
  const inactive = standin.issueAccessToken({ active: false, name: "Gone" });
  const tokenSets = [
    { accessToken: full.token },
    { access_token: ` ${phoneOnly.token} ` },
    { accessToken: inactive.token },
    { accessToken: "cfgoat_unknown" },
    { accessToken: "   " },
    {},
  ];
  const run = async (provider, tokens) => {
    try {
      const info = await provider.getUserInfo(tokens);
      return { info, user: info ? provider.mapProfileToUser(info) : null };
    } catch (error) {
      return { error: [error.name, error.code, error.message] };
    }
  };
  for (const [apiKey, label] of [["sk_test_better_auth", "right key"], ["sk_wrong", "wrong key"]]) {
    for (const tokens of tokenSets) {
      const expected = await run(make(sdkProvider, apiKey), tokens);
      const actual = await run(make(ourProvider, apiKey), tokens);
      assert.deepEqual(actual, expected, `${label}: ${JSON.stringify(tokens)}`);
    }
  }
  const info = await make(ourProvider).getUserInfo({ accessToken: full.token });
  assert.deepEqual(info, { sub: full.sub, name: "Pat Example", email: "pat@example.com", emailVerified: true });
  assert.deepEqual(make(ourProvider).mapProfileToUser({ sub: "s1", emailVerified: false }), { id: "s1", name: "Configure user", emailVerified: false });
  // Configure failing: both fail the same way.
  standin.setMode("5xx");
  const expected = await run(make(sdkProvider), { accessToken: full.token });
  const actual = await run(make(ourProvider), { accessToken: full.token });
  standin.setMode("ok");
  assert.deepEqual(actual, expected);
});

test("getUserInfo sends the SDK's requests, byte for byte", async () => {
  const { token } = standin.issueAccessToken({ name: "Pat Example", email: "pat@example.com" });
  const capture = async (factory) => {
    const seen = [];
    const fetch = async (url, init = {}) => {
      // Correlation ids are fresh random UUIDs on both sides: compare their shape.
      const uuid = /^(session|scope)_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      const headers = Object.fromEntries([...new Headers(init.headers)].sort().map(([k, v]) => [k, uuid.test(v) ? v.replace(/_.*/, "_<uuid>") : v]));
      seen.push({ url: String(url), method: init.method ?? "GET", headers, body: init.body ?? null });
      return globalThis.fetch(url, init);
    };
    const provider = factory({ clientId: "c", clientSecret: "s", apiKey: "sk_test_better_auth", agent: "my-agent", baseUrl: standin.url, fetch });
    await provider.getUserInfo({ accessToken: token });
    return seen.sort((a, b) => a.url.localeCompare(b.url));
  };
  const expected = await capture(sdkProvider);
  const actual = await capture(ourProvider);
  assert.equal(expected.length, 2);
  assert.deepEqual(actual, expected);
});
