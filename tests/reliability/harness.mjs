// Shared set-up of the reliability suite: the built Worker in workerd
// (Miniflare) with the Configure stand-in, both on 127.0.0.1, and helpers
// to drive the flows. Every setting is valid (a strong agent secret,
// PUBLIC_URL for the browser flows): `startStack` refuses to start a
// Worker whose /healthz lists a problem, so no check runs against a Worker
// that quietly dropped a setting.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { startWorker } from "../support/worker.mjs";
import { startStandin, STANDIN_OAUTH_CLIENT } from "../support/configure-standin.mjs";

export const AGENT = "my-agent";
export const API_KEY = "sk_test_reliability_0123456789";
// >= 32 characters with >= 16 distinct ones (a weaker one counts as missing).
export const SECRET = "reliability-agent-api-secret-0123456789-abcdefghij";
export const SEALING_KEY = randomBytes(32).toString("base64");
export const SESSION_KEY = randomBytes(32).toString("base64");
export const OAUTH_CLIENT = STANDIN_OAUTH_CLIENT;
export const SIGN_IN = "https://sign-in.me";
export const APP = "https://app.example";
export const EDGE = "https://edge.example";
export const STATE_COOKIE = "__Host-configure-edge-state";
export const OAUTH_COOKIE = "__Host-configure-edge-oauth";
export const CODE_PARAM = "configure_code";

/**
 * A proxy in front of the stand-in, on 127.0.0.1: it records every
 * exchange (`exchanges`: method, path, request and answer bodies), so a test
 * knows every token and verifier the Worker was ever handed or sent, and it
 * fails one Configure path on demand (`fail(path, "down" | "hanging" |
 * "5xx" | "malformed")`, `fail(path, null)` to heal): the faults of a step
 * after a good one.
 */
export async function startConfigureProxy(target) {
  const faults = new Map();
  const sockets = new Set();
  const exchanges = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const fault = faults.get(path);
    if (fault === "down") return req.socket.destroy();
    if (fault === "5xx") {
      res.writeHead(503, { "content-type": "application/json" });
      return res.end('{"error":{"type":"api_error","code":"unavailable","message":"Configure is temporarily unavailable."}}');
    }
    if (fault === "malformed") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end("{not json");
    }
    if (fault === "hanging") return; // until close()
    const requestChunks = [];
    req.on("data", (chunk) => requestChunks.push(chunk));
    req.on("end", () => {
      const requestBody = Buffer.concat(requestChunks);
      const upstream = http.request(new URL(req.url, target), { method: req.method, headers: req.headers }, (answer) => {
        const answerChunks = [];
        answer.on("data", (chunk) => answerChunks.push(chunk));
        answer.on("end", () => {
          const answerBody = Buffer.concat(answerChunks);
          exchanges.push({ method: req.method, path, requestBody: requestBody.toString("utf8"), status: answer.statusCode, answerBody: answerBody.toString("utf8") });
          res.writeHead(answer.statusCode, answer.headers);
          res.end(answerBody);
        });
      });
      upstream.on("error", () => res.destroy());
      upstream.end(requestBody);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    exchanges,
    fail: (path, fault) => (fault ? faults.set(path, fault) : faults.delete(path)),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  };
}

/**
 * The Worker and the stand-in. `problems`: the /healthz problems this stack
 * expects (setting names); any other problem stops the start. `proxy`: the
 * Worker reaches Configure (API and OAuth) through `startConfigureProxy`,
 * as `stack.proxy`.
 */
export async function startStack({ vars = {}, rateLimit, persist, onLog, standin, problems = [], proxy: withProxy = false } = {}) {
  const ownStandin = !standin;
  standin ??= await startStandin({ apiKey: API_KEY, agent: AGENT });
  const proxy = withProxy ? await startConfigureProxy(standin.url) : undefined;
  const configure = proxy?.url ?? standin.url;
  const worker = await startWorker({
    vars: {
      CONFIGURE_AGENT: AGENT,
      CONFIGURE_API_KEY: API_KEY,
      CONFIGURE_BASE_URL: configure,
      CONFIGURE_EDGE_API_SECRET: SECRET,
      CONFIGURE_EDGE_SEALING_KEYS: `k1:${SEALING_KEY}`,
      CONFIGURE_PUBLISHABLE_KEY: "pk_test_reliability",
      CONFIGURE_API_TIMEOUT_MS: "400",
      CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
      ALLOWED_RETURN_ORIGINS: APP,
      PUBLIC_URL: EDGE,
      CONFIGURE_ACCOUNTS_ORIGIN: configure,
      CONFIGURE_OAUTH_CLIENT_ID: OAUTH_CLIENT.clientId,
      CONFIGURE_OAUTH_CLIENT_SECRET: OAUTH_CLIENT.clientSecret,
      CONFIGURE_EDGE_SESSION_KEYS: `s1:${SESSION_KEY}`,
      ...vars,
    },
    rateLimit,
    persist,
    onLog,
  });
  const health = await (await worker.fetch("/healthz")).json();
  const unexpected = health.problems.filter((p) => !problems.includes(p.setting));
  const stop = async () => {
    await worker.dispose();
    await proxy?.close();
    if (ownStandin) await standin.close();
  };
  if (unexpected.length > 0) {
    await stop();
    throw new Error(`the Worker's settings have problems: ${JSON.stringify(unexpected)}`);
  }
  return { standin, worker, proxy, stop };
}

