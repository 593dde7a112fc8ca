//! The web flow: a web app links its signed-in user to Configure with this
//! Worker as its only server-side piece.
//!
//! 1. The app's server asks `POST /v1/sign-ins {subject, returnAfter}` for a
//!    one-time ticket URL and sends the browser there.
//! 2. `GET /auth/configure/sign-in?ticket=…` consumes the ticket, keeps a
//!    random state in KV, binds it to the browser with a `__Host-` cookie, and
//!    redirects to the hosted page with `return_to` = this Worker's callback.
//! 3. `GET /api/configure/callback?code=…&state=…` checks the state against
//!    the cookie and KV and exchanges the code with the `sk_` key. It does
//!    not link anything: the result is sealed under a random one-time code
//!    and the browser goes to `returnAfter?configure_code=<code>`.
//! 4. The app's handler for `returnAfter`, in its own session, redeems the
//!    code with the subject of its signed-in user (redeem.rs): only a match
//!    writes the link. A ticket URL forwarded to someone else therefore links
//!    nothing: their browser lands in their own session (or none).
//!
//! Redirects go only to the hosted sign-in origin or an allowlisted
//! `returnAfter`; every URL of the flow is built from `PUBLIC_URL`.

use crate::api::{approved_agent_token, ConfigureApi};
use crate::clock::iso8601;
use crate::error::{EdgeError, PageError};
use crate::http::body::required_string;
use crate::log::Log;
use crate::sdk::agent::AgentHandle;
use crate::sdk::configure_error::ConfigureError;
use crate::sdk::sign_in_url::{sign_in_url, SignInUrlOptions};
use crate::sdk::strict_url::StrictUrl;
use crate::sealing::seal::Keyring;
use crate::settings::config::Config;
use crate::storage::records::{
    redeem_key, setup_key, state_key, ticket_key, WebSignInRecord, RECORD_VERSION,
};
use crate::storage::store::Store;
use crate::VERSION;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::storage::ledger::Ledger;
use crate::storage::repository::{live_record, put_item, remember, remembered};
use crate::storage::single_use::{claim_lease_ms, Claim};

pub const SIGN_IN_PATH: &str = "/auth/configure/sign-in";
pub const CALLBACK_PATH: &str = "/api/configure/callback";
/// The query parameter that carries the redeem code to `returnAfter`.
pub const REDEEM_CODE_PARAM: &str = "configure_code";

/// `returnAfter` if it is an absolute http(s) URL on an allowlisted origin,
/// without credentials, with a path a browser keeps as written (see
/// `rewritten_path`) and without a `configure_code` of its own (the Worker
/// adds the one the app redeems).
pub fn check_return_after(value: &str, allowed: &[String]) -> Result<String, EdgeError> {
    let refuse = || {
        EdgeError::bad_request(
            "returnAfter",
            "returnAfter must be a URL on an origin in ALLOWED_RETURN_ORIGINS",
        )
    };
    let url = StrictUrl::parse(value)
        .ok()
        .filter(|url| !rewritten_path(url.rest()) && !carries_redeem_code(url.rest()))
        .ok_or_else(refuse)?;
    if allowed.contains(&url.origin()) {
        Ok(url.href().to_owned())
    } else {
        Err(refuse())
    }
}

/// Whether a browser or router could read this path as something else: a
/// leading `//` (another host to some), a `.` or `..` segment (also written
/// `%2e`), which WHATWG resolves (`/a/..//evil.example` becomes
/// `//evil.example`), or an encoded `/` or `\`.
fn rewritten_path(rest: &str) -> bool {
    let path = rest.split(['?', '#']).next().unwrap_or("").to_ascii_lowercase();
    path.starts_with("//")
        || path.contains("%2f")
        || path.contains("%5c")
        || path.split('/').map(|segment| segment.replace("%2e", ".")).any(|s| s == "." || s == "..")
}

/// Whether the URL's query already has a `configure_code`.
fn carries_redeem_code(rest: &str) -> bool {
    let Some((_, after)) = rest.split_once('?') else { return false };
    let query = after.split('#').next().unwrap_or("");
    form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == REDEEM_CODE_PARAM)
}

/// The body of `POST /v1/sign-ins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRequest {
    pub subject: String,
    /// The app's page that redeems the result in its own session (required:
    /// without it nobody could redeem the sign-in for the right user).
    pub return_after: String,
}

