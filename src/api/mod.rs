//! The Configure API as a port. `ConfigureApi` is what the flows call;
//! `HttpConfigureApi` implements it over any `HttpTransport` (the Worker's
//! Fetch adapter, a fake in tests) with the official SDK's exact requests
//! (method, path, `Content-Type`, `X-API-Key`, `X-Agent`, JSON body) and its
//! mapping of answers and failures to error codes.

use crate::sdk::configure_error::{ConfigureError, ErrorCode};
use crate::settings::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

mod message;
pub use message::*;

/// One request to the Configure API, fully built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    pub method: &'static str,
    pub url: String,
    /// In the SDK's order: `Content-Type` (when there is a body), `X-API-Key`, `X-Agent`.
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

/// The API's answer: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: String,
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No answer within the timeout (the SDK's abort): `TIMEOUT`.
    Timeout,
    /// The fetch itself failed (refused, reset, DNS): `NETWORK_ERROR`.
    Network(String),
}

/// Sends one request; the Worker's adapter uses `fetch` with an abort timer.
#[allow(async_fn_in_trait)]
pub trait HttpTransport {
    async fn send(&self, request: &ApiRequest, timeout_ms: u64) -> Result<ApiResponse, TransportError>;
}

/// `validateSignInToken`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenValidation {
    /// True only if the API said exactly `true`.
    pub valid: bool,
    pub user_id: Option<String>,
    /// `tokenUse`/`token_use` when the API gave one (`"agent"` for agent
    /// tokens); any other JSON type reads as its JSON text.
    pub token_use: Option<String>,
    pub approved: Option<bool>,
    pub agent: Option<String>,
}

/// `exchangeSignInCode`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInExchange {
    pub token: String,
    pub user_id: String,
    pub agent: String,
    /// False only if the API said exactly `false`.
    pub approved: bool,
    /// `tokenUse`/`token_use` when the API gave one.
    pub token_use: Option<String>,
}

/// `recognizePhone`'s answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneRecognition {
    pub matched: bool,
    pub recognized: Option<bool>,
    pub approved: bool,
    pub linked: bool,
    pub token: Option<String>,
    pub user_id: Option<String>,
    pub agent: Option<String>,
    pub display_name: Option<String>,
    pub phone_candidate_count: Option<f64>,
}

/// `allowSignInReturnTo`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnDestination {
    pub destination: String,
    pub created_at: Option<String>,
    pub deleted: Option<bool>,
}

/// The OAuth client of "Continue with Configure" (client_secret_basic).
#[derive(Debug, Clone, Copy)]
pub struct OAuthClient<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
}

/// An authorization-code token request (RFC 6749 4.1.3 with PKCE and RFC
/// 8707's resource indicator).
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
    pub resource: &'a str,
}

/// A refresh-token grant (RFC 6749 section 6 with RFC 8707's resource
/// indicator). Refresh tokens rotate: the answer's new refresh token
/// replaces this one, which the server will refuse from now on.
#[derive(Debug, Clone, Copy)]
pub struct TokenRefresh<'a> {
    pub refresh_token: &'a str,
    pub resource: &'a str,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Seconds the access token lives, when the server says.
    pub expires_in: Option<u64>,
}

/// Token introspection, as the SDK reads it: a user only when `active` is
/// exactly true and `sub` a non-empty string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Introspection {
    pub active: bool,
    pub sub: Option<String>,
}

/// The OAuth client's redirect URIs after a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthRedirects {
    pub redirect_uris: Vec<String>,
    /// False when the URI was already registered.
    pub changed: bool,
}

