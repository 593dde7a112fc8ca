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

// ---------------------------------------------------------------------------
// The typed client of the Worker's agent API (`/v1/...`). Servers only (Node
// 20+, Cloudflare Workers): it holds CONFIGURE_EDGE_API_SECRET. In a browser
// `createConfigureEdge` throws.
// ---------------------------------------------------------------------------

/** What the client passes to `fetch` (a subset of `RequestInit`). */
export interface ConfigureEdgeRequestInit {
  method: "GET" | "POST" | "DELETE";
  headers: Record<string, string>;
  body?: string;
  redirect: "manual";
  signal: AbortSignal;
}

/** The part of a `Response` the client reads. */
export interface ConfigureEdgeFetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** A `fetch`: the global one, or one that routes to the Worker (tests, service bindings). */
export type ConfigureEdgeFetch = (input: string, init: ConfigureEdgeRequestInit) => Promise<ConfigureEdgeFetchResponse>;

/** Options of {@link createConfigureEdge}. */
export interface ConfigureEdgeOptions {
  /**
   * Where the Worker's routes answer: its origin (`"https://agent.example.com"`),
   * or a base path in front of them when a proxy strips it; a trailing slash
   * is fine. https (http only on localhost, 127.0.0.1 or [::1]), no
   * credentials, query or fragment.
   */
  url: string | URL;
  /** CONFIGURE_EDGE_API_SECRET, sent as `Authorization: Bearer <secret>`. Never exposed by the client. */
  secret: string;
  /** Default: the global `fetch`. */
  fetch?: ConfigureEdgeFetch;
  /** Per attempt, in milliseconds; default 30000. */
  timeoutMs?: number;
}

/** `error.code` of the Worker's refusals, and the client's own codes. */
export type ConfigureEdgeErrorCode =
  | "not_found"
  | "method_not_allowed"
  | "bad_request"
  | "unsupported_media_type"
  | "payload_too_large"
  | "not_configured"
  | "unauthorized"
  | "origin_not_allowed"
  | "invalid_token"
  | "journey_not_found"
  | "link_not_found"
  | "code_not_found"
  | "subject_mismatch"
  | "phone_mismatch"
  | "link_conflict"
  | "completion_conflict"
  | "not_signed_in"
  | "configure_unavailable"
  | "rate_limited"
  | "store_unavailable"
  | "internal_error"
  /** Invalid options of createConfigureEdge (status 0). */
  | "invalid_options"
  /** The Worker could not be reached (status 0). */
  | "network_error"
  /** No answer within timeoutMs (status 0). */
  | "timeout"
  /** An answer that is not the Worker's JSON. */
  | "bad_answer"
  | (string & {});

/**
 * Every refusal of the client. `status` is the HTTP status (0 when there was
 * no answer, or the client refused before sending); `code` the Worker's
 * `error.code` or the client's own; `field` the request field at fault
 * (400); `retryAfter` the Retry-After header in seconds. The message never
 * holds the secret.
 */
export class ConfigureEdgeError extends Error {
  constructor(message: string, details?: { status?: number; code?: ConfigureEdgeErrorCode; field?: string; retryAfter?: number });
  name: "ConfigureEdgeError";
  status: number;
  code: ConfigureEdgeErrorCode;
  field: string | undefined;
  retryAfter: number | undefined;
}

/** The SDK's `MessageIdentitySource`. */
export type MessageIdentitySource = "token" | "phone_recognition" | "external_id";

/** The official SDK's `MessageIdentity` (`configure@1.7.4`), field for field. */
export interface MessageIdentity {
  externalId: string;
  token?: string;
  userId?: string;
  linked: boolean;
  approved: boolean;
  recognized: boolean;
  displayName?: string | null;
  source: MessageIdentitySource;
}

/** A list of phone-like sender ids, or one. */
export type PhoneCandidates = string | readonly string[];

/** Input of {@link ConfigureEdgeClient.resolveMessageIdentity}. */
export interface ResolveMessageIdentityOptions {
  /** Your key for the conversation; default `externalId`. */
  subject?: string;
  /** Required: the fallback identity (the SDK's `externalId`). */
  externalId: string;
  phoneCandidates?: PhoneCandidates;
  /** Validate the stored token with Configure before using it. */
  validateToken?: boolean;
  /** The inbound message's text: confirms a pending completion when it carries its word. */
  messageText?: string;
}

/** Who may complete a journey ("sender": a minted journey, bound to the proven sender). */
export type JourneyBinding = "phone" | "confirmation" | "none" | "sender";

/** The SDK's message sign-in reasons. */
export type MessageSignInReason = "signin" | "reconnect" | "permissions";

/** Why a journey with a sender proof fell back to a plain URL. */
export type MessageSignInFallbackReason = "sender_proof_missing" | "sender_proof_invalid" | "sender_proof_unsupported";