impl SignInRequest {
    pub fn from_json(body: &Map<String, Value>, config: &Config) -> Result<SignInRequest, EdgeError> {
        let subject = super::agent_subject(body)?;
        let return_after =
            check_return_after(&required_string(body, "returnAfter", 2048)?, &config.allowed_return_origins)?;
        Ok(SignInRequest { subject, return_after })
    }
}

/// The answer of `POST /v1/sign-ins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInCreated {
    pub url: String,
    pub expires_at: String,
}

/// `POST /v1/sign-ins`: a one-time ticket URL on this Worker.
pub async fn create_sign_in<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    request: &SignInRequest,
    worker_origin: &str,
) -> Result<SignInCreated, EdgeError> {
    let (store, keyring, config, now_ms) = (flow.store()?, flow.keyring()?, flow.config, flow.now_ms);
    let ticket = super::random_id()?;
    let key = ticket_key(&ticket);
    let ttl = config.ticket_ttl_seconds;
    let record = WebSignInRecord {
        v: RECORD_VERSION,
        sealed_subject: keyring.seal(request.subject.as_bytes(), &key)?,
        return_after: Some(request.return_after.clone()),
        created_at: now_ms,
        expires_at: now_ms + ttl * 1000,
    };
    store.put(&key, &serde_json::to_string(&record)?, Some(ttl)).await?;
    Ok(SignInCreated {
        url: format!("{worker_origin}{SIGN_IN_PATH}?ticket={ticket}"),
        expires_at: iso8601(record.expires_at),
    })
}

/// A live web sign-in record (ticket or state) at `key`, with its subject opened.
async fn live_sign_in<S: Store>(
    store: &S,
    keyring: &Keyring,
    key: &str,
    now_ms: u64,
    log: &dyn Log,
) -> Result<Option<(WebSignInRecord, String)>, EdgeError> {
    let Some(record) = live_record::<WebSignInRecord, S>(store, key, now_ms, log).await? else {
        return Ok(None);
    };
    match keyring.open_text(&record.sealed_subject, key) {
        Ok(subject) => Ok(Some((record, subject))),
        Err(error) => {
            log.warn(&format!("web sign-in record at {key} does not open ({error:?})"));
            Ok(None)
        }
    }
}

/// Registers this Worker's callback as a return destination with Configure,
/// once per deploy (remembered in KV; retried on the next use while it fails).
/// `force` registers again regardless (`POST /v1/setup`).
pub async fn ensure_return_to<S: Store, A: ConfigureApi>(
    store: &S,
    api: &A,
    callback: &str,
    force: bool,
    now_ms: u64,
) -> Result<bool, RegistrationError> {
    let key = setup_key("return_to", callback, VERSION);
    if !force && remembered(store, &key).await.map_err(RegistrationError::Store)? {
        return Ok(false);
    }
    api.allow_return_to(callback).await.map_err(RegistrationError::Configure)?;
    remember(store, &key, "return_to", now_ms).await.map_err(RegistrationError::Store)?;
    Ok(true)
}

/// Why a registration with Configure failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationError {
    Configure(ConfigureError),
    Store(crate::storage::store::StoreError),
}

impl RegistrationError {
    pub fn code(&self) -> String {
        match self {
            RegistrationError::Configure(e) => e.code.as_str().to_owned(),
            RegistrationError::Store(_) => "STORE_UNAVAILABLE".to_owned(),
        }
    }
    pub fn message(&self) -> String {
        match self {
            RegistrationError::Configure(e) => e.message.clone(),
            RegistrationError::Store(_) => {
                "KV was unavailable; the registration was not remembered.".to_owned()
            }
        }
    }
}

/// What `GET /auth/configure/sign-in` answers: where to send the browser, and
/// the state to bind to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInStarted {
    pub location: String,
    pub state: String,
}

/// The shared context of the browser-facing steps.
pub struct WebContext<'a, S: Store, A: ConfigureApi> {
    pub store: &'a S,
    pub ledger: Option<Ledger<'a>>,
    pub api: Option<&'a A>,
    pub keyring: &'a Keyring,
    pub agent: &'a AgentHandle,
    pub config: &'a Config,
    pub worker_origin: &'a str,
    pub now_ms: u64,
    pub log: &'a dyn Log,
}