/// The Configure API calls the flows need.
#[allow(async_fn_in_trait)]
pub trait ConfigureApi {
    async fn validate(&self, token: &str) -> Result<TokenValidation, ConfigureError>;
    async fn exchange(&self, code: &str) -> Result<SignInExchange, ConfigureError>;
    async fn recognize_phone(&self, candidates: &[String]) -> Result<PhoneRecognition, ConfigureError>;
    async fn allow_return_to(&self, return_to: &str) -> Result<ReturnDestination, ConfigureError>;
    /// `POST <base>/oauth/token`: redeems an authorization code.
    async fn oauth_token(
        &self,
        client: OAuthClient<'_>,
        request: TokenRequest<'_>,
    ) -> Result<OAuthTokens, ConfigureError>;
    /// `POST <base>/oauth/token` with `grant_type=refresh_token`: new tokens
    /// for a refresh token. A refusal of the grant (the refresh token is
    /// used, revoked or expired: the user must sign in again) is the error
    /// for which `is_invalid_grant` is true.
    async fn oauth_refresh(
        &self,
        client: OAuthClient<'_>,
        refresh: TokenRefresh<'_>,
    ) -> Result<OAuthTokens, ConfigureError>;
    /// `POST <base>/oauth/introspect`; a non-2xx answer is an inactive token.
    async fn introspect(&self, access_token: &str) -> Result<Introspection, ConfigureError>;
    /// `GET <base>/v1/profile?sections=identity` as the user of `access_token`:
    /// the identity section (empty when absent).
    async fn profile_identity(&self, access_token: &str) -> Result<Map<String, Value>, ConfigureError>;
    /// `PATCH <base>/v1/developer/oauth/clients/<id>` adding one redirect URI;
    /// a failure's message is the SDK's explanation (`failureReason`).
    async fn add_oauth_redirect_uri(
        &self,
        client_id: &str,
        uri: &str,
    ) -> Result<OAuthRedirects, ConfigureError>;
    /// `createMessageSignInUrl`: a minted, sender-bound URL when Configure
    /// verifies the request's sender proof, else the plain URL and why.
    async fn create_message_url(&self, request: &MessageUrlRequest) -> Result<MessageUrl, ConfigureError>;
    /// `registerMessageLine({phone})`, `phone` in E.164.
    async fn register_message_line(&self, phone: &str) -> Result<MessageLine, ConfigureError>;
    /// `listMessageLines()`.
    async fn list_message_lines(&self) -> Result<Vec<MessageLine>, ConfigureError>;
}

pub const VALIDATE_PATH: &str = "/v1/auth/sign-in/validate";
pub const EXCHANGE_PATH: &str = "/v1/auth/sign-in/exchange";
pub const RECOGNIZE_PHONE_PATH: &str = "/v1/auth/sign-in/recognize-phone";
pub const RETURN_DESTINATIONS_PATH: &str = "/v1/auth/sign-in/return-destinations";
pub const OAUTH_TOKEN_PATH: &str = "/oauth/token";
pub const OAUTH_INTROSPECT_PATH: &str = "/oauth/introspect";
pub const PROFILE_IDENTITY_PATH: &str = "/v1/profile?sections=identity";
pub const OAUTH_CLIENTS_PATH: &str = "/v1/developer/oauth/clients/";

/// What `encodeURIComponent` leaves as it is: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Builds the SDK's requests for one agent and key.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    pub base_url: String,
    pub api_key: Secret,
    pub agent: String,
}

impl RequestBuilder {
    fn post(&self, path: &str, body: Value) -> ApiRequest {
        self.post_text(path, body.to_string())
    }

    /// A JSON `POST` of an already serialized body (a struct keeps its
    /// field order; a `Value`'s map would sort the keys).
    fn post_text(&self, path: &str, body: String) -> ApiRequest {
        self.json_request("POST", path, Some(body))
    }

    /// The SDK's `requestJson`: its JSON headers (`Content-Type` even on a
    /// GET without a body), `X-API-Key` and `X-Agent`.
    fn json_request(&self, method: &'static str, path: &str, body: Option<String>) -> ApiRequest {
        let mut headers = vec![("Content-Type", "application/json".to_owned())];
        headers.push(("X-API-Key", self.api_key.expose().to_owned()));
        if !self.agent.is_empty() {
            headers.push(("X-Agent", self.agent.clone()));
        }
        ApiRequest { method, url: format!("{}{path}", self.base_url), headers, body }
    }

    pub fn validate(&self, token: &str) -> ApiRequest {
        self.post(VALIDATE_PATH, json!({ "token": token }))
    }
    pub fn exchange(&self, code: &str) -> ApiRequest {
        self.post(EXCHANGE_PATH, json!({ "code": code }))
    }
    pub fn recognize_phone(&self, candidates: &[String]) -> ApiRequest {
        self.post(RECOGNIZE_PHONE_PATH, json!({ "candidates": candidates }))
    }
    pub fn allow_return_to(&self, return_to: &str) -> ApiRequest {
        self.post(RETURN_DESTINATIONS_PATH, json!({ "return_to": return_to }))
    }

    /// The authorization-code token request as Better Auth sends it for
    /// the SDK's provider config.
    pub fn oauth_token(&self, client: OAuthClient<'_>, request: TokenRequest<'_>) -> ApiRequest {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", request.code)
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("code_verifier", request.code_verifier)
            .append_pair("resource", request.resource)
            .finish();
        self.token_endpoint(client, body)
    }

