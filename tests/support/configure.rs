//! The Configure API at the HTTP level, for the real client
//! (`HttpConfigureApi`) to talk to: `FakeConfigure` is an `HttpTransport`
//! that answers requests the way Configure does (paths, methods, headers,
//! JSON or form bodies, statuses and error JSON, as /work/shared/protocol.md
//! describes them), from tokens, phones, sign-in codes and OAuth grants it
//! is given, checks what Configure checks (the account's `X-API-Key` and
//! agent, the OAuth client's credentials, the PKCE verifier against the
//! challenge, single-use codes, single-use refresh tokens), records every
//! request, and answers injected statuses or transport failures on demand.
//!
//! The token endpoint takes the authorization-code grant and the
//! refresh-token grant with rotation: every refresh token it issues
//! (`refresh-1`, `refresh-2`, … in order) redeems once, for new tokens
//! (access token `at-refreshed-<n>` with the grant's user, and refresh
//! token `refresh-<n>`); a used or unknown one answers 400
//! `{"error":"invalid_grant"}`. Both grants answer `expires_in` from the
//! `expires_in` knob (3600 unless a test sets it, `with_expires_in`);
//! `refresh_requests()` counts the refresh requests received.
//!
//! Message sign-in: `POST /v1/auth/sign-in/message-url` mints a
//! sender-bound URL (`https://sign-in.me/<agent>?code=cfgmsu_<n>`, expiring
//! at `minted_expires_at`) only for a `messageSenderProof` it was given
//! (`with_sender_proof`) on that proof's channel; otherwise it answers the
//! plain URL with `sender_proof_missing`, `sender_proof_invalid`, or
//! `sender_proof_unsupported` (a channel other than imessage and sms). The
//! message lines (`POST`/`GET /v1/auth/sign-in/message-lines`) are kept by
//! phone and listed by their last four digits, as Configure lists them.
//!
//! Paths and field names are written out here rather than taken from
//! `configure_edge::api`, so that a wrong request fails the tests.

use super::AGENT;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use configure_edge::api::{ApiRequest, ApiResponse, HttpTransport, TransportError};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// Where the fake answers (the settings' default `CONFIGURE_BASE_URL`).
pub const BASE_URL: &str = "https://api.configure.dev";
/// The account's secret key (the harness settings' `CONFIGURE_API_KEY`).
pub const API_KEY: &str = "sk_test_native";
/// The account's OAuth client.
pub const OAUTH_CLIENT_ID: &str = "cfg_client_1";
pub const OAUTH_CLIENT_SECRET: &str = "client-secret-1";

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: &'static str,
    /// The URL after the base URL, query included.
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
    pub timeout_ms: u64,
}

impl Call {
    /// `METHOD /path`, then a space and the body when there is one: what
    /// tests compare and filter on.
    pub fn line(&self) -> String {
        match &self.body {
            Some(body) => format!("{} {} {body}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The form-encoded body's fields (the last of a repeated one).
    pub fn form(&self) -> BTreeMap<String, String> {
        form_urlencoded::parse(self.body.as_deref().unwrap_or("").as_bytes()).into_owned().collect()
    }
}

/// What answers a request instead of the fake's own logic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injected {
    /// An HTTP answer: status and body.
    Answer(u16, String),
    /// No answer: `Timeout` or `Network`.
    Transport(TransportError),
}

/// Configure's error JSON (`{error: {type, code, message}, request_id}`).
pub fn error_json(kind: &str, code: &str, message: &str) -> String {
    json!({ "error": { "type": kind, "code": code, "message": message }, "request_id": "req_fake" })
        .to_string()
}

/// An injected answer in Configure's error JSON.
pub fn error_answer(status: u16, kind: &str, code: &str, message: &str) -> Injected {
    Injected::Answer(status, error_json(kind, code, message))
}

/// Configure down: a 500 `api_error`.
pub fn server_error() -> Injected {
    error_answer(500, "api_error", "internal_error", "injected")
}

/// An authorization code the accounts server issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    /// The S256 `code_challenge` of the authorization request.
    pub challenge: String,
    pub resource: String,
    pub access_token: String,
}

/// A refresh token the fake issued: what it redeems to. Single use.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshGrant {
    pub client_id: String,
    /// The resource of the original authorization; a refresh must name it.
    pub resource: String,
    /// The user behind the tokens: (sub, active, identity JSON object), as
    /// `access_tokens` holds them.
    pub user: (String, bool, Value),
}

