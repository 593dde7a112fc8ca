//! The web flow: a web app links its signed-in user to Configure with this
//! Worker as its only server-side piece.
//!
//! 1. The app's server asks `POST /v1/sign-ins {subject, returnAfter?}` for a
//!    one-time ticket URL and sends the browser there.
//! 2. `GET /auth/configure/sign-in?ticket=…` consumes the ticket, keeps a
//!    random state in KV, binds it to the browser with a `__Host-` cookie, and
//!    redirects to the hosted page with `return_to` = this Worker's callback.
//! 3. `GET /api/configure/callback?code=…&state=…` checks the state against
//!    the cookie and KV, exchanges the code with the `sk_` key, stores the
//!    link as the message flow does, and redirects to `returnAfter`
//!    (allowlisted) or the Worker's linked page.
//!
//! Redirects go only to the hosted sign-in origin, an allowlisted
//! `returnAfter`, or the Worker's own pages.

use crate::agent::AgentHandle;
use crate::api::ConfigureApi;
use crate::app::VERSION;
use crate::body::{optional_string, required_string};
use crate::clock::iso8601;
use crate::config::Config;
use crate::configure_error::ConfigureError;
use crate::error::EdgeError;
use crate::http_url::HttpUrl;
use crate::log::Log;
use crate::records::{
    parse_record, setup_key, state_key, ticket_key, LinkSource, SetupRecord, WebSignInRecord, RECORD_VERSION,
};
use crate::seal::Keyring;
use crate::sign_in_url::{sign_in_url, SignInUrlOptions};
use crate::store::Store;
use serde::Serialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::journeys::MAX_SUBJECT_LEN;
use super::links::{store_link, NewLink};

pub const SIGN_IN_PATH: &str = "/auth/configure/sign-in";
pub const CALLBACK_PATH: &str = "/api/configure/callback";
pub const LINKED_PATH: &str = "/auth/configure/linked";

/// A failure of a browser-facing step: answered as an HTML error page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    pub status: u16,
    pub title: &'static str,
    pub message: String,
}

impl PageError {
    pub(crate) fn new(status: u16, title: &'static str, message: impl Into<String>) -> PageError {
        PageError { status, title, message: message.into() }
    }

    pub(crate) fn invalid_state() -> PageError {
        PageError::new(400, "Sign-in could not be completed", "Invalid sign-in state.")
    }
}

impl From<crate::seal::SealError> for PageError {
    fn from(error: crate::seal::SealError) -> PageError {
        PageError::from(EdgeError::from(error))
    }
}

impl From<EdgeError> for PageError {
    fn from(error: EdgeError) -> PageError {
        let title = "Sign-in could not be completed";
        match error {
            EdgeError::StoreUnavailable { .. } => {
                PageError::new(503, title, "Storage is unavailable right now. Please try again in a moment.")
            }
            EdgeError::NotConfigured { setting } => {
                PageError::new(503, title, format!("This Worker is not fully configured ({setting})."))
            }
            EdgeError::RateLimited => PageError::new(
                429,
                "Too many attempts",
                "Too many sign-in attempts from here. Please wait a minute and try again.",
            ),
            other => PageError::new(other.status(), title, "Something went wrong. Please try again."),
        }
    }
}

/// `returnAfter` if it is an absolute http(s) URL on an allowlisted origin.
pub fn check_return_after(value: &str, allowed: &[String]) -> Result<String, EdgeError> {
    let refuse = || {
        EdgeError::bad_request(
            "returnAfter",
            "returnAfter must be a URL on an origin in ALLOWED_RETURN_ORIGINS",
        )
    };
    let url = HttpUrl::parse(value).filter(|url| !url.has_credentials()).ok_or_else(refuse)?;
    if allowed.contains(&url.origin()) {
        Ok(url.href())
    } else {
        Err(refuse())
    }
}

/// The body of `POST /v1/sign-ins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRequest {
    pub subject: String,
    pub return_after: Option<String>,
}

