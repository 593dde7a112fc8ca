// The typed client of the Worker's agent API (/v1/...): an agent on a server
// (Node 20+, or a JavaScript Cloudflare Worker) calls the Worker with its
// bearer secret (CONFIGURE_EDGE_API_SECRET) instead of holding Configure's
// sk_ key. Plain JS with no dependencies: the global fetch and
// AbortController. Not for browsers: it holds the secret.

// Longer than the Worker's own Configure timeout (10 s by default): identity
// resolution can make two Configure calls in a row before it answers.
const DEFAULT_TIMEOUT_MS = 30_000;
// setTimeout's largest delay; a longer timeout would fire at once.
const MAX_TIMEOUT_MS = 2_147_483_647;
// Retries of a 502/503 that carries Retry-After: at most 2 (3 attempts),
// each wait the larger of Retry-After and the backoff, never over the cap.
const MAX_RETRIES = 2;
const FIRST_BACKOFF_MS = 250;
const MAX_WAIT_MS = 5_000;
const RETRIED_STATUSES = new Set([502, 503]);
const REDACTED = "[redacted]";

const IDENTITY_SOURCES = new Set(["token", "phone_recognition", "external_id"]);

/**
 * Every refusal of the client: the Worker's error (HTTP status, error.code,
 * error.field, message, Retry-After), or status 0 when there was no answer.
 */