/// What validation answers for a token besides its user: (approved, tokenUse).
pub type TokenMeta = (Option<bool>, Option<String>);

/// Configure's API for one account (key `API_KEY`, agent `AGENT`, OAuth
/// client `OAUTH_CLIENT_ID`).
pub struct FakeConfigure {
    pub api_key: String,
    pub agent: String,
    /// OAuth client id -> (client secret, registered redirect URIs).
    pub oauth_clients: RefCell<BTreeMap<String, (String, Vec<String>)>>,
    /// Agent token -> (userId, agent).
    pub tokens: RefCell<BTreeMap<String, (String, String)>>,
    /// Agent token -> (approved, tokenUse) as answered, when not the
    /// default (approved, "agent").
    pub token_meta: RefCell<BTreeMap<String, TokenMeta>>,
    /// Phone candidate -> (token, userId, agent).
    pub phones: RefCell<BTreeMap<String, (String, String, String)>>,
    /// Sign-in code -> (token, userId, agent); single use.
    pub codes: RefCell<BTreeMap<String, (String, String, String)>>,
    /// OAuth authorization code -> its grant; single use.
    pub oauth_codes: RefCell<BTreeMap<String, Grant>>,
    /// OAuth access token -> (sub, active, identity JSON object).
    pub access_tokens: RefCell<BTreeMap<String, (String, bool, Value)>>,
    /// Refresh tokens not yet used -> their grant; each redeems once.
    pub refresh_tokens: RefCell<BTreeMap<String, RefreshGrant>>,
    /// The `expires_in` (seconds) the token endpoint answers for every
    /// access token it issues from now on, by either grant; 3600 by default.
    pub expires_in: Cell<u64>,
    /// Refresh tokens issued so far (the last one is `refresh-<n>`).
    pub issued_refresh_tokens: Cell<u32>,
    /// (request-line prefix, answer), newest first: the first whose prefix
    /// starts the request's `Call::line` answers it ("" matches every request).
    pub injected: RefCell<Vec<(String, Injected)>>,
    pub calls: RefCell<Vec<Call>>,
    /// How many times each answer yields first (0: none), so that requests
    /// polled together interleave around their Configure calls as they do
    /// over a network.
    pub answer_yields: Cell<u32>,
    /// Sender proofs Configure can verify -> their channel.
    pub sender_proofs: RefCell<BTreeMap<String, String>>,
    /// When minted codes expire (`expiresAt` of the answer).
    pub minted_expires_at: RefCell<String>,
    /// Registered message lines: (phone, channel).
    pub message_lines: RefCell<Vec<(String, String)>>,
}

impl Default for FakeConfigure {
    fn default() -> Self {
        let client = (OAUTH_CLIENT_SECRET.to_owned(), Vec::new());
        FakeConfigure {
            api_key: API_KEY.to_owned(),
            agent: AGENT.to_owned(),
            oauth_clients: RefCell::new([(OAUTH_CLIENT_ID.to_owned(), client)].into_iter().collect()),
            tokens: Default::default(),
            token_meta: Default::default(),
            phones: Default::default(),
            codes: Default::default(),
            oauth_codes: Default::default(),
            access_tokens: Default::default(),
            refresh_tokens: Default::default(),
            expires_in: Cell::new(3600),
            issued_refresh_tokens: Cell::new(0),
            injected: Default::default(),
            calls: Default::default(),
            answer_yields: Cell::new(0),
            sender_proofs: Default::default(),
            minted_expires_at: RefCell::new("2099-01-01T00:00:00.000Z".to_owned()),
            message_lines: Default::default(),
        }
    }
}