    /// The refresh-token grant as Better Auth sends it: the same endpoint,
    /// headers and client authentication as `oauth_token`.
    pub fn oauth_refresh(&self, client: OAuthClient<'_>, refresh: TokenRefresh<'_>) -> ApiRequest {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh.refresh_token)
            .append_pair("resource", refresh.resource)
            .finish();
        self.token_endpoint(client, body)
    }

    /// A `POST` of a form-encoded grant to the token endpoint, with
    /// client_secret_basic: `Authorization: Basic base64(id:secret)` (id and
    /// secret as they are, as Better Auth joins them).
    fn token_endpoint(&self, client: OAuthClient<'_>, body: String) -> ApiRequest {
        let credentials = format!("{}:{}", client.client_id, client.client_secret.expose());
        ApiRequest {
            method: "POST",
            url: format!("{}{OAUTH_TOKEN_PATH}", self.base_url),
            headers: vec![
                ("Content-Type", "application/x-www-form-urlencoded".to_owned()),
                ("Accept", "application/json".to_owned()),
                ("Authorization", format!("Basic {}", STANDARD.encode(credentials))),
            ],
            body: Some(body),
        }
    }

    /// The SDK's introspection: JSON, no API key (the token authenticates).
    pub fn introspect(&self, access_token: &str) -> ApiRequest {
        ApiRequest {
            method: "POST",
            url: format!("{}{OAUTH_INTROSPECT_PATH}", self.base_url),
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: Some(json!({ "token": access_token }).to_string()),
        }
    }

    /// The SDK's `profile({token}).read({sections: ["identity"]})`, with the
    /// fresh correlation ids each of its profile runtimes sends.
    pub fn profile_identity(&self, access_token: &str) -> ApiRequest {
        let mut headers = vec![
            ("Content-Type", "application/json".to_owned()),
            ("X-API-Key", self.api_key.expose().to_owned()),
            ("Authorization", format!("Bearer {access_token}")),
            ("X-Configure-Session-Id", runtime_id("session")),
            ("X-Configure-Runtime-Scope-Id", runtime_id("scope")),
        ];
        if !self.agent.is_empty() {
            headers.push(("X-Agent", self.agent.clone()));
        }
        ApiRequest {
            method: "GET",
            url: format!("{}{PROFILE_IDENTITY_PATH}", self.base_url),
            headers,
            body: None,
        }
    }

    /// `ensureSsoCallback`'s request: no `X-Agent` (it uses plain fetch).
    pub fn add_oauth_redirect_uri(&self, client_id: &str, uri: &str) -> ApiRequest {
        let id = utf8_percent_encode(client_id, URI_COMPONENT);
        ApiRequest {
            method: "PATCH",
            url: format!("{}{OAUTH_CLIENTS_PATH}{id}", self.base_url),
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                ("X-API-Key", self.api_key.expose().to_owned()),
            ],
            body: Some(json!({ "add_redirect_uris": [uri] }).to_string()),
        }
    }
}

/// The SDK's `createRuntimeId`: `<prefix>_<random UUID v4>`, lower-case
/// and hyphenated as `crypto.randomUUID` writes it.
pub fn runtime_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    // Correlation ids, not secrets: a failing random source still yields an id.
    let _ = getrandom::fill(&mut bytes);
    // Sets the version (4) and the RFC 4122 variant bits.
    let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
    format!("{prefix}_{}", uuid.hyphenated())
}

/// `ensureSsoCallback`'s explanation of a failed registration (`failureReason`).
pub fn redirect_failure_reason(status: u16, body: &str, client_id: &str) -> String {
    let parsed: Value = serde_json::from_slice(body.as_bytes()).unwrap_or(Value::Null);
    let text =
        |value: Option<&Value>| value.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let detail = text(parsed.get("error_description"))
        .or_else(|| text(parsed.get("error").and_then(|e| e.get("message"))))
        .or_else(|| text(parsed.get("error")));
    match status {
        401 => format!(
            "Configure rejected the API key{}. Check CONFIGURE_API_KEY.",
            detail.map(|d| format!(" ({d})")).unwrap_or_default()
        ),
        403 => detail.unwrap_or_else(|| {
            "Configure refused this key for callback registration. CONFIGURE_API_KEY must be a server secret key (sk_)."
                .to_owned()
        }),
        404 => format!(
            "No OAuth client \"{client_id}\" on the account that owns this API key. Check CONFIGURE_OAUTH_CLIENT_ID."
        ),
        _ => detail.unwrap_or_else(|| format!("Configure returned {status} while registering the SSO callback.")),
    }
}

