//! Shared native test fixtures: a Configure API fake with fault injection,
//! settings, and a one-call helper around `App::handle`.
#![allow(dead_code)]

use configure_edge::api::{
    ConfigureApi, Introspection, OAuthClient, OAuthRedirects, OAuthTokens, PhoneRecognition,
    ReturnDestination, SignInExchange, TokenRequest, TokenValidation,
};
use configure_edge::http::ratelimit::RateLimit;
use configure_edge::log::MemoryLog;
use configure_edge::sdk::configure_error::{ConfigureError, ErrorCode};
use configure_edge::settings::config::Config;
use configure_edge::storage::store::MemoryStore;
use configure_edge::{App, HttpRequest, HttpResponse};
use std::cell::RefCell;
use std::collections::BTreeMap;

pub const AGENT: &str = "my-agent";
pub const SECRET: &str = "test-api-secret-0123456789-abcdefghij";
pub const SEALING_KEYS: &str = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
pub const NOW: u64 = 1_795_872_054_000;

/// What validation answers for a token besides its user: (approved, tokenUse).
pub type TokenMeta = (Option<bool>, Option<String>);

/// A Configure API stand-in: knows some tokens and phones, fails on demand,
/// records every call.
#[derive(Default)]
pub struct FakeApi {
    /// token -> (userId, agent)
    pub tokens: RefCell<BTreeMap<String, (String, String)>>,
    /// token -> (approved, tokenUse) as validation answers them, when not
    /// the default (approved, "agent").
    pub token_meta: RefCell<BTreeMap<String, TokenMeta>>,
    /// phone candidate -> (token, userId, agent)
    pub phones: RefCell<BTreeMap<String, (String, String, String)>>,
    /// sign-in code -> (token, userId, agent); single use
    pub codes: RefCell<BTreeMap<String, (String, String, String)>>,
    /// OAuth authorization code -> (PKCE challenge, access token); single use.
    pub oauth_codes: RefCell<BTreeMap<String, (String, String)>>,
    /// OAuth access token -> (sub, active, identity JSON object).
    pub access_tokens: RefCell<BTreeMap<String, (String, bool, serde_json::Value)>>,
    /// Redirect URIs registered with the OAuth client.
    pub redirect_uris: RefCell<Vec<String>>,
    /// When set, the redirect-URI registration answers this status and body.
    pub redirect_failure: RefCell<Option<(u16, String)>>,
    /// When set, every call fails with this error.
    pub failure: RefCell<Option<ConfigureError>>,
    pub calls: RefCell<Vec<String>>,
}