impl FakeConfigure {
    pub fn with_token(self, token: &str, user_id: &str, agent: &str) -> Self {
        self.tokens.borrow_mut().insert(token.into(), (user_id.into(), agent.into()));
        self
    }
    /// Validation and exchange answer `approved` and `tokenUse` as given for `token`.
    pub fn with_token_meta(self, token: &str, approved: Option<bool>, token_use: Option<&str>) -> Self {
        self.token_meta.borrow_mut().insert(token.into(), (approved, token_use.map(str::to_owned)));
        self
    }
    pub fn with_phone(self, phone: &str, token: &str, user_id: &str, agent: &str) -> Self {
        self.phones.borrow_mut().insert(phone.into(), (token.into(), user_id.into(), agent.into()));
        self
    }
    pub fn with_code(self, code: &str, token: &str, user_id: &str, agent: &str) -> Self {
        self.codes.borrow_mut().insert(code.into(), (token.into(), user_id.into(), agent.into()));
        self
    }

    /// Configure verifies `proof` for messages on `channel`.
    pub fn with_sender_proof(self, proof: &str, channel: &str) -> Self {
        self.sender_proofs.borrow_mut().insert(proof.into(), channel.into());
        self
    }

    /// The token endpoint answers `expires_in: seconds` for the access
    /// tokens it issues (set `expires_in` to change it mid-test).
    pub fn with_expires_in(self, seconds: u64) -> Self {
        self.expires_in.set(seconds);
        self
    }