/// The reason `ensureSsoCallback` gives for a key that is not a server key.
pub const NOT_A_SECRET_KEY: &str = "CONFIGURE_API_KEY must be a server secret key (sk_...). A publishable pk_ key is browser-public and cannot manage callbacks.";

/// `stringValue`: a non-blank string, trimmed.
fn string_value(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key) {
        Some(Value::String(s)) => {
            let trimmed = crate::sdk::js_text::trim(s);
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        }
        _ => None,
    }
}

fn either(object: &Map<String, Value>, camel: &str, snake: &str) -> Option<String> {
    string_value(object, camel).or_else(|| string_value(object, snake))
}

fn bool_value(object: &Map<String, Value>, key: &str) -> Option<bool> {
    object.get(key).and_then(Value::as_bool)
}

fn is_true(object: &Map<String, Value>, key: &str) -> bool {
    bool_value(object, key) == Some(true)
}

/// The SDK's `ConfigureError.fromResponse` for a non-2xx answer.
pub fn error_from_response(status: u16, body: &str) -> ConfigureError {
    let parsed: Value = serde_json::from_slice(body.as_bytes()).unwrap_or(Value::Object(Map::new()));
    let error = parsed.get("error");
    if let Some(Value::Object(err)) = error {
        if let (Some(Value::String(kind)), Some(Value::String(code))) = (err.get("type"), err.get("code")) {
            let sdk_code = match kind.as_str() {
                "authentication_error" => ErrorCode::AuthRequired,
                "invalid_request_error" => ErrorCode::InvalidInput,
                "permission_error" if code == "commit_required" => ErrorCode::CommitRequired,
                "permission_error" => ErrorCode::AccessDenied,
                "tool_error" if code == "tool_not_connected" => ErrorCode::ToolNotConnected,
                "tool_error" => ErrorCode::ToolError,
                "rate_limit_error" if code == "quota_exceeded" => ErrorCode::PaymentRequired,
                "rate_limit_error" => ErrorCode::RateLimited,
                _ => ErrorCode::ServerError,
            };
            let message = err.get("message").and_then(Value::as_str).unwrap_or("Request failed");
            return ConfigureError::new(sdk_code, message).with_status(status);
        }
    }
    let message = match (error, parsed.get("message")) {
        (Some(Value::String(text)), _) => text.clone(),
        (_, Some(Value::String(text))) => text.clone(),
        _ => "Request failed".to_owned(),
    };
    // ASCII lower-casing: the SDK uses toLowerCase, but the words it looks
    // for are ASCII, and full Unicode case tables would add ~10 KB to the
    // Worker for messages no Configure answer contains.
    let lower = message.to_ascii_lowercase();
    let code = match status {
        401 | 403 => ErrorCode::AuthRequired,
        404 => ErrorCode::NotFound,
        409 if lower.contains("commit") => ErrorCode::CommitRequired,
        429 => ErrorCode::RateLimited,
        s if s >= 500 => ErrorCode::ServerError,
        _ if lower.contains("not connected") || lower.contains("not linked") => ErrorCode::ToolNotConnected,
        _ => ErrorCode::InvalidInput,
    };
    ConfigureError::new(code, message).with_status(status)
}

/// Whether `error` is the token endpoint's refusal of a grant: a 400 with
/// the OAuth error `invalid_grant` (RFC 6749 5.2). `error_from_response`
/// keeps an OAuth error answer's `error` string as the message (and drops
/// `error_description`), so the refusal is recognised by status and message.
/// For a refresh this means the refresh token is used, revoked or expired:
/// the user must sign in again. Outages, timeouts and other refusals
/// (`invalid_client`, `invalid_request`, 5xx) are not this.
pub fn is_invalid_grant(error: &ConfigureError) -> bool {
    error.status == Some(400) && error.message == "invalid_grant"
}

/// The SDK's `fromCatch` for a transport failure.
pub fn error_from_transport(error: &TransportError) -> ConfigureError {
    match error {
        TransportError::Timeout => ConfigureError::new(ErrorCode::Timeout, "Request timed out"),
        TransportError::Network(message) => ConfigureError::new(ErrorCode::NetworkError, message.clone()),
    }
}