/** Input of {@link ConfigureEdgeClient.createJourney} (openapi `JourneyRequest`). */
export interface CreateJourneyOptions {
  subject: string;
  connectors?: readonly (ConnectorName | (string & {}))[] | string;
  displayName?: string;
  messageLinePhone?: string;
  messageBody?: string;
  theme?: "light" | "dark";
  phoneCandidates?: PhoneCandidates;
  binding?: "phone" | "confirmation" | "none";
  /**
   * The messaging provider's signed evidence of the sender (needs `channel`):
   * Configure's minted, sender-bound URL when it verifies (mode "minted",
   * binding "sender"), else the Worker's own URL (mode "plain").
   */
  messageSenderProof?: string;
  /** The message channel, e.g. "imessage" or "sms"; required with messageSenderProof. */
  channel?: string;
  /** Why the URL is sent (with messageSenderProof); "signin" when absent. */
  reason?: MessageSignInReason;
  /** The platform's sender id (with messageSenderProof), e.g. the sender's phone. */
  senderId?: string;
  /** The external id Configure gets for the subject (with messageSenderProof). */
  externalId?: string;
  /** The conversation (with messageSenderProof). */
  thread?: { key?: string; spaceId?: string; messageId?: string };
}

/** The answer of {@link ConfigureEdgeClient.createJourney} (openapi `JourneyCreated`). */
export interface JourneyCreated {
  url: string;
  journeyId: string;
  expiresAt: string;
  binding: JourneyBinding;
  /** The word the conversation sends back; every binding but "none" (and "sender"). */
  confirmation?: string;
  /** Only when the Worker answers it. */
  mode?: "minted" | "plain";
  /** A minted journey's code. */
  code?: string;
  /** A plain journey's reason for not minting. */
  fallbackReason?: MessageSignInFallbackReason;
}

/** A stored link (openapi `Link`). */
export interface Link {
  subject: string;
  userId: string;
  token: string;
  linkedAt: string;
  source: "webhook" | "phone_recognition" | "callback" | "oauth";
  /** OAuth links only. */
  refreshToken?: string;
  /** OAuth links only: when the access token expires. */
  expiresAt?: string;
  /** OAuth links only: Configure refused the refresh; the user must sign in again. */
  reconnectRequired?: true;
}

/** Input of `signIns.create` (openapi `SignInRequest`). */
export interface CreateSignInOptions {
  subject: string;
  /** An https URL (http on loopback) on an origin in ALLOWED_RETURN_ORIGINS. */
  returnAfter: string;
}

/** The answer of `signIns.create` (openapi `SignInCreated`). */
export interface SignInCreated {
  url: string;
  expiresAt: string;
}

/** Input of `signIns.redeem` (openapi `RedeemRequest`). */
export interface RedeemSignInOptions {
  /** The configure_code returnAfter received. */
  code: string;
  /** The subject of the user signed in to the app's own session. */
  subject: string;
}

/** The answer of `signIns.redeem` (openapi `Redeemed`). */
export interface Redeemed {
  subject: string;
  userId: string;
  linked: true;
  source: "callback";
}

/** One registration of {@link SetupReport}. */
export interface SetupRegistration {
  /** "return_to", "oauth_redirect", "message_line", ... */
  kind: string;
  url?: string;
  /** Message-line registrations. */
  phone?: string;
  status?: "registered" | "already-registered";
}

/** One failed registration of {@link SetupReport}. */
export interface SetupFailure {
  kind: string;
  url?: string;
  phone?: string;
  code: string;
  message: string;
}

/** The answer of `setup()` (openapi `SetupReport`). */
export interface SetupReport {
  ok: boolean;
  registered: SetupRegistration[];
  failed: SetupFailure[];
}

/** The client {@link createConfigureEdge} returns. Every method throws {@link ConfigureEdgeError}. */
export interface ConfigureEdgeClient {
  /** POST /v1/identity/resolve: the SDK's MessageIdentity (the Worker's `errors` dropped, source "webhook" as "token"). */
  resolveMessageIdentity(options: ResolveMessageIdentityOptions): Promise<MessageIdentity>;
  /** POST /v1/journeys: a message sign-in's hosted URL. */
  createJourney(options: CreateJourneyOptions): Promise<JourneyCreated>;
  readonly links: {
    /** GET /v1/links/{subject}: the link, or null when there is none (404 link_not_found). */
    get(subject: string): Promise<Link | null>;
    /** DELETE /v1/links/{subject} (idempotent). */
    delete(subject: string): Promise<void>;
  };
  readonly signIns: {
    /** POST /v1/sign-ins: a one-time ticket URL that starts a web sign-in. */
    create(options: CreateSignInOptions): Promise<SignInCreated>;
    /** POST /v1/sign-ins/redeem: links the subject when it is the ticket's. */
    redeem(options: RedeemSignInOptions): Promise<Redeemed>;
  };
  /** POST /v1/setup: registers the Worker's callbacks with Configure. */
  setup(): Promise<SetupReport>;
}

/**
 * The agent API client. Retries only a 502/503 that carries Retry-After (at
 * most twice, waiting the larger of Retry-After and a 250 ms doubling
 * backoff, at most 5 s each).
 *
 * @throws {ConfigureEdgeError} `invalid_options` (status 0) for a missing or
 *   invalid url, an empty secret, a fetch that is not a function or a bad timeoutMs.
 */
export function createConfigureEdge(options: ConfigureEdgeOptions): ConfigureEdgeClient;