    /// How many refresh-token grant requests reached the token endpoint
    /// (`POST /oauth/token` with `grant_type=refresh_token`), whatever
    /// their answer, injected failures included.
    pub fn refresh_requests(&self) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|call| (call.method, call.path.as_str()) == ("POST", "/oauth/token"))
            .filter(|call| call.form().get("grant_type").map(String::as_str) == Some("refresh_token"))
            .count()
    }

    /// Whether `refresh_token` was issued and not used yet.
    pub fn refresh_token_live(&self, refresh_token: &str) -> bool {
        self.refresh_tokens.borrow().contains_key(refresh_token)
    }

    /// Plays the accounts server's authorize step: for the authorization
    /// request's parameters (`client_id`, `redirect_uri`, `code_challenge`,
    /// `resource`), issues `code`, which redeems to `access_token` of `sub`.
    /// Like a real server it refuses (here: panics on) an unknown client, a
    /// redirect URI the client has not registered, or a method other than S256.
    pub fn issue_code(
        &self,
        code: &str,
        authorize: &BTreeMap<String, String>,
        access_token: &str,
        sub: &str,
        active: bool,
        identity: Value,
    ) {
        let param = |name: &str| authorize.get(name).cloned().unwrap_or_default();
        assert_eq!(param("response_type"), "code");
        assert_eq!(param("code_challenge_method"), "S256");
        let clients = self.oauth_clients.borrow();
        let (_, uris) = clients.get(&param("client_id")).expect("a known OAuth client");
        assert!(uris.contains(&param("redirect_uri")), "unregistered redirect_uri {}", param("redirect_uri"));
        let grant = Grant {
            client_id: param("client_id"),
            redirect_uri: param("redirect_uri"),
            challenge: param("code_challenge"),
            resource: param("resource"),
            access_token: access_token.to_owned(),
        };
        self.oauth_codes.borrow_mut().insert(code.into(), grant);
        self.access_tokens.borrow_mut().insert(access_token.into(), (sub.into(), active, identity));
    }

    /// From now on, requests whose line starts with `prefix` get
    /// `injected` (the newest injection that matches wins).
    pub fn fail(&self, prefix: &str, injected: Injected) {
        self.injected.borrow_mut().insert(0, (prefix.to_owned(), injected));
    }
    /// From now on, every request gets `injected`.
    pub fn fail_all(&self, injected: Injected) {
        self.fail("", injected);
    }
    pub fn heal(&self) {
        self.injected.borrow_mut().clear();
    }

    /// Every request so far, as `Call::line`s.
    pub fn lines(&self) -> Vec<String> {
        self.calls.borrow().iter().map(Call::line).collect()
    }

    fn answer(&self, call: &Call) -> ApiResponse {
        match (call.method, call.path.as_str()) {
            ("POST", "/oauth/token") => return self.token(call),
            ("POST", "/oauth/introspect") => {
                let token = match json_body(call) {
                    Ok(body) => text(&body, "token"),
                    Err(refused) => return refused,
                };
                return match self.access_tokens.borrow().get(&token) {
                    Some((sub, true, _)) => ok(json!({ "active": true, "sub": sub })),
                    _ => ok(json!({ "active": false })),
                };
            }
            _ => {}
        }
        // Everything else is the API proper: the account's secret key.
        if call.header("X-API-Key") != Some(self.api_key.as_str()) {
            return refuse(401, "authentication_error", "invalid_api_key", "Invalid API key.");
        }
        if let Some(id) = call.path.strip_prefix("/v1/developer/oauth/clients/") {
            return match call.method {
                "PATCH" => self.register(call, id),
                _ => not_found(),
            };
        }
        // The sign-in and profile APIs act for one agent of the account.
        match call.header("X-Agent") {
            None => return refuse(400, "invalid_request_error", "agent_required", "X-Agent is required."),
            Some(agent) if agent != self.agent => {
                return refuse(403, "permission_error", "agent_forbidden", "Not an agent of this account.")
            }
            Some(_) => {}
        }
        if (call.method, call.path.as_str()) == ("GET", "/v1/profile?sections=identity") {
            let bearer = call.header("Authorization").and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
            return match self.access_tokens.borrow().get(bearer) {
                Some((_, true, identity)) => ok(json!({ "identity": identity })),
                _ => refuse(401, "authentication_error", "invalid_token", "Invalid access token."),
            };
        }
        if (call.method, call.path.as_str()) == ("GET", "/v1/auth/sign-in/message-lines") {
            return self.list_lines();
        }
        if call.method != "POST" {
            return not_found();
        }
        let body = match json_body(call) {
            Ok(body) => body,
            Err(refused) => return refused,
        };
        match call.path.as_str() {
            "/v1/auth/sign-in/validate" => self.validate(&text(&body, "token")),
            "/v1/auth/sign-in/exchange" => self.exchange(&text(&body, "code")),
            "/v1/auth/sign-in/recognize-phone" => match body.get("candidates").and_then(Value::as_array) {
                Some(candidates) => self.recognize(candidates),
                None => refuse(400, "invalid_request_error", "invalid_candidates", "candidates is required."),
            },
            "/v1/auth/sign-in/return-destinations" => match text(&body, "return_to") {
                destination if destination.is_empty() => {
                    refuse(400, "invalid_request_error", "invalid_return_to", "return_to is required.")
                }
                destination => {
                    ok(json!({ "destination": destination, "createdAt": "2026-01-01T00:00:00.000Z" }))
                }
            },
            "/v1/auth/sign-in/message-url" => self.message_url(&body),
            "/v1/auth/sign-in/message-lines" => self.register_line(&body),
            _ => not_found(),
        }
    }

    /// `createMessageSignInUrl`: minted for a proof it can verify.
    fn message_url(&self, body: &Map<String, Value>) -> ApiResponse {
        let reason = text(body, "reason");
        let channel = text(body, "channel");
        let subject = body.get("subject").and_then(Value::as_object);
        let subject_ok =
            subject.is_some_and(|s| !text(s, "key").is_empty() && !text(s, "externalId").is_empty());
        if !["signin", "reconnect", "permissions"].contains(&reason.as_str())
            || channel.is_empty()
            || !subject_ok
        {
            return refuse(
                400,
                "invalid_request_error",
                "invalid_message_url",
                "reason, channel and subject are required.",
            );
        }
        let plain = |why: &str| {
            ok(
                json!({ "mode": "plain", "url": format!("https://sign-in.me/{}", self.agent), "reason": reason, "fallbackReason": why }),
            )
        };
        let proof = text(body, "messageSenderProof");
        if proof.is_empty() {
            return plain("sender_proof_missing");
        }
        if channel != "imessage" && channel != "sms" {
            return plain("sender_proof_unsupported");
        }
        if self.sender_proofs.borrow().get(&proof) != Some(&channel) {
            return plain("sender_proof_invalid");
        }
        let code = format!("cfgmsu_{}", self.calls.borrow().len());
        ok(json!({
            "mode": "minted",
            "url": format!("https://sign-in.me/{}?code={code}", self.agent),
            "code": code,
            "reason": reason,
            "expiresAt": self.minted_expires_at.borrow().clone(),
        }))
    }

    fn line_json(index: usize, phone: &str, channel: &str) -> Value {
        json!({ "id": format!("line_{index}"), "channel": channel, "phoneLast4": &phone[phone.len() - 4..], "label": null, "status": "active", "metadata": {} })
    }

    /// `registerMessageLine`: an E.164 phone, kept once per channel.
    fn register_line(&self, body: &Map<String, Value>) -> ApiResponse {
        let phone = text(body, "phone");
        let channel =
            Some(text(body, "channel")).filter(|c| !c.is_empty()).unwrap_or_else(|| "imessage".to_owned());
        let e164 =
            phone.len() >= 8 && phone.starts_with('+') && phone[1..].bytes().all(|b| b.is_ascii_digit());
        if !e164 {
            return refuse(400, "invalid_request_error", "invalid_phone", "phone must be E.164.");
        }
        let mut lines = self.message_lines.borrow_mut();
        let index = match lines.iter().position(|(p, c)| *p == phone && *c == channel) {
            Some(index) => index,
            None => {
                lines.push((phone.clone(), channel.clone()));
                lines.len() - 1
            }
        };
        ok(json!({ "line": Self::line_json(index, &phone, &channel) }))
    }

    fn list_lines(&self) -> ApiResponse {
        let lines = self.message_lines.borrow();
        let listed: Vec<Value> =
            lines.iter().enumerate().map(|(i, (p, c))| Self::line_json(i, p, c)).collect();
        ok(json!({ "lines": listed }))
    }

    fn meta(&self, token: &str) -> TokenMeta {
        self.token_meta.borrow().get(token).cloned().unwrap_or((Some(true), Some("agent".to_owned())))
    }

    /// `{valid, userId, agent, approved?, tokenUse?}`; `{valid: false}` for
    /// a token Configure does not know.
    fn validate(&self, token: &str) -> ApiResponse {
        let Some((user_id, agent)) = self.tokens.borrow().get(token).cloned() else {
            return ok(json!({ "valid": false }));
        };
        let mut answer = json!({ "valid": true, "userId": user_id, "agent": agent });
        with_meta(&mut answer, self.meta(token));
        ok(answer)
    }

    fn exchange(&self, code: &str) -> ApiResponse {
        let Some((token, user_id, agent)) = self.codes.borrow_mut().remove(code) else {
            return refuse(400, "invalid_request_error", "invalid_code", "Unknown or expired sign-in code.");
        };
        let (approved, token_use) = self.meta(&token);
        let mut answer = json!({ "token": token, "userId": user_id, "agent": agent });
        with_meta(&mut answer, (Some(approved != Some(false)), token_use));
        ok(answer)
    }

    fn recognize(&self, candidates: &[Value]) -> ApiResponse {
        let phones = self.phones.borrow();
        let hit = candidates.iter().filter_map(Value::as_str).find_map(|c| phones.get(c));
        let mut answer = json!({
            "matched": hit.is_some(),
            "recognized": hit.is_some(),
            "approved": hit.is_some(),
            "linked": hit.is_some(),
            "phoneCandidateCount": candidates.len(),
        });
        if let Some((token, user_id, agent)) = hit {
            let extra = json!({ "token": token, "userId": user_id, "agent": agent, "displayName": "Pat" });
            answer.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        }
        ok(answer)
    }

    /// The OAuth token endpoint (RFC 6749 4.1.3 and 6, PKCE, RFC 8707):
    /// the client authenticates with Basic; a code is redeemed once, by its
    /// client, with its redirect URI, resource and PKCE verifier; a refresh
    /// token is redeemed once, by its client, with its resource.
    fn token(&self, call: &Call) -> ApiResponse {
        if call.header("Content-Type") != Some("application/x-www-form-urlencoded") {
            return oauth_error(400, "invalid_request");
        }
        let credentials = call
            .header("Authorization")
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let (client_id, secret) = credentials.split_once(':').unwrap_or(("", ""));
        let authenticated =
            self.oauth_clients.borrow().get(client_id).is_some_and(|(known, _)| known == secret);
        if !authenticated {
            return oauth_error(401, "invalid_client");
        }
        let form = call.form();
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
        match field("grant_type") {
            "authorization_code" => {}
            "refresh_token" => return self.refresh(client_id, field("refresh_token"), field("resource")),
            _ => return oauth_error(400, "unsupported_grant_type"),
        }
        let Some(grant) = self.oauth_codes.borrow_mut().remove(field("code")) else {
            return oauth_error(400, "invalid_grant");
        };
        let verified = URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
        if grant.client_id != client_id
            || grant.redirect_uri != field("redirect_uri")
            || grant.resource != field("resource")
            || grant.challenge != verified
        {
            return oauth_error(400, "invalid_grant");
        }
        let user = self.access_tokens.borrow().get(&grant.access_token).cloned();
        let user = user.unwrap_or_else(|| (String::new(), false, json!({})));
        let refresh_token = self.issue_refresh_token(RefreshGrant {
            client_id: client_id.to_owned(),
            resource: grant.resource,
            user,
        });
        self.tokens_answer(&grant.access_token, &refresh_token)
    }

    /// The refresh-token grant with rotation: the presented token is used
    /// up, and a new access token and a new refresh token are issued.
    fn refresh(&self, client_id: &str, presented: &str, resource: &str) -> ApiResponse {
        let grant = {
            let mut refresh_tokens = self.refresh_tokens.borrow_mut();
            match refresh_tokens.get(presented) {
                Some(grant) if grant.client_id == client_id => {}
                _ => return oauth_error(400, "invalid_grant"),
            }
            if refresh_tokens[presented].resource != resource {
                return oauth_error(400, "invalid_target");
            }
            refresh_tokens.remove(presented).expect("checked above")
        };
        let access_token = format!("at-refreshed-{}", self.issued_refresh_tokens.get() + 1);
        self.access_tokens.borrow_mut().insert(access_token.clone(), grant.user.clone());
        let refresh_token = self.issue_refresh_token(grant);
        self.tokens_answer(&access_token, &refresh_token)
    }

    /// Issues the next refresh token, `refresh-<n>`, for `grant` (as a
    /// grant does; tests may seed one this way without a login).
    pub fn issue_refresh_token(&self, grant: RefreshGrant) -> String {
        let n = self.issued_refresh_tokens.get() + 1;
        self.issued_refresh_tokens.set(n);
        let refresh_token = format!("refresh-{n}");
        self.refresh_tokens.borrow_mut().insert(refresh_token.clone(), grant);
        refresh_token
    }

    fn tokens_answer(&self, access_token: &str, refresh_token: &str) -> ApiResponse {
        ok(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in.get(),
            "refresh_token": refresh_token,
            "scope": "profile.read profile.search",
        }))
    }

    /// `PATCH /v1/developer/oauth/clients/<id>` `{add_redirect_uris}`.
    fn register(&self, call: &Call, encoded_id: &str) -> ApiResponse {
        let id = percent_encoding::percent_decode_str(encoded_id).decode_utf8_lossy().into_owned();
        let body = match json_body(call) {
            Ok(body) => body,
            Err(refused) => return refused,
        };
        let Some(added) = body.get("add_redirect_uris").and_then(Value::as_array) else {
            return refuse(400, "invalid_request_error", "invalid_body", "add_redirect_uris is required.");
        };
        let mut clients = self.oauth_clients.borrow_mut();
        let Some((_, uris)) = clients.get_mut(&id) else {
            return refuse(404, "invalid_request_error", "not_found", "No such OAuth client.");
        };
        let mut changed = false;
        for uri in added.iter().filter_map(Value::as_str) {
            if !uris.iter().any(|u| u == uri) {
                uris.push(uri.to_owned());
                changed = true;
            }
        }
        ok(json!({ "redirect_uris": uris, "changed": changed }))
    }
}

