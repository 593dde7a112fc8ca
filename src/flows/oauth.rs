//! "Continue with Configure": OAuth 2 login with PKCE, with this Worker as
//! the only server-side piece of a static site or SPA.
//!
//! 1. `GET /auth/configure/login?returnAfter=…` keeps a PKCE verifier (sealed)
//!    under a hashed random state in KV, binds the state to the browser with a
//!    `__Host-` cookie, and redirects to `<accounts>/oauth/authorize`.
//! 2. `GET /auth/configure/oauth/callback?code=…&state=…` checks the state
//!    against the cookie and KV (single use), redeems the code at
//!    `<base>/oauth/token` (client_secret_basic, the verifier, the resource),
//!    introspects the access token and reads the profile's identity, as the
//!    SDK's Better Auth provider does; a user only when introspection is
//!    active with a `sub`. The tokens are sealed and stored as the link of
//!    subject `configure:<sub>`; the browser gets a signed session cookie
//!    (session.rs) and goes to `returnAfter` (allowlisted) or `/`.
//!
//! The redirect URI is registered with the OAuth client on first use and by
//! `POST /v1/setup` (the SDK's `ensureSsoCallback`).

use crate::api::{ConfigureApi, OAuthClient, TokenRequest, NOT_A_SECRET_KEY};
use crate::app::VERSION;
use crate::clock::iso8601;
use crate::config::Config;
use crate::configure_error::{ConfigureError, ErrorCode};
use crate::error::EdgeError;
use crate::http_url::HttpUrl;
use crate::log::Log;
use crate::records::{
    oauth_state_key, parse_record, setup_key, LinkSource, OAuthStateRecord, RECORD_VERSION,
};
use crate::redirect::{check_parts, UrlParts};
use crate::seal::Keyring;
use crate::session::{EdgeSession, SessionKeys, SessionUser};
use crate::settings::Secret;
use crate::store::Store;
use futures_util::future::join;

use super::links::{store_link, NewLink};
use super::web::{check_return_after, checked_return, CallbackQuery, PageError, RegistrationError};

pub const LOGIN_PATH: &str = "/auth/configure/login";
pub const OAUTH_CALLBACK_PATH: &str = "/auth/configure/oauth/callback";
pub const SESSION_PATH: &str = "/auth/configure/session";
pub const LOGOUT_PATH: &str = "/auth/configure/logout";

/// The cookie that binds a login's OAuth state to the browser (apart from
/// the web flow's, so the two can run side by side).
pub const OAUTH_STATE_COOKIE: &str = "__Host-configure-edge-oauth";

/// The subject an OAuth login's tokens are linked under.
pub fn oauth_subject(sub: &str) -> String {
    format!("configure:{sub}")
}

/// RFC 7636 S256: `base64url(sha256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    crate::b64::encode_url(crate::crypto::sha256(verifier.as_bytes()))
}

/// What `GET /auth/configure/login` answers: where to send the browser and
/// the state to bind to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStarted {
    pub location: String,
    pub state: String,
}

/// What a successful callback answers: where to go, and the session cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFinished {
    pub location: String,
    pub session: String,
    pub user: SessionUser,
}

/// What a login needs, all present (else the route answers 503 naming the setting).
pub struct OAuthContext<'a, S: Store, A: ConfigureApi> {
    pub store: &'a S,
    pub api: &'a A,
    pub keyring: &'a Keyring,
    pub sessions: &'a SessionKeys,
    pub client: OAuthClient<'a>,
    pub api_key: &'a Secret,
    pub agent: &'a str,
    pub config: &'a Config,
    pub worker_origin: &'a str,
    pub now_ms: u64,
    pub log: &'a dyn Log,
}

fn failed_upstream(message: &str) -> PageError {
    PageError::new(502, "Configure could not complete the sign-in", format!("{message} Please start again."))
}