export class ConfigureEdgeError extends Error {
  constructor(message, { status = 0, code, field, retryAfter } = {}) {
    super(message);
    this.name = "ConfigureEdgeError";
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

const invalidOptions = (message) => new ConfigureEdgeError(message, { status: 0, code: "invalid_options" });
const badRequest = (field, message) => new ConfigureEdgeError(message, { status: 0, code: "bad_request", field });

/** The Worker's base URL (origin, plus the path it is mounted under) without a trailing slash. */
function baseUrlOf(url) {
  if (typeof url !== "string" && !(url instanceof URL)) {
    throw invalidOptions("createConfigureEdge: url is required (the Worker's origin, e.g. \"https://agent.example.com\")");
  }
  let parsed;
  try {
    parsed = new URL(String(url).trim());
  } catch {
    throw invalidOptions("createConfigureEdge: url must be an absolute http(s) URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw invalidOptions("createConfigureEdge: url must be an http(s) URL");
  }
  // The bearer secret crosses this connection: plain http only on loopback.
  if (parsed.protocol === "http:" && !isLoopback(parsed.hostname)) {
    throw invalidOptions("createConfigureEdge: url must be https (http only on localhost, 127.0.0.1 or [::1])");
  }
  if (parsed.username || parsed.password) {
    throw invalidOptions("createConfigureEdge: url must not carry credentials (pass the secret as `secret`)");
  }
  if (parsed.search || parsed.hash) {
    throw invalidOptions("createConfigureEdge: url must not have a query or a fragment");
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
}

function isLoopback(hostname) {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function timeoutOf(timeoutMs) {
  if (timeoutMs === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw invalidOptions(`createConfigureEdge: timeoutMs must be a number of milliseconds above 0 and at most ${MAX_TIMEOUT_MS}`);
  }
  return timeoutMs;
}

function fetchOf(fetchOption) {
  if (fetchOption === undefined) {
    if (typeof globalThis.fetch !== "function") {
      throw invalidOptions("createConfigureEdge: there is no global fetch here; pass `fetch`");
    }
    // Looked up on each call and called on globalThis: Workers refuse a
    // fetch called with another `this` ("Illegal invocation").
    return (input, init) => globalThis.fetch(input, init);
  }
  if (typeof fetchOption !== "function") throw invalidOptions("createConfigureEdge: fetch must be a function");
  // Called as a plain function (no `this`), so an unbound fetch works.
  return (input, init) => fetchOption(input, init);
}

/** Seconds of a Retry-After header (delta-seconds or an HTTP date), else undefined. */
function retryAfterOf(headers) {
  const value = headers?.get?.("retry-after");
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The parsed JSON of an answer's text, or undefined when it is not JSON. */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/** The body's fields that are present (neither undefined nor null), in the given order. */
function present(fields) {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
}

export function createConfigureEdge(options) {
  if (!isObject(options)) {
    throw invalidOptions("createConfigureEdge: options are required ({ url, secret })");
  }
  const baseUrl = baseUrlOf(options.url);
  // The secret lives only in this closure: never a property, never in a message.
  const secret = options.secret;
  if (typeof secret !== "string" || secret.trim() === "") {
    throw invalidOptions("createConfigureEdge: secret is required (CONFIGURE_EDGE_API_SECRET)");
  }
  const fetchFn = fetchOf(options.fetch);
  const timeoutMs = timeoutOf(options.timeoutMs);

  const redact = (text) => String(text).split(secret).join(REDACTED);

  /** One attempt: the answer's status, headers and text, or a status-0 error. */
  async function attempt(url, init) {
    const controller = new AbortController();
    let timedOut = false;
    let timer;
    // Rejects at the timeout even when a fetch ignores the signal.
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
        reject(new Error("timeout"));
      }, timeoutMs);
    });
    const exchange = (async () => {
      const response = await fetchFn(url, { ...init, signal: controller.signal });
      // The timeout covers the body too.
      const text = await response.text();
      return { status: response.status, headers: response.headers, text };
    })();
    exchange.catch(() => {}); // a late failure after the timeout is not unhandled
    try {
      return await Promise.race([exchange, deadline]);
    } catch (error) {
      if (timedOut) {
        throw new ConfigureEdgeError(`The Worker did not answer within ${timeoutMs} ms`, { status: 0, code: "timeout" });
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigureEdgeError(redact(`The Worker could not be reached: ${reason}`), { status: 0, code: "network_error" });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The ConfigureEdgeError of a refusal (any answer but 2xx). */
  function refusal(answer) {
    const retryAfter = retryAfterOf(answer.headers);
    const json = parseJson(answer.text);
    const error = isObject(json) && json.ok === false && isObject(json.error) ? json.error : undefined;
    if (!error || typeof error.code !== "string" || typeof error.message !== "string") {
      return new ConfigureEdgeError(`The Worker answered ${answer.status} without its JSON error`, {
        status: answer.status,
        code: "bad_answer",
        retryAfter,
      });
    }
    return new ConfigureEdgeError(redact(error.message), {
      status: answer.status,
      code: error.code,
      field: typeof error.field === "string" ? error.field : undefined,
      retryAfter,
    });
  }

  /**
   * Sends one agent-API request, retrying a 502/503 that carries
   * Retry-After, and answers the 2xx answer ({ status, headers, text });
   * any other answer, or none, throws its ConfigureEdgeError.
   */
  async function call(method, path, body, { retries = MAX_RETRIES } = {}) {
    const headers = { accept: "application/json", authorization: `Bearer ${secret}` };
    const init = { method, headers, redirect: "manual" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const url = `${baseUrl}${path}`;
    for (let retry = 0; ; retry++) {
      const answer = await attempt(url, init);
      if (answer.status >= 200 && answer.status < 300) return answer;
      const error = refusal(answer);
      const retryable = RETRIED_STATUSES.has(answer.status) && error.retryAfter !== undefined;
      if (!retryable || retry >= retries) throw error;
      const backoff = FIRST_BACKOFF_MS * 2 ** retry;
      await sleep(Math.min(MAX_WAIT_MS, Math.max(error.retryAfter * 1000, backoff)));
    }
  }

  /** The answer's JSON object, checked by `valid`, else a bad_answer error. */
  function jsonOf(answer, valid) {
    const json = parseJson(answer.text);
    if (!isObject(json) || !valid(json)) {
      throw new ConfigureEdgeError(`The Worker answered ${answer.status} with an unexpected body`, {
        status: answer.status,
        code: "bad_answer",
      });
    }
    return json;
  }

  const isString = (value) => typeof value === "string";
  const isBoolean = (value) => typeof value === "boolean";

  function requiredSubject(subject) {
    if (typeof subject !== "string" || subject === "") throw badRequest("subject", "subject is required");
    return subject;
  }

  async function resolveMessageIdentity(request = {}) {
    const { subject, externalId, phoneCandidates, validateToken, messageText } = isObject(request) ? request : {};
    // As the SDK: refused before any request.
    if (typeof externalId !== "string" || externalId.trim() === "") {
      throw badRequest("externalId", "externalId is required for message identity resolution");
    }
    const answer = await call(
      "POST",
      "/v1/identity/resolve",
      present({ subject: subject ?? externalId, externalId, phoneCandidates, validateToken, messageText }),
    );
    const json = jsonOf(
      answer,
      (j) =>
        isString(j.externalId) && isBoolean(j.linked) && isBoolean(j.approved) && isBoolean(j.recognized) &&
        (j.source === "webhook" || IDENTITY_SOURCES.has(j.source)),
    );
    // The SDK's MessageIdentity: a completion confirmed just now ("webhook")
    // is a stored token; the Worker's `errors` are not part of it.
    const identity = { externalId: json.externalId };
    if (isString(json.token)) identity.token = json.token;
    if (isString(json.userId)) identity.userId = json.userId;
    identity.linked = json.linked;
    identity.approved = json.approved;
    identity.recognized = json.recognized;
    if (isString(json.displayName) || json.displayName === null) identity.displayName = json.displayName;
    identity.source = json.source === "webhook" ? "token" : json.source;
    return identity;
  }

  async function createJourney(request = {}) {
    const r = isObject(request) ? request : {};
    const answer = await call(
      "POST",
      "/v1/journeys",
      present({
        subject: r.subject,
        connectors: r.connectors,
        displayName: r.displayName,
        messageLinePhone: r.messageLinePhone,
        messageBody: r.messageBody,
        theme: r.theme,
        phoneCandidates: r.phoneCandidates,
        binding: r.binding,
        messageSenderProof: r.messageSenderProof,
        channel: r.channel,
        reason: r.reason,
        senderId: r.senderId,
        externalId: r.externalId,
        thread: r.thread,
      }),
      // A sender proof may be good for one mint: a retry could silently get
      // a plain URL instead, so a minted journey is asked for once.
      { retries: r.messageSenderProof ? 0 : MAX_RETRIES },
    );
    const json = jsonOf(answer, (j) => isString(j.url) && isString(j.journeyId) && isString(j.expiresAt) && isString(j.binding));
    const journey = { url: json.url, journeyId: json.journeyId, expiresAt: json.expiresAt, binding: json.binding };
    for (const name of ["confirmation", "mode", "code", "fallbackReason"]) {
      if (isString(json[name])) journey[name] = json[name];
    }
    return journey;
  }

  const linkPath = (subject) => `/v1/links/${encodeURIComponent(requiredSubject(subject))}`;

  const links = Object.freeze({
    async get(subject) {
      const path = linkPath(subject);
      try {
        const answer = await call("GET", path);
        return jsonOf(answer, (j) => isString(j.subject) && isString(j.userId) && isString(j.token) && isString(j.source));
      } catch (error) {
        if (error instanceof ConfigureEdgeError && error.status === 404 && error.code === "link_not_found") return null;
        throw error;
      }
    },
    async delete(subject) {
      await call("DELETE", linkPath(subject));
      return undefined;
    },
  });

  const signIns = Object.freeze({
    async create(request = {}) {
      const r = isObject(request) ? request : {};
      const answer = await call("POST", "/v1/sign-ins", present({ subject: r.subject, returnAfter: r.returnAfter }));
      const json = jsonOf(answer, (j) => isString(j.url) && isString(j.expiresAt));
      return { url: json.url, expiresAt: json.expiresAt };
    },
    async redeem(request = {}) {
      const r = isObject(request) ? request : {};
      const answer = await call("POST", "/v1/sign-ins/redeem", present({ code: r.code, subject: r.subject }));
      const json = jsonOf(
        answer,
        (j) => isString(j.subject) && isString(j.userId) && j.linked === true && j.source === "callback",
      );
      return { subject: json.subject, userId: json.userId, linked: true, source: "callback" };
    },
  });

  async function setup() {
    const answer = await call("POST", "/v1/setup");
    return jsonOf(answer, (j) => isBoolean(j.ok) && Array.isArray(j.registered) && Array.isArray(j.failed));
  }

  return Object.freeze({ resolveMessageIdentity, createJourney, links, signIns, setup });
}
