// Shared set-up of the reliability suite: the built Worker in workerd
// (Miniflare) with the Configure stand-in, both on 127.0.0.1, and helpers
// to drive the flows.
import { randomBytes } from "node:crypto";
import { startWorker } from "../tests/e2e/support/worker.mjs";
import { startStandin, STANDIN_OAUTH_CLIENT } from "../tests/standin/configure-standin.mjs";

export const AGENT = "my-agent";
export const API_KEY = "sk_test_reliability_0123456789";
export const SECRET = "reliability-agent-api-secret-0123456789";
export const SEALING_KEY = randomBytes(32).toString("base64");
export const SESSION_KEY = randomBytes(32).toString("base64");
export const OAUTH_CLIENT = STANDIN_OAUTH_CLIENT;
export const SIGN_IN = "https://sign-in.me";
export const APP = "https://app.example";

export async function startStack({ vars = {}, rateLimit, persist, onLog, standin } = {}) {
  const ownStandin = !standin;
  standin ??= await startStandin({ apiKey: API_KEY, agent: AGENT });
  const worker = await startWorker({
    vars: {
      CONFIGURE_AGENT: AGENT,
      CONFIGURE_API_KEY: API_KEY,
      CONFIGURE_BASE_URL: standin.url,
      CONFIGURE_EDGE_API_SECRET: SECRET,
      CONFIGURE_EDGE_SEALING_KEYS: `k1:${SEALING_KEY}`,
      CONFIGURE_PUBLISHABLE_KEY: "pk_test_reliability",
      CONFIGURE_API_TIMEOUT_MS: "400",
      CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
      ALLOWED_RETURN_ORIGINS: APP,
      PUBLIC_URL: "https://edge.example",
      CONFIGURE_ACCOUNTS_ORIGIN: standin.url,
      CONFIGURE_OAUTH_CLIENT_ID: OAUTH_CLIENT.clientId,
      CONFIGURE_OAUTH_CLIENT_SECRET: OAUTH_CLIENT.clientSecret,
      CONFIGURE_EDGE_SESSION_KEYS: `s1:${SESSION_KEY}`,
      ...vars,
    },
    rateLimit,
    persist,
    onLog,
  });
  return {
    standin,
    worker,
    async stop() {
      await worker.dispose();
      if (ownStandin) await standin.close();
    },
  };
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

export async function newJourney(worker, subject) {
  const response = await agentApi(worker, "POST", "/v1/journeys", { subject });
  if (response.status !== 201) throw new Error(`journey: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function linkOf(worker, subject) {
  const response = await agentApi(worker, "GET", `/v1/links/${encodeURIComponent(subject)}`);
  return response.status === 200 ? response.json() : null;
}

/**
 * A "Continue with Configure" login through the stand-in's authorize page:
 * the callback's response (302 with the session cookie when it worked).
 * `fault` is a stand-in mode set just before the callback.
 */
export async function oauthLogin(worker, standin, { sub, fault = "ok", fields = {} } = {}) {
  const started = await worker.fetch("/auth/configure/login", { redirect: "manual" });
  const state = started.headers.getSetCookie()[0].split(";")[0].split("=")[1];
  const authorize = new URL(started.headers.get("location"));
  const consent = await fetch(`${standin.url}/oauth/authorize`, {
    method: "POST",
    redirect: "manual",
    body: new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), decision: "approve", name: "Pat", email: "pat@example.com", ...(sub ? { sub } : {}), ...fields }),
  });
  const back = new URL(consent.headers.get("location"));
  standin.setMode(fault);
  try {
    return await worker.fetch(`${back.pathname}${back.search}`, { headers: { cookie: `__Host-configure-edge-oauth=${state}` }, redirect: "manual" });
  } finally {
    standin.setMode("ok");
  }
}