impl SignInRequest {
    pub fn from_json(body: &Map<String, Value>, config: &Config) -> Result<SignInRequest, EdgeError> {
        let subject = required_string(body, "subject", MAX_SUBJECT_LEN)?;
        let return_after = optional_string(body, "returnAfter", 2048)?
            .map(|url| check_return_after(&url, &config.allowed_return_origins))
            .transpose()?;
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
pub async fn create_sign_in<S: Store>(
    store: &S,
    keyring: &Keyring,
    config: &Config,
    request: &SignInRequest,
    worker_origin: &str,
    now_ms: u64,
) -> Result<SignInCreated, EdgeError> {
    let ticket = super::random_id()?;
    let key = ticket_key(&ticket);
    let ttl = config.ticket_ttl_seconds;
    let record = WebSignInRecord {
        v: RECORD_VERSION,
        sealed_subject: keyring.seal(request.subject.as_bytes(), &key)?,
        return_after: request.return_after.clone(),
        created_at: now_ms,
        expires_at: now_ms + ttl * 1000,
    };
    store.put(&key, &serde_json::to_string(&record)?, Some(ttl)).await?;
    Ok(SignInCreated {
        url: format!("{worker_origin}{SIGN_IN_PATH}?ticket={ticket}"),
        expires_at: iso8601(record.expires_at),
    })
}

/// A live web sign-in record at `key`, with its subject opened.
async fn live_record<S: Store>(
    store: &S,
    keyring: &Keyring,
    key: &str,
    now_ms: u64,
    log: &dyn Log,
) -> Result<Option<(WebSignInRecord, String)>, EdgeError> {
    let Some(text) = store.get(key).await? else {
        return Ok(None);
    };
    let Some(record) = parse_record::<WebSignInRecord>(&text) else {
        log.warn(&format!("unreadable web sign-in record at {key}"));
        return Ok(None);
    };
    if now_ms >= record.expires_at {
        return Ok(None);
    }
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
    if !force && store.get(&key).await.map_err(RegistrationError::Store)?.is_some() {
        return Ok(false);
    }
    api.allow_return_to(callback).await.map_err(RegistrationError::Configure)?;
    let record =
        SetupRecord { v: RECORD_VERSION, kind: "return_to".to_owned(), registered_at: iso8601(now_ms) };
    let text = serde_json::to_string(&record).map_err(|e| {
        RegistrationError::Store(crate::store::StoreError { operation: "put", detail: e.to_string() })
    })?;
    store.put(&key, &text, None).await.map_err(RegistrationError::Store)?;
    Ok(true)
}

/// Why a registration with Configure failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationError {
    Configure(ConfigureError),
    Store(crate::store::StoreError),
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
    pub api: Option<&'a A>,
    pub keyring: &'a Keyring,
    pub agent: &'a AgentHandle,
    pub config: &'a Config,
    pub worker_origin: &'a str,
    pub now_ms: u64,
    pub log: &'a dyn Log,
}

impl<S: Store, A: ConfigureApi> WebContext<'_, S, A> {
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
        let (record, subject) = live_record(self.store, self.keyring, &ticket_key, self.now_ms, self.log)
            .await?
            .ok_or_else(used)?;
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
        self.store.delete(&ticket_key).await.map_err(EdgeError::from)?;

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
    /// send the browser once the link is stored.
    pub async fn finish(&self, query: &CallbackQuery, cookie: Option<&str>) -> Result<String, PageError> {
        let (code, key) =
            checked_return(self.store, self.log, query, cookie, state_key, "The sign-in page").await?;
        let (record, subject) = live_record(self.store, self.keyring, &key, self.now_ms, self.log)
            .await?
            .ok_or_else(PageError::invalid_state)?;

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

        let link = NewLink {
            subject: &subject,
            token: &exchanged.token,
            user_id: &exchanged.user_id,
            agent: self.agent.as_str(),
            source: LinkSource::Callback,
            refresh_token: None,
            expires_at: None,
        };
        store_link(self.store, self.keyring, link, self.now_ms).await?;
        if let Err(error) = self.store.delete(&key).await {
            self.log.warn(&format!("state {key} used but not deleted: {error}"));
        }

        // Checked again: the allowlist may have changed since the ticket.
        match record
            .return_after
            .as_deref()
            .map(|r| check_return_after(r, &self.config.allowed_return_origins))
        {
            Some(Ok(return_after)) => {
                let url = HttpUrl::parse(&return_after).ok_or_else(PageError::invalid_state)?;
                Ok(url.with_query_pair("configure=linked"))
            }
            Some(Err(_)) => {
                self.log.warn("returnAfter no longer allowlisted; sent to the linked page");
                Ok(format!("{}{LINKED_PATH}", self.worker_origin))
            }
            None => Ok(format!("{}{LINKED_PATH}", self.worker_origin)),
        }
    }
}

/// The rules both callbacks (return-code and OAuth) apply before anything
/// else: an `error` return ends the sign-in (and deletes its state if the
/// cookie binds it); otherwise a code is required and the state must equal
/// the cookie. Gives the code and the state's KV key (`key_of`).
pub async fn checked_return<'q, S: Store>(
    store: &S,
    log: &dyn Log,
    query: &'q CallbackQuery,
    cookie: Option<&str>,
    key_of: fn(&str) -> String,
    returned_by: &str,
) -> Result<(&'q str, String), PageError> {
    let bound = |state: &str| cookie.is_some_and(|c| bool::from(c.as_bytes().ct_eq(state.as_bytes())));
    if let Some(error) = &query.error {
        // The user cancelled or declined, or the other side gave up.
        if let Some(state) = query.state.as_deref().filter(|s| bound(s)) {
            if let Err(e) = store.delete(&key_of(state)).await {
                log.warn(&format!("state not deleted after an error return: {e}"));
            }
        }
        let detail = query.error_description.as_deref().unwrap_or(error);
        return Err(PageError::new(
            400,
            "Sign-in did not complete",
            format!("{returned_by} returned: {detail}"),
        ));
    }
    let code = query
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| PageError::new(400, "Sign-in could not be completed", "Missing sign-in code."))?;
    let state =
        query.state.as_deref().filter(|s| !s.is_empty() && bound(s)).ok_or_else(PageError::invalid_state)?;
    Ok((code, key_of(state)))
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
        ] {
            assert!(check_return_after(bad, &allowed).is_err(), "{bad}");
        }
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