/// A 2xx answer's JSON object, or the SDK's failure for it (a body that is
/// not a JSON object fails as the SDK's `response.json()` would: NETWORK_ERROR).
pub fn answer_object(response: &ApiResponse) -> Result<Map<String, Value>, ConfigureError> {
    if !(200..300).contains(&response.status) {
        return Err(error_from_response(response.status, &response.body));
    }
    match serde_json::from_slice::<Value>(response.body.as_bytes()) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(ConfigureError::new(ErrorCode::NetworkError, "Configure answered with malformed JSON")
            .with_status(response.status)),
    }
}

/// Whether an answer describes an approved agent token: `approved` not
/// exactly false, and `tokenUse` "agent" when Configure gives one. What the
/// completion webhook and the code exchange both require.
pub fn approved_agent_token(approved: Option<bool>, token_use: Option<&str>) -> bool {
    approved != Some(false) && token_use.is_none_or(|used| used == "agent")
}

/// `tokenUse` or `token_use`, when given (null is not given).
fn token_use(object: &Map<String, Value>) -> Option<String> {
    match object.get("tokenUse").filter(|v| !v.is_null()).or_else(|| object.get("token_use")) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    }
}

pub fn parse_validation(object: &Map<String, Value>) -> TokenValidation {
    TokenValidation {
        valid: is_true(object, "valid"),
        user_id: either(object, "userId", "user_id"),
        token_use: token_use(object),
        approved: bool_value(object, "approved"),
        agent: string_value(object, "agent"),
    }
}

pub fn parse_exchange(object: &Map<String, Value>) -> Result<SignInExchange, ConfigureError> {
    match (string_value(object, "token"), either(object, "userId", "user_id"), string_value(object, "agent"))
    {
        (Some(token), Some(user_id), Some(agent)) => Ok(SignInExchange {
            token,
            user_id,
            agent,
            approved: bool_value(object, "approved") != Some(false),
            token_use: token_use(object),
        }),
        _ => Err(ConfigureError::new(
            ErrorCode::ServerError,
            "Sign-in exchange response was missing token, userId, or agent",
        )),
    }
}

pub fn parse_recognition(object: &Map<String, Value>, candidate_count: usize) -> PhoneRecognition {
    let token = string_value(object, "token")
        .or_else(|| string_value(object, "agentToken"))
        .or_else(|| string_value(object, "agent_token"));
    let count = object
        .get("phoneCandidateCount")
        .and_then(Value::as_f64)
        .or_else(|| object.get("phone_candidate_count").and_then(Value::as_f64))
        .or(Some(candidate_count as f64));
    PhoneRecognition {
        matched: is_true(object, "matched"),
        recognized: bool_value(object, "recognized"),
        approved: is_true(object, "approved"),
        linked: is_true(object, "linked"),
        token,
        user_id: either(object, "userId", "user_id"),
        agent: string_value(object, "agent"),
        display_name: either(object, "displayName", "display_name"),
        phone_candidate_count: count,
    }
}

pub fn parse_return_destination(object: &Map<String, Value>) -> ReturnDestination {
    ReturnDestination {
        destination: string_value(object, "destination").unwrap_or_default(),
        created_at: either(object, "createdAt", "created_at"),
        deleted: bool_value(object, "deleted"),
    }
}

/// `ConfigureApi` over HTTP.
pub struct HttpConfigureApi<T: HttpTransport> {
    pub requests: RequestBuilder,
    pub transport: T,
    pub timeout_ms: u64,
}

impl<T: HttpTransport> HttpConfigureApi<T> {
    async fn send(&self, request: &ApiRequest) -> Result<ApiResponse, ConfigureError> {
        self.transport.send(request, self.timeout_ms).await.map_err(|e| error_from_transport(&e))
    }

    async fn call(&self, request: ApiRequest) -> Result<Map<String, Value>, ConfigureError> {
        answer_object(&self.send(&request).await?)
    }
}

pub fn parse_tokens(object: &Map<String, Value>) -> Result<OAuthTokens, ConfigureError> {
    let access_token = string_value(object, "access_token").ok_or_else(|| {
        ConfigureError::new(ErrorCode::ServerError, "Token response was missing access_token")
    })?;
    Ok(OAuthTokens {
        access_token,
        refresh_token: string_value(object, "refresh_token"),
        expires_in: object.get("expires_in").and_then(Value::as_u64),
    })
}

pub fn parse_introspection(object: &Map<String, Value>) -> Introspection {
    let sub = match object.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => Some(sub.clone()),
        _ => None,
    };
    Introspection { active: is_true(object, "active"), sub }
}