impl HttpTransport for FakeConfigure {
    async fn send(&self, request: &ApiRequest, timeout_ms: u64) -> Result<ApiResponse, TransportError> {
        for _ in 0..self.answer_yields.get() {
            crate::support::doubles::yield_once().await;
        }
        let Some(path) = request.url.strip_prefix(BASE_URL) else {
            return Err(TransportError::Network(format!("no Configure API at {}", request.url)));
        };
        let call = Call {
            method: request.method,
            path: path.to_owned(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            timeout_ms,
        };
        let line = call.line();
        self.calls.borrow_mut().push(call.clone());
        let injected = self.injected.borrow().iter().find(|(p, _)| line.starts_with(p.as_str())).cloned();
        match injected {
            Some((_, Injected::Answer(status, body))) => Ok(ApiResponse { status, body }),
            Some((_, Injected::Transport(error))) => Err(error),
            None => Ok(self.answer(&call)),
        }
    }
}

/// The token endpoint's OAuth error answer (RFC 6749 5.2).
fn oauth_error(status: u16, error: &str) -> ApiResponse {
    ApiResponse {
        status,
        body: json!({ "error": error, "error_description": format!("fake: {error}") }).to_string(),
    }
}

fn ok(body: Value) -> ApiResponse {
    ApiResponse { status: 200, body: body.to_string() }
}

fn refuse(status: u16, kind: &str, code: &str, message: &str) -> ApiResponse {
    ApiResponse { status, body: error_json(kind, code, message) }
}

fn not_found() -> ApiResponse {
    refuse(404, "invalid_request_error", "not_found", "Unknown route.")
}

/// A JSON request's body object, or Configure's 400.
fn json_body(call: &Call) -> Result<Map<String, Value>, ApiResponse> {
    if call.header("Content-Type") != Some("application/json") {
        return Err(refuse(400, "invalid_request_error", "invalid_content_type", "Send JSON."));
    }
    match serde_json::from_str(call.body.as_deref().unwrap_or("")) {
        Ok(Value::Object(body)) => Ok(body),
        _ => Err(refuse(400, "invalid_request_error", "invalid_json", "The body is not a JSON object.")),
    }
}

fn text(body: &Map<String, Value>, key: &str) -> String {
    body.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn with_meta(answer: &mut Value, (approved, token_use): TokenMeta) {
    if let Some(approved) = approved {
        answer["approved"] = json!(approved);
    }
    if let Some(token_use) = token_use {
        answer["tokenUse"] = json!(token_use);
    }
}
