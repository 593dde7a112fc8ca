//! "Continue with Configure": OAuth 2 login with PKCE, with this Worker as
//! the only server-side piece of a static site or SPA.
//!
//! 1. `GET /auth/configure/login?returnAfter=…` writes nothing to KV: a
//!    random state, the PKCE verifier and `returnAfter` travel sealed in the
//!    `__Host-` login cookie (AES-GCM, the cookie's name as associated data),
//!    and the browser goes to `<accounts>/oauth/authorize`.
//! 2. `GET /auth/configure/oauth/callback?code=…&state=…` checks the state
//!    against the sealed cookie (every answer clears it), redeems the code at
//!    `<base>/oauth/token` (client_secret_basic, the verifier, the resource),
//!    introspects the access token and reads the profile's identity, as the
//!    SDK's Better Auth provider does; a user only when introspection is
//!    active with a `sub`. The tokens are sealed and stored as the link of
//!    subject `configure:<sub>`; the browser gets a signed session cookie
//!    (session.rs) and goes to `returnAfter` (allowlisted) or `/`.
//!
//! The redirect URI is registered with the OAuth client by `POST /v1/setup`
//! (the SDK's `ensureSsoCallback`) and, until that is remembered, by a login
//! (a KV read and a Configure request, no write); the first callback that
//! succeeds after such a registration remembers it.

use crate::api::{ConfigureApi, OAuthClient, TokenRequest, NOT_A_SECRET_KEY};
use crate::clock::iso8601;
use crate::error::EdgeError;
use crate::log::Log;
use crate::sdk::configure_error::{ConfigureError, ErrorCode};
use crate::sdk::redirect::{check_parts, UrlParts};
use crate::sdk::strict_url::StrictUrl;
use crate::sealing::seal::Keyring;
use crate::sealing::session::{EdgeSession, SessionKeys, SessionUser};
use crate::settings::config::{require, Config};
use crate::settings::Secret;
use crate::storage::records::{setup_key, LinkSource};
use crate::storage::repository::{remember, remembered};
use crate::storage::store::Store;
use crate::VERSION;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::future::join;
use serde::{Deserialize, Serialize};

use super::sessions::open_session;
use super::web::{check_return_after, checked_return, CallbackQuery, RegistrationError};
use super::OAUTH_SUBJECT_PREFIX;
use crate::error::PageError;
use crate::sealing::crypto::same_secret;
use crate::storage::ledger::Ledger;
use crate::storage::links::{Links, NewLink};
use crate::storage::records::oauth_state_key;
use crate::storage::single_use::{claim_lease_ms, Claim};

pub const LOGIN_PATH: &str = "/auth/configure/login";
pub const OAUTH_CALLBACK_PATH: &str = "/auth/configure/oauth/callback";
pub const SESSION_PATH: &str = "/auth/configure/session";
pub const LOGOUT_PATH: &str = "/auth/configure/logout";

/// The associated data of the login cookie's sealed payload: a sealed value
/// from anywhere else does not open as a login.
const LOGIN_COOKIE_CONTEXT: &str = "cookie:__Host-configure-edge-oauth";

/// The purpose the login cookie's keys are derived for (`Keyring::derived`):
/// anyone can have a login cookie sealed, so it never uses the token keys.
const LOGIN_COOKIE_PURPOSE: &str = "configure-edge login cookie v1";

/// The subject an OAuth login's tokens are linked under.
pub fn oauth_subject(sub: &str) -> String {
    format!("{OAUTH_SUBJECT_PREFIX}{sub}")
}

/// A login in progress, as the login cookie carries it (sealed JSON).
/// Fields in the order of their JSON names, as the cookie has always been
/// written (`returnAfter` null when there is none); read back with unknown
/// fields ignored, `returnAfter` missing or null, the others required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginCookie {
    /// Milliseconds since the epoch.
    pub expires_at: u64,
    /// This login registered the redirect URI with Configure: the callback
    /// remembers it once the login has earned a KV write.
    pub registered: bool,
    /// Allowlisted when the login started; checked again at the end.
    #[serde(default)]
    pub return_after: Option<String>,
    pub state: String,
    pub verifier: String,
}

