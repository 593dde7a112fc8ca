// Secrets and tokens never appear in logs, error bodies or KV in plain
// text: every flow runs (successes, every kind of failure, Configure
// failing), the Worker's console is captured, every answer kept, and then
// all of it and the whole simulated KV are scanned. The Worker reaches
// Configure through a recording proxy, so every token Configure ever handed
// it (validated, exchanged, recognized, OAuth access and refresh tokens) and
// every PKCE verifier it sent is known and scanned for.
//
// Also scanned: the one-time redeem codes of the web flow and their sealed
// results, completions pending on their confirmation words, and the OAuth
// login's sealed cookie: the state and the PKCE verifier appear in no KV
// record, log line or answer (the state only in the authorize redirect the
// login answers), and the login writes nothing to KV.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startStack, agentApi, complete, newJourney, confirm, webSignIn, redeem, oauthLogin,
  API_KEY, SECRET, SEALING_KEY, SESSION_KEY, OAUTH_CLIENT, AGENT, CODE_PARAM, OAUTH_COOKIE,
} from "./harness.mjs";

/** Every string value of the JSON in `text` under one of `names` (any depth). */
function fieldsOf(text, names) {
  const found = [];
  const walk = (value) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (names.includes(k) && typeof v === "string" && v) found.push(v);
        else walk(v);
      }
    }
  };
  try {
    walk(JSON.parse(text));
  } catch {}
  return found;
}

/** `word` (six digits) standing alone, not inside a longer base64url run such as a sealed blob. */
const holdsWord = (text, word) => new RegExp(`(^|[^A-Za-z0-9_-])${word}($|[^A-Za-z0-9_-])`).test(text);