impl<S: Store, A: ConfigureApi> OAuthContext<'_, S, A> {
    /// This Worker's OAuth callback: the `redirect_uri` of every request.
    pub fn redirect_uri(&self) -> String {
        format!("{}{OAUTH_CALLBACK_PATH}", self.worker_origin)
    }

    /// `GET /auth/configure/login?returnAfter=…`.
    pub async fn login(&self, return_after: Option<&str>) -> Result<LoginStarted, PageError> {
        let return_after = match return_after.filter(|r| !r.is_empty()) {
            None => None,
            Some(value) => {
                Some(check_return_after(value, &self.config.allowed_return_origins).map_err(|_| {
                    PageError::new(
                        400,
                        "This sign-in link cannot be used",
                        "returnAfter must be a URL on an origin in ALLOWED_RETURN_ORIGINS.",
                    )
                })?)
            }
        };
        let redirect_uri = self.redirect_uri();
        if let Err(error) = ensure_oauth_redirect(
            self.store,
            self.api,
            self.api_key,
            self.client.client_id,
            &redirect_uri,
            false,
            self.now_ms,
        )
        .await
        {
            self.log.warn(&format!(
                "registering the OAuth redirect URI failed ({}: {}); retried on next use",
                error.code(),
                error.message()
            ));
        }

        let verifier = super::random_id()?;
        let state = super::random_id()?;
        let key = oauth_state_key(&state);
        let ttl = self.config.state_ttl_seconds;
        let record = OAuthStateRecord {
            v: RECORD_VERSION,
            sealed_verifier: self.keyring.seal(verifier.as_bytes(), &key)?,
            return_after,
            created_at: self.now_ms,
            expires_at: self.now_ms + ttl * 1000,
        };
        let text = serde_json::to_string(&record).map_err(EdgeError::from)?;
        self.store.put(&key, &text, Some(ttl)).await.map_err(EdgeError::from)?;

        let location =
            form_urlencoded::Serializer::new(format!("{}/oauth/authorize?", self.config.accounts_origin))
                .append_pair("response_type", "code")
                .append_pair("client_id", self.client.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair(
                    "scope",
                    &crate::text::join(self.config.oauth_scopes.iter().map(String::as_str), " "),
                )
                .append_pair("state", &state)
                .append_pair("code_challenge", &pkce_challenge(&verifier))
                .append_pair("code_challenge_method", "S256")
                .append_pair("resource", &self.config.oauth_resource)
                .finish();
        Ok(LoginStarted { location, state })
    }

    /// `GET /auth/configure/oauth/callback?code=…&state=…` (or `error=…`).
    pub async fn callback(
        &self,
        query: &CallbackQuery,
        cookie: Option<&str>,
    ) -> Result<LoginFinished, PageError> {
        let (code, key) =
            checked_return(self.store, self.log, query, cookie, oauth_state_key, "Configure").await?;
        let record = self.live_state(&key).await?.ok_or_else(PageError::invalid_state)?;
        let verifier = self.keyring.open_text(&record.sealed_verifier, &key).map_err(|error| {
            self.log.warn(&format!("OAuth state at {key} does not open ({error:?})"));
            PageError::invalid_state()
        })?;
        // Single use before anything else: an authorization code is good for
        // one redemption anyway, so a retry starts a new login.
        self.store.delete(&key).await.map_err(EdgeError::from)?;

        let redirect_uri = self.redirect_uri();
        let request = TokenRequest {
            code,
            redirect_uri: &redirect_uri,
            code_verifier: &verifier,
            resource: &self.config.oauth_resource,
        };
        let tokens = self.api.oauth_token(self.client, request).await.map_err(|error| {
            self.log.warn(&format!(
                "OAuth token request failed: {} {} ({})",
                error.status.map(|s| s.to_string()).unwrap_or_default(),
                error.code.as_str(),
                error.message
            ));
            match error.status {
                Some(400) => PageError::new(
                    400,
                    "Sign-in could not be completed",
                    "Configure refused the sign-in code (expired or already used). Please start again.",
                ),
                Some(401) => failed_upstream(
                    "Configure refused this site's OAuth client (check CONFIGURE_OAUTH_CLIENT_ID and CONFIGURE_OAUTH_CLIENT_SECRET).",
                ),
                _ => failed_upstream("The sign-in code could not be redeemed with Configure."),
            }
        })?;

        let (introspection, identity) =
            join(self.api.introspect(&tokens.access_token), self.api.profile_identity(&tokens.access_token))
                .await;
        let introspection = introspection.map_err(|error| {
            self.log.warn(&format!("token introspection failed: {}", error.code.as_str()));
            failed_upstream("Configure could not confirm the sign-in.")
        })?;
        let sub =
            match (introspection.active, introspection.sub) {
                (true, Some(sub)) => sub,
                _ => return Err(PageError::new(
                    401,
                    "Sign-in could not be completed",
                    "Configure did not confirm this sign-in (the token is not active). Please start again.",
                )),
            };
        let identity = identity.map_err(|error| {
            self.log.warn(&format!("profile identity read failed: {}", error.code.as_str()));
            failed_upstream("Your Configure profile could not be read.")
        })?;

        let subject = oauth_subject(&sub);
        let link = NewLink {
            subject: &subject,
            token: &tokens.access_token,
            user_id: &sub,
            agent: self.agent,
            source: LinkSource::OAuth,
            refresh_token: tokens.refresh_token.as_deref(),
            expires_at: tokens.expires_in.map(|seconds| iso8601(self.now_ms + seconds.saturating_mul(1000))),
        };
        store_link(self.store, self.keyring, link, self.now_ms).await?;

        let user = SessionUser::from_identity(&sub, &identity);
        let now_seconds = self.now_ms / 1000;
        let session = self.sessions.sign(&EdgeSession {
            user: user.clone(),
            iat: now_seconds,
            exp: now_seconds + self.config.session_ttl_seconds,
        });
        Ok(LoginFinished { location: self.destination(record.return_after.as_deref()), session, user })
    }

    /// A live, readable OAuth state record at `key`.
    async fn live_state(&self, key: &str) -> Result<Option<OAuthStateRecord>, EdgeError> {
        let Some(text) = self.store.get(key).await? else {
            return Ok(None);
        };
        let Some(record) = parse_record::<OAuthStateRecord>(&text) else {
            self.log.warn(&format!("unreadable OAuth state record at {key}"));
            return Ok(None);
        };
        Ok((self.now_ms < record.expires_at).then_some(record))
    }

    /// `returnAfter` if still allowlisted (the list may have changed since
    /// the login started), else this Worker's `/`.
    fn destination(&self, return_after: Option<&str>) -> String {
        match return_after.map(|r| check_return_after(r, &self.config.allowed_return_origins)) {
            Some(Ok(url)) => url,
            Some(Err(_)) => {
                self.log.warn("returnAfter no longer allowlisted; sent to /");
                format!("{}/", self.worker_origin)
            }
            None => format!("{}/", self.worker_origin),
        }
    }
}