impl LoginCookie {
    fn seal(&self, keyring: &Keyring) -> Result<String, EdgeError> {
        let keys = keyring.derived(LOGIN_COOKIE_PURPOSE);
        Ok(keys.seal(&serde_json::to_vec(self)?, LOGIN_COOKIE_CONTEXT)?)
    }

    fn open(keyring: &Keyring, value: &str) -> Option<LoginCookie> {
        let bytes = keyring.derived(LOGIN_COOKIE_PURPOSE).open(value, LOGIN_COOKIE_CONTEXT).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// RFC 7636 S256: `base64url(sha256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(crate::sealing::crypto::sha256(verifier.as_bytes()))
}

/// What `GET /auth/configure/login` answers: where to send the browser and
/// the login cookie's value (the sealed `LoginCookie`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStarted {
    pub location: String,
    pub cookie: String,
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
    pub links: Links<'a, S>,
    pub ledger: Option<Ledger<'a>>,
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

impl<'a, S: Store, A: ConfigureApi> OAuthContext<'a, S, A> {
    /// Everything a "Continue with Configure" login needs, or the 503 naming
    /// the first missing setting.
    pub fn new(flow: &super::Flow<'a, S, A>) -> Result<OAuthContext<'a, S, A>, EdgeError> {
        let config = flow.config;
        let worker_origin = flow.public_url()?;
        let agent = flow.agent()?;
        let api_key = require(&config.api_key)?;
        let api = flow.api()?;
        Ok(OAuthContext {
            store: flow.store()?,
            links: flow.links()?,
            ledger: flow.ledger,
            api,
            keyring: flow.keyring()?,
            sessions: require(&config.session_keys)?,
            client: OAuthClient {
                client_id: require(&config.oauth_client_id)?,
                client_secret: require(&config.oauth_client_secret)?,
            },
            api_key,
            agent: agent.as_str(),
            config,
            worker_origin,
            now_ms: flow.now_ms,
            log: flow.log,
        })
    }

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
        let registered = self.register_until_remembered(&redirect_uri).await;

        let verifier = super::random_id()?;
        let state = super::random_id()?;
        let login = LoginCookie {
            state: state.clone(),
            verifier: verifier.clone(),
            return_after,
            expires_at: self.now_ms + self.config.state_ttl_seconds * 1000,
            registered,
        };
        let cookie = login.seal(self.keyring)?;

        let location =
            form_urlencoded::Serializer::new(format!("{}/oauth/authorize?", self.config.accounts_origin))
                .append_pair("response_type", "code")
                .append_pair("client_id", self.client.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("scope", &self.config.oauth_scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("code_challenge", &pkce_challenge(&verifier))
                .append_pair("code_challenge_method", "S256")
                .append_pair("resource", &self.config.oauth_resource)
                .finish();
        Ok(LoginStarted { location, cookie })
    }

    /// Registers the redirect URI with Configure unless KV remembers it is
    /// (a read, never a write: the login has earned nothing yet). Whether a
    /// registration was made now; a failure is logged and retried next time.
    async fn register_until_remembered(&self, redirect_uri: &str) -> bool {
        let key = redirect_setup_key(self.client.client_id, redirect_uri);
        match remembered(self.store, &key).await {
            Ok(true) => return false,
            Ok(false) => {}
            Err(error) => {
                self.log.warn(&format!("OAuth redirect registration not checked: {error}"));
                return false;
            }
        }
        match register_oauth_redirect(self.api, self.api_key, self.client.client_id, redirect_uri).await {
            Ok(_) => true,
            Err(error) => {
                self.log.warn(&format!(
                    "registering the OAuth redirect URI failed ({}: {}); retried on next use",
                    error.code(),
                    error.message()
                ));
                false
            }
        }
    }

    /// `GET /auth/configure/oauth/callback?code=…&state=…` (or `error=…`).
    pub async fn callback(
        &self,
        query: &CallbackQuery,
        cookie: Option<&str>,
    ) -> Result<LoginFinished, PageError> {
        let login = cookie.and_then(|value| LoginCookie::open(self.keyring, value));
        let bound = |state: &str| login.as_ref().is_some_and(|l| same_secret(&l.state, state));
        let (code, _) = checked_return(query, bound).map_err(|declined| declined.page)?;
        // A login cookie is single use by nature: every callback answer
        // clears it, and the authorization code is good for one redemption.
        let login = login.filter(|l| self.now_ms < l.expires_at).ok_or_else(PageError::invalid_state)?;
        // And claimed in the ledger before the code is spent: of concurrent
        // callbacks with one state, one asks Configure, the others are
        // answered as a replay. A failure gives the state back for a retry.
        let claim = Claim::take(
            self.ledger,
            &oauth_state_key(&login.state),
            self.now_ms,
            claim_lease_ms(self.config.api_timeout_ms),
        )
        .await
        .map_err(EdgeError::from)?
        .ok_or_else(PageError::invalid_state)?;
        let finished = self.finish(code, &login).await;
        claim.finish(finished.is_ok(), login.expires_at, self.log).await;
        finished
    }

    /// The callback's work once its state is claimed.
    async fn finish(&self, code: &str, login: &LoginCookie) -> Result<LoginFinished, PageError> {
        let verifier = login.verifier.clone();

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
            reconnect_required: false,
        };
        self.links.store(link).await?;
        if login.registered {
            let key = redirect_setup_key(self.client.client_id, &self.redirect_uri());
            if let Err(error) = remember(self.store, &key, "oauth_redirect", self.now_ms).await {
                self.log.warn(&format!("OAuth redirect registration not remembered: {error}"));
            }
        }

        let user = SessionUser::from_identity(&sub, &identity);
        let now_seconds = self.now_ms / 1000;
        let edge_session = EdgeSession {
            user: user.clone(),
            iat: now_seconds,
            exp: now_seconds + self.config.session_ttl_seconds,
            sid: Some(super::random_id()?),
        };
        open_session(self.ledger, &edge_session, self.config, self.now_ms).await?;
        let session = self.sessions.sign(&edge_session);
        Ok(LoginFinished { location: self.destination(login.return_after.as_deref()), session, user })
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

/// Where KV remembers that `uri` is registered with `client_id` by this version.
fn redirect_setup_key(client_id: &str, uri: &str) -> String {
    setup_key("oauth_redirect", &format!("{client_id}\n{uri}"), VERSION)
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
    let key = redirect_setup_key(client_id, uri);
    if !force && remembered(store, &key).await.map_err(RegistrationError::Store)? {
        return Ok(RedirectRegistration::Remembered);
    }
    let outcome = register_oauth_redirect(api, api_key, client_id, uri).await?;
    remember(store, &key, "oauth_redirect", now_ms).await.map_err(RegistrationError::Store)?;
    Ok(outcome)
}

/// The SDK's `ensureSsoCallback` request: refused before any request for a
/// key that is not `sk_` or a URI that breaks the SSO callback rules.
async fn register_oauth_redirect<A: ConfigureApi>(
    api: &A,
    api_key: &Secret,
    client_id: &str,
    uri: &str,
) -> Result<RedirectRegistration, RegistrationError> {
    let refuse =
        |code: ErrorCode, message: String| RegistrationError::Configure(ConfigureError::new(code, message));
    if !api_key.expose().starts_with("sk_") {
        return Err(refuse(ErrorCode::AccessDenied, NOT_A_SECRET_KEY.to_owned()));
    }
    let parsed = StrictUrl::parse(uri)
        .map_err(|_| refuse(ErrorCode::InvalidInput, format!("\"{uri}\" is not a valid URL")))?;
    check_parts(uri, &UrlParts::of(parsed.url()))
        .map_err(|e| refuse(ErrorCode::InvalidInput, e.message()))?;
    let answer = api.add_oauth_redirect_uri(client_id, uri).await.map_err(RegistrationError::Configure)?;
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
    fn the_login_cookie_opens_only_as_a_login_cookie() {
        let ring = Keyring::parse("k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=").unwrap();
        let login = LoginCookie {
            state: "s".into(),
            verifier: "v".into(),
            return_after: Some("https://app.example/x".into()),
            expires_at: 5,
            registered: true,
        };
        let sealed = login.seal(&ring).unwrap();
        assert!(!sealed.contains("https") && !sealed.contains("verifier"));
        assert_eq!(LoginCookie::open(&ring, &sealed), Some(login));
        // Sealed with the token keys themselves, or for another KV key: not a login.
        let payload = ring.derived(LOGIN_COOKIE_PURPOSE).open(&sealed, LOGIN_COOKIE_CONTEXT).unwrap();
        assert_eq!(ring.open(&sealed, LOGIN_COOKIE_CONTEXT).ok(), None);
        let with_token_keys = ring.seal(&payload, LOGIN_COOKIE_CONTEXT).unwrap();
        assert_eq!(LoginCookie::open(&ring, &with_token_keys), None);
        let elsewhere = ring.derived(LOGIN_COOKIE_PURPOSE).seal(&payload, "state:x").unwrap();
        assert_eq!(LoginCookie::open(&ring, &elsewhere), None);
        assert_eq!(LoginCookie::open(&ring, "k1.AAAA"), None);
    }

    #[test]
    fn the_login_cookie_payload_is_unchanged_and_read_by_the_same_rules() {
        let ring = Keyring::parse("k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=").unwrap();
        let keys = ring.derived(LOGIN_COOKIE_PURPOSE);
        let payload_of = |sealed: &str| keys.open(sealed, LOGIN_COOKIE_CONTEXT).unwrap();
        for return_after in [Some("https://app.example/x".to_owned()), None] {
            let login = LoginCookie {
                state: "s".into(),
                verifier: "v".into(),
                return_after: return_after.clone(),
                expires_at: 5,
                registered: false,
            };
            // The bytes the cookie was sealed over when it was written with `json!`.
            let before = serde_json::json!({
                "state": "s",
                "verifier": "v",
                "returnAfter": return_after,
                "expiresAt": 5,
                "registered": false,
            });
            assert_eq!(payload_of(&login.seal(&ring).unwrap()), serde_json::to_vec(&before).unwrap());
        }
        let open =
            |json: &str| LoginCookie::open(&ring, &keys.seal(json.as_bytes(), LOGIN_COOKIE_CONTEXT).unwrap());
        let bare = LoginCookie {
            state: "s".into(),
            verifier: "v".into(),
            return_after: None,
            expires_at: 5,
            registered: true,
        };
        for ok in [
            r#"{"state":"s","verifier":"v","expiresAt":5,"registered":true}"#,
            r#"{"state":"s","verifier":"v","returnAfter":null,"expiresAt":5,"registered":true,"x":1}"#,
        ] {
            assert_eq!(open(ok), Some(bare.clone()), "{ok}");
        }
        for bad in [
            r#"{"state":"s","verifier":"v","expiresAt":5}"#,
            r#"{"state":"s","verifier":"v","expiresAt":5,"registered":1}"#,
            r#"{"state":"s","verifier":"v","expiresAt":"5","registered":true}"#,
            r#"{"state":"s","verifier":"v","returnAfter":1,"expiresAt":5,"registered":true}"#,
            r#"{"state":null,"verifier":"v","expiresAt":5,"registered":true}"#,
        ] {
            assert_eq!(open(bad), None, "{bad}");
        }
    }

    #[test]
    fn subjects_are_prefixed() {
        assert_eq!(oauth_subject("sub_1"), "configure:sub_1");
    }
}