test("a full run leaks nothing to logs, answers or KV", async () => {
  const logs = [];
  const stack = await startStack({ proxy: true, onLog: (entry) => logs.push(entry.message) });
  const { worker, standin, proxy } = stack;
  /** Every answer: what it was, status, headers and body. */
  const answers = [];
  const issued = new Set(); // tokens the stand-in issued to the "hosted page"
  const subjects = new Set();
  const journeys = new Set();
  const words = new Set();
  const redeemCodes = new Set();
  const signInCodes = new Set();
  const webStates = new Set();
  const oauthStates = new Set();
  const record = async (response, what = "") => {
    const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join("\n");
    answers.push({ what, status: response.status, headers, location: response.headers.get("location") ?? "", body: await response.clone().text() });
    return response;
  };
  const kvKeys = async () => new Set((await (await worker.kv()).list()).keys.map((k) => k.name));
  try {
    // Message flow: every binding, success, replay, wrong tokens, Configure
    // failing. Journeys 3 and 4 are left pending on their words.
    const bindings = ["none", "confirmation", "phone", "confirmation", "phone-unknown", "none"];
    const confirmLater = [];
    for (const [i, binding] of bindings.entries()) {
      const subject = `secret-subject-${i}-${Date.now()}`;
      subjects.add(subject);
      const { token, userId } = standin.issueToken();
      issued.add(token);
      let options = { binding };
      if (binding === "phone") {
        const phone = `+1415555020${i}`;
        standin.registerPhone(phone, { userId });
        options = { phoneCandidates: [phone] };
      } else if (binding === "phone-unknown") {
        options = { phoneCandidates: [`+1415555030${i}`] };
      }
      const journey = await (await record(await agentApi(worker, "POST", "/v1/journeys", { subject, ...options }), "journey")).json();
      journeys.add(journey.journeyId);
      if (journey.confirmation) words.add(journey.confirmation);
      const body = { token, userId, agent: AGENT, journeyId: journey.journeyId };
      if (i === 1) standin.setMode("5xx");
      if (i === 2) standin.setMode("malformed");
      if (i === 3) await standin.down();
      await record(await complete(worker, body));
      await standin.up();
      standin.setMode("ok");
      const done = await (await record(await complete(worker, body))).json();
      await record(await complete(worker, body)); // replay
      await record(await complete(worker, { ...body, token: `${token}-forged` }));
      await record(await complete(worker, { ...body, userId: "someone" }));
      if (done.pending && i === 1) confirmLater.push({ subject, word: journey.confirmation });
    }
    for (const { subject, word } of confirmLater) {
      await record(await confirm(worker, "secret-other-conversation", word)); // another subject: nothing
      await record(await confirm(worker, subject, String((Number(word) + 1) % 1e6).padStart(6, "0"))); // a wrong word
      const identity = await (await record(await confirm(worker, subject, word))).json();
      assert.equal(identity.source, "webhook", JSON.stringify(identity));
    }
    subjects.add("secret-other-conversation");
    // Identity: stored, validated, phone recognition, failing steps.
    standin.registerPhone("+14155550177");
    for (const subject of subjects) {
      await record(await agentApi(worker, "POST", "/v1/identity/resolve", { subject, validateToken: true, phoneCandidates: ["+14155550177"] }));
    }
    const phoneSubject = `secret-phone-${Date.now()}`;
    subjects.add(phoneSubject);
    await record(await agentApi(worker, "POST", "/v1/identity/resolve", { subject: phoneSubject, phoneCandidates: ["+14155550177"] }));
    standin.setMode("5xx");
    await record(await agentApi(worker, "POST", "/v1/identity/resolve", { subject: phoneSubject, validateToken: true, phoneCandidates: ["+14155550177"] }));
    standin.setMode("ok");

    // Web flow: a failed exchange, a code redeemed for the wrong subject
    // (409), one redeemed (200) and replayed (404), one left outstanding.
    const webSubject = `secret-web-${Date.now()}`;
    subjects.add(webSubject);
    const outcomes = [];
    for (const [fault, redeemAs] of [["5xx", null], ["ok", "secret-web-intruder"], ["ok", webSubject], ["ok", null]]) {
      const signIn = await webSignIn(worker, standin, webSubject, { fault });
      await record(signIn.started, "sign-in");
      await record(signIn.response, "callback");
      webStates.add(signIn.state);
      signInCodes.add(signIn.signInCode);
      // The callback's state cookie gone, a replay of it: a page, nothing exchanged.
      await record(await worker.fetch(`/api/configure/callback?code=${signIn.signInCode}&state=${signIn.state}`, { redirect: "manual" }), "callback replay");
      if (signIn.code) redeemCodes.add(signIn.code);
      if (signIn.code && redeemAs) {
        outcomes.push((await record(await redeem(worker, signIn.code, redeemAs))).status);
        outcomes.push((await record(await redeem(worker, signIn.code, redeemAs))).status);
      }
    }
    subjects.add("secret-web-intruder");
    assert.deepEqual(outcomes, [409, 404, 200, 404], "mismatch, discarded, redeemed, replayed");
    await record(await agentApi(worker, "GET", `/v1/links/${webSubject}`));

    // "Continue with Configure": success, Configure failing, inactive token,
    // tampered session; the login writes nothing to KV.
    for (const [i, fault] of ["ok", "5xx", "malformed", "ok"].entries()) {
      const sub = `secret-oauth-sub-${i}-${Date.now()}`;
      const before = await kvKeys();
      const done = await record(await oauthLogin(worker, standin, {
        sub, fault, fields: i === 3 ? { active: "false" } : {},
        seen: async ({ started, state }) => {
          oauthStates.add(state);
          const written = [...(await kvKeys())].filter((k) => !before.has(k));
          assert.deepEqual(written, [], "the login wrote nothing to KV");
          answers.push({ what: "login", status: started.status, headers: [...started.headers].map(([n, v]) => `${n}: ${v}`).join("\n"), location: started.headers.get("location"), body: await started.clone().text() });
        },
      }), "oauth callback");
      if (done.status !== 302) continue;
      await record(await agentApi(worker, "GET", `/v1/links/${encodeURIComponent(`configure:${sub}`)}`));
      const session = done.headers.getSetCookie().find((c) => c.startsWith("__Host-configure-edge-session=")).split(";")[0];
      await record(await worker.fetch("/auth/configure/session", { headers: { cookie: `${session}x` } }));
    }
    // The OAuth callback with a state that is not the cookie's, and without the cookie.
    for (const state of oauthStates) {
      await record(await worker.fetch(`/auth/configure/oauth/callback?code=x&state=${state}`, { redirect: "manual" }), "oauth callback without cookie");
    }

    // Bad input everywhere.
    await record(await agentApi(worker, "POST", "/v1/journeys", { subject: 5 }));
    await record(await agentApi(worker, "POST", "/v1/journeys", { subject: "s" }, { secret: `${SECRET}x` }));
    await record(await agentApi(worker, "POST", "/v1/sign-ins/redeem", { code: [...redeemCodes][0], subject: "s" }, { secret: `${SECRET}x` }));
    await record(await worker.fetch("/v1/links/x", { headers: { authorization: `Bearer ${API_KEY}` } }));
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the last log lines arrive

    // Everything Configure handed the Worker, and every PKCE verifier it sent.
    const tokens = new Set([...issued, ...proxy.exchanges.flatMap((e) => fieldsOf(e.answerBody, ["token", "access_token", "refresh_token"]))]);
    const verifiers = new Set(
      proxy.exchanges.filter((e) => e.path === "/oauth/token").map((e) => new URLSearchParams(e.requestBody).get("code_verifier")).filter(Boolean),
    );
    const errorBodies = answers.filter((a) => a.status >= 400).map((a) => a.body);
    assert.ok(tokens.size >= 15 && verifiers.size >= 3 && oauthStates.size === 4 && redeemCodes.size === 3 && words.size >= 4,
      `a real run: ${tokens.size} tokens, ${verifiers.size} verifiers, ${oauthStates.size} OAuth states, ${redeemCodes.size} redeem codes, ${words.size} words`);
    assert.ok(logs.length > 0 && errorBodies.length > 30, `${logs.length} log lines, ${errorBodies.length} error bodies`);

    const secrets = [...tokens, ...redeemCodes, ...signInCodes, ...verifiers, ...oauthStates, API_KEY, SECRET, SEALING_KEY, SESSION_KEY, OAUTH_CLIENT.clientSecret];
    for (const secret of secrets) {
      for (const line of logs) assert.ok(!line.includes(secret), `a secret in the log: ${line}`);
      for (const body of errorBodies) assert.ok(!body.includes(secret), `a secret in an error body: ${body}`);
    }
    for (const word of words) {
      for (const line of logs) assert.ok(!holdsWord(line, word), `a confirmation word in the log: ${line}`);
      for (const body of errorBodies) assert.ok(!holdsWord(body, word), `a confirmation word in an error body: ${body}`);
    }
    // The PKCE verifier nowhere in an answer; the OAuth state only in the
    // authorize redirect; a redeem code only in the callback's redirect to
    // returnAfter.
    for (const answer of answers) {
      const text = `${answer.headers}\n${answer.body}`;
      for (const verifier of verifiers) assert.ok(!text.includes(verifier), `the PKCE verifier in an answer (${answer.what})`);
      const withoutLocation = answer.what === "login" ? text.replace(answer.location, "") : text;
      for (const state of oauthStates) assert.ok(!withoutLocation.includes(state), `the OAuth state in an answer (${answer.what} ${answer.status})`);
      const withoutCode = answer.what === "callback" ? text.replace(answer.location, "") : text;
      for (const code of redeemCodes) assert.ok(!withoutCode.includes(code), `a redeem code in an answer (${answer.what} ${answer.status})`);
      if (answer.what === "callback" && answer.status === 302) assert.ok(new URL(answer.location).searchParams.has(CODE_PARAM));
    }
    const loginCookies = answers.filter((a) => a.what === "login").map((a) => a.headers.split("\n").find((h) => h.startsWith("set-cookie:") && h.includes(`${OAUTH_COOKIE}=`)));
    assert.equal(loginCookies.filter(Boolean).length, 4, "every login set its sealed cookie");

    // KV: no secret, subject, journey id, code, state or word in plain text.
    const kv = await worker.kv();
    const { keys } = await kv.list();
    const kinds = {};
    for (const { name } of keys) kinds[name.split(":")[0]] = (kinds[name.split(":")[0]] ?? 0) + 1;
    assert.equal(kinds.oauth, undefined, "no oauth: records any more");
    for (const kind of ["link", "pending", "redeem", "journey"]) assert.ok(kinds[kind] > 0, `the scan covers ${kind}: records (${JSON.stringify(kinds)})`);
    const inKv = [...secrets, ...webStates, ...subjects, ...journeys];
    for (const { name } of keys) {
      const value = await kv.get(name);
      for (const secret of inKv) {
        assert.ok(!name.includes(secret) && !value.includes(secret), `${name} holds a secret, subject, code, state or journey id in plain text`);
      }
      for (const word of words) assert.ok(!holdsWord(value, word), `${name} holds a confirmation word in plain text`);
    }
    const summary = Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(", ");
    console.log(`secrets scan: ${logs.length} log lines, ${answers.length} answers (${errorBodies.length} errors), ${keys.length} KV records (${summary}), ${inKv.length + words.size} values: 0 leaks`);
  } finally {
    await stack.stop();
  }
});
