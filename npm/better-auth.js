// configureBetterAuthOAuthProvider: "Continue with Configure" as a Better
// Auth Generic OAuth provider, the same config object the official SDK
// builds (PKCE, client_secret_basic, the resource indicator, and a user-info
// hook that introspects the access token and reads the profile's identity).
// No Worker is needed for it; it runs wherever Better Auth runs.
import { validateAgentHandle } from "./wasm/configure_edge.js";

const DEFAULT_BASE_URL = "https://api.configure.dev";
const DEFAULT_ACCOUNTS_ORIGIN = "https://accounts.configure.dev";
const DEFAULT_RESOURCE = "https://api.configure.dev";
const DEFAULT_SCOPES = ["profile.read", "profile.search"];

function configureError(code, message) {
  const error = new Error(message);
  error.name = "ConfigureError";
  error.code = code;
  error.statusCode = undefined;
  return error;
}

/** The origin of a URL, or "" for a missing or unparsable value. */
function originOf(value) {
  if (!value) return "";
  try {
    return new URL(value).origin;
  } catch {
    return "";
  }
}

/** An absolute URL without query, fragment or one trailing slash, or "". */
function baseOf(value) {
  if (!value) return "";
  let url;
  try {
    url = new URL(value);
  } catch {
    return "";
  }
  url.search = "";
  url.hash = "";
  const text = url.href;
  return text.endsWith("/") ? text.slice(0, -1) : text;
}

/** The SDK's answer mapping for a failed API call (code by status). */
function failure(status, body) {
  const error = body && typeof body === "object" ? body.error : undefined;
  if (error && typeof error === "object" && typeof error.type === "string" && typeof error.code === "string") {
    const byType = {
      authentication_error: "AUTH_REQUIRED",
      invalid_request_error: "INVALID_INPUT",
      permission_error: error.code === "commit_required" ? "COMMIT_REQUIRED" : "ACCESS_DENIED",
      tool_error: error.code === "tool_not_connected" ? "TOOL_NOT_CONNECTED" : "TOOL_ERROR",
      rate_limit_error: error.code === "quota_exceeded" ? "PAYMENT_REQUIRED" : "RATE_LIMITED",
    };
    const err = configureError(byType[error.type] ?? "SERVER_ERROR", typeof error.message === "string" ? error.message : "Request failed");
    err.statusCode = status;
    return err;
  }
  const message = typeof error === "string" ? error : typeof body?.message === "string" ? body.message : "Request failed";
  const lower = message.toLowerCase();
  const code =
    status === 401 || status === 403 ? "AUTH_REQUIRED"
    : status === 404 ? "NOT_FOUND"
    : status === 409 && lower.includes("commit") ? "COMMIT_REQUIRED"
    : status === 429 ? "RATE_LIMITED"
    : status >= 500 ? "SERVER_ERROR"
    : lower.includes("not connected") || lower.includes("not linked") ? "TOOL_NOT_CONNECTED"
    : "INVALID_INPUT";
  const err = configureError(code, message);
  err.statusCode = status;
  return err;
}

/**
 * The Better Auth Generic OAuth provider config for "Continue with Configure".
 * @param {import("./index.js").ConfigureBetterAuthOptions} options
 */
export function configureBetterAuthOAuthProvider(options) {
  if (!options.apiKey) {
    throw configureError("API_KEY_MISSING", "Configure API key is required. Pass options.apiKey or set CONFIGURE_API_KEY.");
  }
  const agent = validateAgentHandle(options.agent ?? "");
  const baseUrl = baseOf(options.baseUrl) || DEFAULT_BASE_URL;
  const accountsOrigin = originOf(options.accountsOrigin) || DEFAULT_ACCOUNTS_ORIGIN;
  const resource = originOf(options.resource) || DEFAULT_RESOURCE;
  const scopes = options.scopes && options.scopes.length > 0 ? options.scopes : DEFAULT_SCOPES;
  const fetchFn = options.fetch || ((...args) => globalThis.fetch(...args));
  const apiKey = options.apiKey;

  async function introspect(token) {
    const response = await fetchFn(`${baseUrl}/oauth/introspect`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    if (!response.ok) return {};
    const json = await response.json();
    return { active: json.active === true, sub: typeof json.sub === "string" && json.sub ? json.sub : undefined };
  }

  async function identity(token) {
    let response;
    try {
      response = await fetchFn(`${baseUrl}/v1/profile?sections=identity`, {
        method: "GET",
        // As the SDK's profile runtime: fresh correlation ids per read, and
        // its client adds X-Agent to every request it makes.
        headers: {
          "Content-Type": "application/json",
          "X-API-Key": apiKey,
          Authorization: `Bearer ${token}`,
          "X-Configure-Session-Id": `session_${crypto.randomUUID()}`,
          "X-Configure-Runtime-Scope-Id": `scope_${crypto.randomUUID()}`,
          "X-Agent": agent,
        },
      });
    } catch (error) {
      throw error?.name === "AbortError" ? configureError("TIMEOUT", "Request timed out") : configureError("NETWORK_ERROR", error?.message ?? "Failed to read profile");
    }
    if (!response.ok) throw failure(response.status, await response.json().catch(() => ({})));
    let json;
    try {
      json = await response.json();
    } catch (error) {
      throw configureError("NETWORK_ERROR", error?.message ?? "Failed to read profile");
    }
    return json?.identity || {};
  }

  return {
    providerId: options.providerId || "configure",
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    authorizationUrl: `${accountsOrigin}/oauth/authorize`,
    tokenUrl: `${baseUrl}/oauth/token`,
    scopes,
    pkce: true,
    authentication: "basic",
    authorizationUrlParams: { resource },
    tokenUrlParams: { resource },
    async getUserInfo(tokens) {
      const raw = tokens.accessToken || tokens.access_token;
      const accessToken = typeof raw === "string" && raw.trim() ? raw.trim() : null;
      if (!accessToken) return null;
      const [status, profile] = await Promise.all([introspect(accessToken), identity(accessToken)]);
      if (status.active !== true || !status.sub) return null;
      return { sub: status.sub, ...profile, emailVerified: Boolean(profile.email) };
    },
    mapProfileToUser(profile) {
      return {
        id: profile.sub,
        name: profile.name || "Configure user",
        ...(profile.email ? { email: profile.email } : {}),
        emailVerified: Boolean(profile.emailVerified),
      };
    },
  };
}