fn required(value: &str, name: &str) -> Result<(), ConfigureError> {
    if crate::sdk::js_text::trim(value).is_empty() {
        Err(ConfigureError::invalid_input(format!("{name} is required")))
    } else {
        Ok(())
    }
}

impl<T: HttpTransport> ConfigureApi for HttpConfigureApi<T> {
    async fn validate(&self, token: &str) -> Result<TokenValidation, ConfigureError> {
        required(token, "token")?;
        Ok(parse_validation(&self.call(self.requests.validate(token)).await?))
    }

    async fn exchange(&self, code: &str) -> Result<SignInExchange, ConfigureError> {
        required(code, "code")?;
        parse_exchange(&self.call(self.requests.exchange(code)).await?)
    }

    async fn recognize_phone(&self, candidates: &[String]) -> Result<PhoneRecognition, ConfigureError> {
        let object = self.call(self.requests.recognize_phone(candidates)).await?;
        Ok(parse_recognition(&object, candidates.len()))
    }

    async fn allow_return_to(&self, return_to: &str) -> Result<ReturnDestination, ConfigureError> {
        required(return_to, "returnTo")?;
        Ok(parse_return_destination(&self.call(self.requests.allow_return_to(return_to)).await?))
    }

    async fn oauth_token(
        &self,
        client: OAuthClient<'_>,
        request: TokenRequest<'_>,
    ) -> Result<OAuthTokens, ConfigureError> {
        parse_tokens(&self.call(self.requests.oauth_token(client, request)).await?)
    }

    async fn oauth_refresh(
        &self,
        client: OAuthClient<'_>,
        refresh: TokenRefresh<'_>,
    ) -> Result<OAuthTokens, ConfigureError> {
        parse_tokens(&self.call(self.requests.oauth_refresh(client, refresh)).await?)
    }

    async fn introspect(&self, access_token: &str) -> Result<Introspection, ConfigureError> {
        let response = self.send(&self.requests.introspect(access_token)).await?;
        if !(200..300).contains(&response.status) {
            return Ok(Introspection::default());
        }
        Ok(parse_introspection(&answer_object(&response)?))
    }

    async fn profile_identity(&self, access_token: &str) -> Result<Map<String, Value>, ConfigureError> {
        let profile = self.call(self.requests.profile_identity(access_token)).await?;
        Ok(match profile.get("identity") {
            Some(Value::Object(identity)) => identity.clone(),
            _ => Map::new(),
        })
    }

    async fn add_oauth_redirect_uri(
        &self,
        client_id: &str,
        uri: &str,
    ) -> Result<OAuthRedirects, ConfigureError> {
        let request = self.requests.add_oauth_redirect_uri(client_id, uri);
        let response = self.send(&request).await.map_err(|error| {
            let reason = format!("could not reach {}: {}", self.requests.base_url, error.message);
            ConfigureError::new(error.code, reason)
        })?;
        if !(200..300).contains(&response.status) {
            let code = error_from_response(response.status, &response.body).code;
            return Err(ConfigureError::new(
                code,
                redirect_failure_reason(response.status, &response.body, client_id),
            )
            .with_status(response.status));
        }
        let body: Value = serde_json::from_slice(response.body.as_bytes()).unwrap_or(Value::Null);
        let redirect_uris = body
            .get("redirect_uris")
            .and_then(Value::as_array)
            .map(|uris| uris.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(OAuthRedirects { redirect_uris, changed: body.get("changed") != Some(&Value::Bool(false)) })
    }

    async fn create_message_url(&self, request: &MessageUrlRequest) -> Result<MessageUrl, ConfigureError> {
        // The SDK's checks before any request.
        required(&request.channel, "channel")?;
        required(&request.subject.key, "subject.key")?;
        required(&request.subject.external_id, "subject.externalId")?;
        parse_message_url(&self.call(self.requests.message_url(request)).await?)
    }

    async fn register_message_line(&self, phone: &str) -> Result<MessageLine, ConfigureError> {
        required(phone, "phone")?;
        let answer = self.call(self.requests.register_message_line(phone)).await?;
        parse_message_line(answer.get("line").unwrap_or(&Value::Null))
    }

    async fn list_message_lines(&self) -> Result<Vec<MessageLine>, ConfigureError> {
        parse_message_lines(&self.call(self.requests.list_message_lines()).await?)
    }
}

#[cfg(test)]
mod tests;