impl FakeApi {
    pub fn with_token(self, token: &str, user_id: &str, agent: &str) -> Self {
        self.tokens.borrow_mut().insert(token.into(), (user_id.into(), agent.into()));
        self
    }
    /// Validation answers `approved` and `tokenUse` as given for `token`.
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
    /// An authorization code for `verifier`'s S256 challenge that redeems
    /// to `access_token`, whose introspection and identity are given.
    pub fn with_oauth_code(
        self,
        code: &str,
        challenge: &str,
        access_token: &str,
        sub: &str,
        active: bool,
        identity: serde_json::Value,
    ) -> Self {
        self.oauth_codes.borrow_mut().insert(code.into(), (challenge.into(), access_token.into()));
        self.access_tokens.borrow_mut().insert(access_token.into(), (sub.into(), active, identity));
        self
    }
    pub fn fail_with(&self, code: ErrorCode) {
        *self.failure.borrow_mut() = Some(ConfigureError::new(code, "injected"));
    }
    pub fn heal(&self) {
        *self.failure.borrow_mut() = None;
    }
    fn check(&self, call: String) -> Result<(), ConfigureError> {
        self.calls.borrow_mut().push(call);
        match self.failure.borrow().clone() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl ConfigureApi for FakeApi {
    async fn validate(&self, token: &str) -> Result<TokenValidation, ConfigureError> {
        self.check(format!("validate {token}"))?;
        Ok(match self.tokens.borrow().get(token) {
            Some((user, agent)) => {
                let (approved, token_use) = self
                    .token_meta
                    .borrow()
                    .get(token)
                    .cloned()
                    .unwrap_or((Some(true), Some("agent".to_owned())));
                TokenValidation {
                    valid: true,
                    user_id: Some(user.clone()),
                    token_use,
                    approved,
                    agent: Some(agent.clone()),
                }
            }
            None => {
                TokenValidation { valid: false, user_id: None, token_use: None, approved: None, agent: None }
            }
        })
    }
    async fn exchange(&self, code: &str) -> Result<SignInExchange, ConfigureError> {
        self.check(format!("exchange {code}"))?;
        match self.codes.borrow_mut().remove(code) {
            Some((token, user_id, agent)) => {
                let (approved, token_use) = self
                    .token_meta
                    .borrow()
                    .get(&token)
                    .cloned()
                    .unwrap_or((Some(true), Some("agent".to_owned())));
                Ok(SignInExchange { token, user_id, agent, approved: approved != Some(false), token_use })
            }
            None => Err(ConfigureError::invalid_input("unknown code").with_status(400)),
        }
    }
    async fn recognize_phone(&self, candidates: &[String]) -> Result<PhoneRecognition, ConfigureError> {
        self.check(format!("recognize {}", candidates.join(",")))?;
        let phones = self.phones.borrow();
        let hit = candidates.iter().find_map(|c| phones.get(c));
        Ok(PhoneRecognition {
            matched: hit.is_some(),
            recognized: Some(hit.is_some()),
            approved: hit.is_some(),
            linked: hit.is_some(),
            token: hit.map(|h| h.0.clone()),
            user_id: hit.map(|h| h.1.clone()),
            agent: hit.map(|h| h.2.clone()),
            display_name: hit.map(|_| "Pat".to_owned()),
            phone_candidate_count: Some(candidates.len() as f64),
        })
    }
    async fn allow_return_to(&self, return_to: &str) -> Result<ReturnDestination, ConfigureError> {
        self.check(format!("allow {return_to}"))?;
        Ok(ReturnDestination { destination: return_to.into(), created_at: None, deleted: None })
    }
    async fn oauth_token(
        &self,
        client: OAuthClient<'_>,
        request: TokenRequest<'_>,
    ) -> Result<OAuthTokens, ConfigureError> {
        self.check(format!(
            "token {} {} {} {} {}",
            client.client_id, request.code, request.redirect_uri, request.code_verifier, request.resource
        ))?;
        let invalid_grant = || ConfigureError::invalid_input("invalid_grant").with_status(400);
        let (challenge, token) =
            self.oauth_codes.borrow_mut().remove(request.code).ok_or_else(invalid_grant)?;
        if configure_edge::flows::oauth::pkce_challenge(request.code_verifier) != challenge {
            return Err(invalid_grant());
        }
        Ok(OAuthTokens {
            access_token: token,
            refresh_token: Some("refresh-1".into()),
            expires_in: Some(3600),
        })
    }
    async fn introspect(&self, access_token: &str) -> Result<Introspection, ConfigureError> {
        self.check(format!("introspect {access_token}"))?;
        Ok(match self.access_tokens.borrow().get(access_token) {
            Some((sub, true, _)) => Introspection { active: true, sub: Some(sub.clone()) },
            _ => Introspection::default(),
        })
    }
    async fn profile_identity(
        &self,
        access_token: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, ConfigureError> {
        self.check(format!("profile {access_token}"))?;
        match self.access_tokens.borrow().get(access_token) {
            Some((_, true, identity)) => Ok(identity.as_object().cloned().unwrap_or_default()),
            _ => Err(ConfigureError::new(ErrorCode::AuthRequired, "invalid token").with_status(401)),
        }
    }
    async fn add_oauth_redirect_uri(
        &self,
        client_id: &str,
        uri: &str,
    ) -> Result<OAuthRedirects, ConfigureError> {
        self.check(format!("register {client_id} {uri}"))?;
        if let Some((status, body)) = self.redirect_failure.borrow().clone() {
            let reason = configure_edge::api::redirect_failure_reason(status, &body, client_id);
            return Err(ConfigureError::new(ErrorCode::AuthRequired, reason).with_status(status));
        }
        let mut uris = self.redirect_uris.borrow_mut();
        let changed = !uris.iter().any(|u| u == uri);
        if changed {
            uris.push(uri.to_owned());
        }
        Ok(OAuthRedirects { redirect_uris: uris.clone(), changed })
    }
}

pub fn settings(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = [
        ("CONFIGURE_KV", ""),
        ("CONFIGURE_AGENT", AGENT),
        ("CONFIGURE_API_KEY", "sk_test_native"),
        ("CONFIGURE_EDGE_API_SECRET", SECRET),
        ("CONFIGURE_EDGE_SEALING_KEYS", SEALING_KEYS),
        ("CONFIGURE_PUBLISHABLE_KEY", "pk_test_native"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        map.insert(k.to_string(), v.to_string());
    }
    map
}

/// A limiter that allows `limit` requests per key, then refuses.
#[derive(Default)]
pub struct CountingLimiter {
    pub limit: u32,
    pub counts: RefCell<BTreeMap<String, u32>>,
}

impl RateLimit for CountingLimiter {
    async fn allow(&self, key: &str) -> Result<bool, String> {
        let mut counts = self.counts.borrow_mut();
        let count = counts.entry(key.to_owned()).or_default();
        *count += 1;
        Ok(*count <= self.limit)
    }
}

/// Everything one test needs: settings, store, API, log, clock.
pub struct Harness {
    pub source: BTreeMap<String, String>,
    pub config: Config,
    pub store: MemoryStore,
    pub api: FakeApi,
    pub log: MemoryLog,
    pub now: std::cell::Cell<u64>,
    pub limiter: Option<CountingLimiter>,
}

impl Harness {
    pub fn new(api: FakeApi) -> Harness {
        Harness::with_settings(api, &[])
    }
    pub fn with_settings(api: FakeApi, extra: &[(&str, &str)]) -> Harness {
        let source = settings(extra);
        let config = Config::from_source(&source);
        let store = MemoryStore::new();
        store.set_now(NOW);
        Harness {
            source,
            config,
            store,
            api,
            log: MemoryLog::default(),
            now: std::cell::Cell::new(NOW),
            limiter: None,
        }
    }
    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
        self.store.set_now(self.now.get());
    }
    pub fn call(&self, request: HttpRequest) -> HttpResponse {
        let app = App {
            settings: &self.source,
            config: &self.config,
            store: Some(&self.store),
            api: Some(&self.api),
            limiter: self.limiter.as_ref(),
            now_ms: self.now.get(),
            log: &self.log,
        };
        pollster::block_on(app.handle(&request))
    }
}

pub fn agent_post(path: &str, body: &str) -> HttpRequest {
    HttpRequest::new("POST", &format!("https://edge.example{path}"))
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"))
        .with_header("Content-Type", "application/json")
        .with_body(body)
}

pub fn agent_get(path: &str) -> HttpRequest {
    HttpRequest::new("GET", &format!("https://edge.example{path}"))
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"))
}

pub fn webhook(body: &str) -> HttpRequest {
    HttpRequest::new("POST", "https://edge.example/auth/configure/complete")
        .unwrap()
        .with_header("Origin", "https://sign-in.me")
        .with_header("Content-Type", "application/json")
        .with_body(body)
}

pub fn json(response: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null)
}