impl<'a, S: Store, A: ConfigureApi> WebContext<'a, S, A> {
    /// Everything a web sign-in needs, or the 503 naming the first missing
    /// setting (PUBLIC_URL first: the browser flows run on it alone).
    pub fn new(flow: &super::Flow<'a, S, A>) -> Result<WebContext<'a, S, A>, EdgeError> {
        Ok(WebContext {
            worker_origin: flow.public_url()?,
            store: flow.store()?,
            ledger: flow.ledger,
            api: flow.api,
            keyring: flow.keyring()?,
            agent: flow.agent()?,
            config: flow.config,
            now_ms: flow.now_ms,
            log: flow.log,
        })
    }

    pub fn callback_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.worker_origin)
    }

    /// `GET /auth/configure/sign-in?ticket=…`.
    pub async fn start(&self, ticket: Option<&str>) -> Result<SignInStarted, PageError> {
        let used = || {
            PageError::new(
                400,
                "This sign-in link cannot be used",
                "It is invalid, expired or already used. Start again from the app.",
            )
        };
        let ticket = ticket.filter(|t| !t.is_empty()).ok_or_else(used)?;
        let ticket_key = ticket_key(ticket);
        let (record, subject) = live_sign_in(self.store, self.keyring, &ticket_key, self.now_ms, self.log)
            .await?
            .ok_or_else(used)?;
        // Claimed before anything is written: of concurrent uses of one
        // ticket one goes on, the others get the replay's page.
        let claim =
            Claim::take(self.ledger, &ticket_key, self.now_ms, claim_lease_ms(self.config.api_timeout_ms))
                .await
                .map_err(EdgeError::from)?
                .ok_or_else(used)?;
        let expires_at = record.expires_at;
        let started = self.start_claimed(&ticket_key, record, &subject).await;
        claim.finish(started.is_ok(), expires_at, self.log).await;
        started
    }

    /// A sign-in's start once its ticket is claimed.
    async fn start_claimed(
        &self,
        ticket_key: &str,
        record: WebSignInRecord,
        subject: &str,
    ) -> Result<SignInStarted, PageError> {
        let callback = self.callback_url();
        if let Some(api) = self.api {
            if let Err(error) = ensure_return_to(self.store, api, &callback, false, self.now_ms).await {
                self.log.warn(&format!(
                    "registering the callback failed ({}); retried on next use",
                    error.code()
                ));
            }
        }

        let state = super::random_id()?;
        let key = state_key(&state);
        let ttl = self.config.state_ttl_seconds;
        let state_record = WebSignInRecord {
            v: RECORD_VERSION,
            sealed_subject: self.keyring.seal(subject.as_bytes(), &key)?,
            return_after: record.return_after,
            created_at: self.now_ms,
            expires_at: self.now_ms + ttl * 1000,
        };
        self.store
            .put(&key, &serde_json::to_string(&state_record).map_err(EdgeError::from)?, Some(ttl))
            .await
            .map_err(EdgeError::from)?;
        // Then consume the ticket: a failed state write leaves the ticket
        // usable, and a ticket that cannot be deleted is not used (single
        // use is best effort on KV); its orphaned state just expires.
        self.store.delete(ticket_key).await.map_err(EdgeError::from)?;

        let options = SignInUrlOptions {
            sign_in_origin: self.config.sign_in_origins.first().cloned(),
            publishable_key: self.config.publishable_key.clone(),
            return_to: Some(callback),
            state: Some(state.clone()),
            display_name: self.config.display_name.clone(),
            connectors: self.config.connectors.clone(),
            theme: self.config.theme.clone(),
            ..SignInUrlOptions::default()
        };
        let location =
            sign_in_url(self.agent, &options).map_err(|e| EdgeError::Internal { detail: e.to_string() })?;
        Ok(SignInStarted { location, state })
    }

    /// `GET /api/configure/callback?code=…&state=…` (or `error=…`): where to
    /// send the browser once the result waits for the app's redeem.
    pub async fn finish(&self, query: &CallbackQuery, cookie: Option<&str>) -> Result<String, PageError> {
        let bound = |state: &str| cookie.is_some_and(|c| crate::sealing::crypto::same_secret(c, state));
        let (code, state) = match checked_return(query, bound) {
            Ok(returned) => returned,
            Err(declined) => {
                if let Some(state) = declined.bound_state {
                    if let Err(e) = self.store.delete(&state_key(state)).await {
                        self.log.warn(&format!("state not deleted after an error return: {e}"));
                    }
                }
                return Err(declined.page);
            }
        };
        let key = state_key(state);
        let (record, subject) = live_sign_in(self.store, self.keyring, &key, self.now_ms, self.log)
            .await?
            .ok_or_else(PageError::invalid_state)?;
        // Claimed before the code is exchanged: of concurrent callbacks with
        // one state, one asks Configure, the others get the replay's page.
        // A failure gives the state back.
        let claim = Claim::take(self.ledger, &key, self.now_ms, claim_lease_ms(self.config.api_timeout_ms))
            .await
            .map_err(EdgeError::from)?
            .ok_or_else(PageError::invalid_state)?;
        let expires_at = record.expires_at;
        let finished = self.finish_claimed(code, &key, record, &subject).await;
        claim.finish(finished.is_ok(), expires_at, self.log).await;
        finished
    }

    /// A callback's work once its state is claimed.
    async fn finish_claimed(
        &self,
        code: &str,
        key: &str,
        record: WebSignInRecord,
        subject: &str,
    ) -> Result<String, PageError> {
        let key = key.to_owned();

        // Where the code goes, checked before the sign-in code is spent: the
        // allowlist may have changed since the ticket.
        let return_after = record
            .return_after
            .as_deref()
            .and_then(|r| check_return_after(r, &self.config.allowed_return_origins).ok())
            .and_then(|r| StrictUrl::parse(&r).ok());
        let Some(return_after) = return_after else {
            self.log.warn("returnAfter missing or no longer allowlisted; the sign-in was stopped");
            if let Err(error) = self.store.delete(&key).await {
                self.log.warn(&format!("state {key} not deleted: {error}"));
            }
            return Err(PageError::new(
                400,
                "Sign-in could not be completed",
                "The app's return address is no longer allowed. Start again from the app.",
            ));
        };

        let api = self.api.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_API_KEY" })?;
        let exchanged = api.exchange(code).await.map_err(|error| {
            self.log.warn(&format!("code exchange failed: {}", error.code.as_str()));
            PageError::new(
                502,
                "Configure could not complete the sign-in",
                "The sign-in code could not be exchanged with Configure. Please start again.",
            )
        })?;
        if exchanged.agent != self.agent.as_str() {
            self.log.warn("code exchange answered for another agent");
            return Err(PageError::new(
                502,
                "Configure could not complete the sign-in",
                "Configure answered for another agent. Please start again.",
            ));
        }
        if !approved_agent_token(Some(exchanged.approved), exchanged.token_use.as_deref()) {
            self.log.warn("code exchange answered a token that is not an approved agent token");
            return Err(PageError::new(
                401,
                "Sign-in could not be completed",
                "Configure did not approve this sign-in. Please start again.",
            ));
        }

        // Not linked here: whoever holds the browser is not known to be the
        // app's user. The app redeems the code in its own session.
        let redeem_code = super::random_id()?;
        let payload = serde_json::json!({
            "subject": subject,
            "token": exchanged.token,
            "userId": exchanged.user_id,
            "agent": exchanged.agent,
        });
        let ttl_ms = self.config.redeem_ttl_seconds * 1000;
        put_item(self.store, self.keyring, &redeem_key(&redeem_code), &payload, ttl_ms, self.now_ms).await?;
        if let Err(error) = self.store.delete_after_answer(&key).await {
            self.log.warn(&format!("state {key} used but not deleted: {error}"));
        }
        Ok(return_after.with_query_pair(&format!("{REDEEM_CODE_PARAM}={redeem_code}")))
    }
}

