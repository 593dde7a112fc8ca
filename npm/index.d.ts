/**
 * configure-edge: the official Configure SDK's hosted sign-in URL and
 * validation helpers, compiled from Rust to WebAssembly. Same input, same
 * output (and the same errors) as `configure@1.7.4`, with no API key.
 */

/** Connector names the SDK knows. Other strings pass through unchanged. */
export type ConnectorName = "gmail" | "outlook" | "calendar" | "drive" | "notion" | "sheets";

/** Options of a hosted sign-in URL (the SDK's `SignInUrlOptions`). */
export interface SignInUrlOptions {
  /** Optional legacy browser credential (`pk_...`); never an `sk_` key. Sent as `pk`. */
  publishableKey?: string;
  /** Web callback or deep link that receives a short-lived sign-in code. Sent as `return_to`. */
  returnTo?: string;
  /** Opaque value returned with the sign-in code. Sent as `state`. */
  state?: string;
  /** Id that ties a message-agent completion to its conversation. Sent as `journey`. */
  journeyId?: string;
  /** App label shown on the hosted page. Sent as `agent_name`. */
  displayName?: string;
  /** Alias of `displayName`, used when that is empty. */
  agentName?: string;
  /** Logo URL shown on the hosted page. Sent as `agent_logo`. */
  agentLogo?: string;
  /** How the user gets back: `"message"` for message agents. Sent as `delivery`. */
  delivery?: "browser" | "message" | "messages" | "imessage" | "sms" | "opener" | (string & {});
  /** Message line the user returns to after signing in. Sent as `message_line_phone`. */
  messageLinePhone?: string;
  /** Alias of `messageLinePhone`, used when that is empty. */
  agentPhone?: string;
  /** Suggested message body for returning to the agent. Sent as `message_body`. */
  messageBody?: string;
  /** Endpoint the hosted page posts the completion to. Sent as `message_complete_url`. */
  messageCompleteUrl?: string;
  /** Connectors to set up: a list (trimmed, empties dropped, joined with ",") or one string. */
  connectors?: readonly (ConnectorName | (string & {}))[] | string;
  /** Hosted sign-in origin; default `https://sign-in.me`. Its path, query and fragment are dropped. */
  signInOrigin?: string;
  /** Hosted page theme. Sent as `theme`. */
  theme?: "light" | "dark";
}

/** The SDK's error codes a helper can throw. */
export type ConfigureErrorCode = "INVALID_INPUT" | "API_KEY_MISSING" | "AUTH_REQUIRED" | "NOT_FOUND" | "RATE_LIMITED" | "SERVER_ERROR" | "NETWORK_ERROR" | "TIMEOUT" | "ACCESS_DENIED" | "PAYMENT_REQUIRED" | "COMMIT_REQUIRED";

/**
 * What every helper throws: an `Error` with `name` `"ConfigureError"`, the
 * SDK's `code` and the SDK's message text for the same input.
 */
export interface ConfigureError extends Error {
  name: "ConfigureError";
  code: ConfigureErrorCode;
  /** Always undefined for these local checks (no HTTP call is made). */
  statusCode?: number;
}

/**
 * Builds the hosted sign-in URL exactly as
 * `new Configure({ agent, ... }).auth.signInUrl(options)` does.
 *
 * @throws {ConfigureError} `INVALID_INPUT` for an invalid or reserved agent
 *   handle, or a `signInOrigin` that is not an absolute URL.
 */
export function signInUrl(options: SignInUrlOptions & { agent: string }): string;

/**
 * Returns the agent handle if the SDK accepts it: 2 to 63 characters of
 * lowercase letters, digits and hyphens, starting and ending alphanumeric,
 * and not reserved.
 *
 * @throws {ConfigureError} `INVALID_INPUT` with the SDK's message.
 */
export function validateAgentHandle(agent: string): string;

/**
 * The list the SDK's `recognizePhone` would send: one value or a list, each
 * stringified and trimmed, empties and exact duplicates dropped, order kept.
 */
export function normalizePhoneCandidates(value: string | readonly string[] | null | undefined): string[];

/**
 * The E.164 form the SDK's OTP and message-line calls would send: spaces,
 * `-`, `.`, `(` and `)` removed, `+` added when missing.
 *
 * @throws {ConfigureError} `INVALID_INPUT`: `phone is required`, or
 *   `Invalid phone number "<input>". Must be in E.164 format (e.g., "+14155551234").`
 */
export function validatePhone(phone: string): string;

/** Input of {@link resolveSsoRedirectUri}. */
export interface SsoRedirectUriInput {
  /** An explicit redirect URI; wins over `appUrl` when given. */
  redirectUri?: string;
  /** The app's URL; the callback path is appended (trailing slashes dropped). */
  appUrl?: string;
  /** Path under `appUrl`; default `/auth/configure/callback`. */
  callbackPath?: string;
}

/**
 * The SSO redirect URI the SDK would register, or why it would refuse it:
 * https only (http on localhost and 127.0.0.1), no `*`, no whitespace, no
 * fragment, no credentials. Never throws.
 */
export function resolveSsoRedirectUri(input: SsoRedirectUriInput): { redirectUri: string } | { error: string };

/** Options of {@link configureBetterAuthOAuthProvider} (the SDK's). */
export interface ConfigureBetterAuthOptions {
  /** The OAuth client id of "Continue with Configure". */
  clientId: string;
  /** Its secret (sent with client_secret_basic). */
  clientSecret: string;
  /** The server-side `sk_` key, for the profile identity read. */
  apiKey: string;
  /** The agent handle (validated as the SDK's client does). */
  agent: string;
  /** The Configure API; default `https://api.configure.dev` (query, fragment and a trailing slash dropped). */
  baseUrl?: string;
  /** The authorization origin; default `https://accounts.configure.dev`. */
  accountsOrigin?: string;
  /** The resource indicator (an origin); default `https://api.configure.dev`. */
  resource?: string;
  /** Scopes; default `["profile.read", "profile.search"]`. */
  scopes?: string[];
  /** Better Auth provider id; default `"configure"`. */
  providerId?: string;
  /** A `fetch` to use (tests); default the global one. */
  fetch?: (input: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<Response>;
}

/** What `getUserInfo` answers: the token's subject and the profile's identity. */
export interface ConfigureUserInfo {
  sub: string;
  name?: string;
  email?: string;
  emailVerified: boolean;
  [field: string]: unknown;
}

/** A Better Auth Generic OAuth provider config, as the SDK builds it. */
export interface ConfigureBetterAuthProvider {
  providerId: string;
  clientId: string;
  clientSecret: string;
  authorizationUrl: string;
  tokenUrl: string;
  scopes: string[];
  pkce: true;
  authentication: "basic";
  authorizationUrlParams: { resource: string };
  tokenUrlParams: { resource: string };
  /** Introspects the access token and reads the profile's identity; null unless the token is active with a subject. */
  getUserInfo(tokens: { accessToken?: string; access_token?: string }): Promise<ConfigureUserInfo | null>;
  mapProfileToUser(profile: ConfigureUserInfo): { id: string; name: string; email?: string; emailVerified: boolean };
}

/**
 * "Continue with Configure" for Better Auth's Generic OAuth plugin: the same
 * config object as the SDK's `configureBetterAuthOAuthProvider`.
 *
 * @throws {ConfigureError} `API_KEY_MISSING` without `apiKey`; `INVALID_INPUT` for a bad agent handle.
 */
export function configureBetterAuthOAuthProvider(options: ConfigureBetterAuthOptions): ConfigureBetterAuthProvider;