export function agentApi(worker, method, path, body, { secret = SECRET, headers = {} } = {}) {
  const all = { "content-type": "application/json", ...headers };
  if (secret !== null) all.authorization = `Bearer ${secret}`;
  return worker.fetch(path, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
}

export function complete(worker, body, { origin = SIGN_IN, headers = {} } = {}) {
  return worker.fetch("/auth/configure/complete", {
    method: "POST",
    headers: { "content-type": "application/json", ...(origin ? { origin } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/**
 * A journey for `subject`. `options` go into the request: `binding` ("none"
 * links at once; "confirmation", the default without phoneCandidates, keeps
 * a completion pending until `confirm`), `phoneCandidates`, `messageBody`.
 */
export async function newJourney(worker, subject, options = {}) {
  const response = await agentApi(worker, "POST", "/v1/journeys", { subject, ...options });
  if (response.status !== 201) throw new Error(`journey: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The conversation sends back a journey's confirmation word: identity resolution with its text. */
export function confirm(worker, subject, word, extra = {}) {
  return agentApi(worker, "POST", "/v1/identity/resolve", { subject, messageText: `done ${word}`, ...extra });
}

export async function linkOf(worker, subject) {
  const response = await agentApi(worker, "GET", `/v1/links/${encodeURIComponent(subject)}`);
  return response.status === 200 ? response.json() : null;
}

/**
 * A web sign-in up to the app's returnAfter: ticket, sign-in route (state
 * cookie), the stand-in's code, the callback. `{ ticket, started, response,
 * code }`: `code` is the configure_code of the 302 to returnAfter (absent
 * when the callback failed). `fault` is a stand-in mode (or "down") around
 * the callback alone.
 */
export async function webSignIn(worker, standin, subject, { returnAfter = `${APP}/done?from=edge`, fault = "ok", userId } = {}) {
  const created = await agentApi(worker, "POST", "/v1/sign-ins", { subject, returnAfter });
  if (created.status !== 201) throw new Error(`sign-in: ${created.status} ${await created.text()}`);
  const ticket = await created.json();
  const url = new URL(ticket.url);
  const started = await worker.fetch(url.pathname + url.search, { redirect: "manual" });
  const state = started.headers.getSetCookie().find((c) => c.startsWith(`${STATE_COOKIE}=`)).split(";")[0].split("=")[1];
  const { code: signInCode } = standin.issueCode(userId ? { userId } : {});
  if (fault === "down") await standin.down();
  else standin.setMode(fault);
  let response;
  try {
    response = await worker.fetch(`/api/configure/callback?code=${signInCode}&state=${state}`, {
      headers: { cookie: `${STATE_COOKIE}=${state}` },
      redirect: "manual",
    });
  } finally {
    if (fault === "down") await standin.up();
    standin.setMode("ok");
  }
  const location = response.status === 302 ? new URL(response.headers.get("location")) : null;
  return { ticket, started, state, signInCode, response, code: location?.searchParams.get(CODE_PARAM) ?? undefined };
}

/** The app's handler for returnAfter redeems the code with its signed-in user's subject. */
export function redeem(worker, code, subject, options) {
  return agentApi(worker, "POST", "/v1/sign-ins/redeem", { code, subject }, options);
}

/**
 * A "Continue with Configure" login through the stand-in's authorize page:
 * the callback's response (302 with the session cookie when it worked).
 * `fault` is a stand-in mode set just before the callback. `seen`, when
 * given, receives the login's answer and the authorize URL's state.
 */
export async function oauthLogin(worker, standin, { sub, fault = "ok", fields = {}, seen } = {}) {
  const started = await worker.fetch("/auth/configure/login", { redirect: "manual" });
  // The cookie's value is sealed (state, PKCE verifier, returnAfter): it is
  // sent back as it came.
  const sealed = started.headers.getSetCookie().find((c) => c.startsWith(`${OAUTH_COOKIE}=`)).split(";")[0].split("=")[1];
  const authorize = new URL(started.headers.get("location"));
  await seen?.({ started, state: authorize.searchParams.get("state") });
  const consent = await fetch(`${standin.url}/oauth/authorize`, {
    method: "POST",
    redirect: "manual",
    body: new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), decision: "approve", name: "Pat", email: "pat@example.com", ...(sub ? { sub } : {}), ...fields }),
  });
  const back = new URL(consent.headers.get("location"));
  standin.setMode(fault);
  try {
    return await worker.fetch(`${back.pathname}${back.search}`, { headers: { cookie: `${OAUTH_COOKIE}=${sealed}` }, redirect: "manual" });
  } finally {
    standin.setMode("ok");
  }
}