/// What a redirect-URI registration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectRegistration {
    /// Already remembered in KV for this deploy: no request made.
    Remembered,
    /// Configure added it now.
    Registered,
    /// Configure already had it.
    AlreadyRegistered,
}

/// Registers `uri` with the OAuth client (`ensureSsoCallback`), once per
/// deploy (remembered in KV; retried on the next use while it fails).
/// `force` registers again regardless (`POST /v1/setup`).
pub async fn ensure_oauth_redirect<S: Store, A: ConfigureApi>(
    store: &S,
    api: &A,
    api_key: &Secret,
    client_id: &str,
    uri: &str,
    force: bool,
    now_ms: u64,
) -> Result<RedirectRegistration, RegistrationError> {
    let refuse =
        |code: ErrorCode, message: String| RegistrationError::Configure(ConfigureError::new(code, message));
    if !api_key.expose().starts_with("sk_") {
        return Err(refuse(ErrorCode::AccessDenied, NOT_A_SECRET_KEY.to_owned()));
    }
    let parsed = HttpUrl::parse(uri)
        .ok_or_else(|| refuse(ErrorCode::InvalidInput, format!("\"{uri}\" is not a valid URL")))?;
    check_parts(uri, &UrlParts::of_http_url(&parsed))
        .map_err(|e| refuse(ErrorCode::InvalidInput, e.message()))?;

    let key = setup_key("oauth_redirect", &format!("{client_id}\n{uri}"), VERSION);
    if !force && store.get(&key).await.map_err(RegistrationError::Store)?.is_some() {
        return Ok(RedirectRegistration::Remembered);
    }
    let answer = api.add_oauth_redirect_uri(client_id, uri).await.map_err(RegistrationError::Configure)?;
    let record = crate::records::SetupRecord {
        v: RECORD_VERSION,
        kind: "oauth_redirect".to_owned(),
        registered_at: iso8601(now_ms),
    };
    let text = serde_json::to_string(&record).map_err(|e| {
        RegistrationError::Store(crate::store::StoreError { operation: "put", detail: e.to_string() })
    })?;
    store.put(&key, &text, None).await.map_err(RegistrationError::Store)?;
    Ok(if answer.changed {
        RedirectRegistration::Registered
    } else {
        RedirectRegistration::AlreadyRegistered
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_rfc_7636_s256() {
        // RFC 7636, Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn subjects_are_prefixed() {
        assert_eq!(oauth_subject("sub_1"), "configure:sub_1");
    }
}