/// An `error=` return, or a return that cannot go on: the page to show, and
/// the returned state when it is the one bound to this browser (its record
/// can go).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declined<'q> {
    pub page: PageError,
    pub bound_state: Option<&'q str>,
}

/// The fixed text for an OAuth-style `error` code: never the caller's
/// `error_description`, which anyone can put in a link.
pub fn declined_text(error: &str) -> &'static str {
    match error {
        "access_denied" => "You cancelled the sign-in or declined access. Start again whenever you like.",
        "login_required" | "consent_required" | "interaction_required" | "account_selection_required" => {
            "The sign-in needs you to sign in and consent again. Please start again."
        }
        "server_error" | "temporarily_unavailable" => {
            "Configure could not complete the sign-in right now. Please try again in a moment."
        }
        "invalid_request"
        | "unauthorized_client"
        | "unsupported_response_type"
        | "invalid_scope"
        | "invalid_target"
        | "invalid_client" => "The sign-in request was refused. Please start again from the app.",
        _ => "The sign-in did not complete. Please start again from the app.",
    }
}

/// The rules both callbacks (return-code and OAuth) apply before anything
/// else: an `error` return ends the sign-in with a fixed text; otherwise a
/// code is required and the state must be the one bound to this browser
/// (`bound`, in constant time). Gives the code and the state.
pub fn checked_return<'q>(
    query: &'q CallbackQuery,
    bound: impl Fn(&str) -> bool,
) -> Result<(&'q str, &'q str), Declined<'q>> {
    let refuse = |page: PageError| Declined { page, bound_state: None };
    if let Some(error) = &query.error {
        // The user cancelled or declined, or the other side gave up.
        return Err(Declined {
            page: PageError::new(400, "Sign-in did not complete", declined_text(error)),
            bound_state: query.state.as_deref().filter(|s| bound(s)),
        });
    }
    let code = query.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| {
        refuse(PageError::new(400, "Sign-in could not be completed", "Missing sign-in code."))
    })?;
    let state = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && bound(s))
        .ok_or_else(|| refuse(PageError::invalid_state()))?;
    Ok((code, state))
}

/// The callback's query parameters (first value of each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl CallbackQuery {
    pub fn parse(query: &str) -> CallbackQuery {
        let mut out = CallbackQuery::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "code" => &mut out.code,
                "state" => &mut out.state,
                "error" => &mut out.error,
                "error_description" => &mut out.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.chars().take(500).collect());
            }
        }
        out
    }
}

/// The first value of `name` in a query string.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_after_must_be_on_an_allowed_origin() {
        let allowed = vec!["https://app.example".to_owned()];
        assert_eq!(
            check_return_after("https://app.example/settings?x=1#y", &allowed).unwrap(),
            "https://app.example/settings?x=1#y"
        );
        for bad in [
            "https://evil.example/",
            "https://app.example.evil.example/",
            "http://app.example/",
            "https://user@app.example/",
            "javascript:alert(1)",
            "//app.example/x",
            "/settings",
            "https://app.example:8443/",
            "https://app.example//evil.example/x",
            "https://app.example//",
            "https://app.example/.//evil.example/x",
            "https://app.example/%2e//evil.example",
            "https://app.example/a/..//evil.example",
            "https://app.example/a/%2E%2E/x",
            "https://app.example/a/..",
            "https://app.example/%2f%2fevil.example",
            "https://app.example/%5Cevil.example",
            "https://app.example/cb?configure_code=attacker",
            "https://app.example/cb?x=1&configure%5Fcode=attacker",
        ] {
            assert!(check_return_after(bad, &allowed).is_err(), "{bad}");
        }
    }

    #[test]
    fn ordinary_paths_are_kept() {
        let allowed = vec!["https://app.example".to_owned()];
        for good in [
            "https://app.example/a//b",
            "https://app.example/a.b/..c/...",
            "https://app.example/cb?code=1#configure_code",
            "https://app.example/",
        ] {
            assert_eq!(check_return_after(good, &allowed).unwrap(), good, "{good}");
        }
    }

    #[test]
    fn error_returns_show_fixed_text_only() {
        let query = CallbackQuery::parse("error=access_denied&error_description=%3Cb%3EPay+at+evil.example");
        let declined = checked_return(&query, |_| true).unwrap_err();
        assert!(declined.page.message.contains("declined"));
        assert!(!declined.page.message.contains("evil") && !declined.page.message.contains('<'));
        let unknown = CallbackQuery::parse("error=call+0800-SCAM&state=s");
        let declined = checked_return(&unknown, |s| s == "s").unwrap_err();
        assert!(!declined.page.message.contains("SCAM"));
        assert_eq!(declined.bound_state, Some("s"));
        assert_eq!(checked_return(&unknown, |_| false).unwrap_err().bound_state, None);
    }

    #[test]
    fn callback_query_takes_first_values() {
        let q = CallbackQuery::parse("code=c1&state=s1&code=c2&error_description=a+b");
        assert_eq!(q.code.as_deref(), Some("c1"));
        assert_eq!(q.state.as_deref(), Some("s1"));
        assert_eq!(q.error_description.as_deref(), Some("a b"));
        assert_eq!(q.error, None);
    }
}
