//! The Worker's request handling, free of Workers types: route, check
//! access, run the flow, and map any error to its response in one place.

use crate::api::ConfigureApi;
use crate::error::EdgeError;
use crate::flows::complete::{complete, Completed, Completion};
use crate::flows::identity::{resolve_identity, IdentityRequest};
use crate::flows::journeys::{create_journey, JourneyRequest};
use crate::flows::links::{delete_link, read_link};
use crate::flows::oauth::{self, OAuthContext, OAUTH_STATE_COOKIE};
use crate::flows::redeem::{redeem, RedeemRequest};
use crate::flows::web::{self, CallbackQuery, PageError, SignInRequest, WebContext};
use crate::http::bearer;
use crate::http::body;
use crate::http::cookies::{self, STATE_COOKIE};
use crate::http::cors::{self, OriginCheck};
use crate::http::pages;
use crate::http::ratelimit::{self, NoLimit, RateLimit};
use crate::http::routes::{self, Route, AGENT_API_BODY_LIMIT, WEBHOOK_BODY_LIMIT};
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::log::Log;
use crate::sealing::session::SESSION_COOKIE;
use crate::settings::config::{require, Config};
use crate::settings::{self, SettingSource};
use crate::storage::store::Store;
use serde_json::{json, Value};

use crate::VERSION;

/// What a request is handled with. `store` is absent without the KV
/// binding and `api` without an agent and an API key: the routes that need
/// them answer 503 naming the setting.
pub struct App<'a, S: Store, A: ConfigureApi, L: RateLimit = NoLimit> {
    pub settings: &'a dyn SettingSource,
    pub config: &'a Config,
    pub store: Option<&'a S>,
    pub api: Option<&'a A>,
    /// The public routes' limiter (`CONFIGURE_RATE_LIMITER`), if bound.
    pub limiter: Option<&'a L>,
    pub now_ms: u64,
    pub log: &'a dyn Log,
}

impl<S: Store, A: ConfigureApi, L: RateLimit> App<'_, S, A, L> {
    /// Answers one request. Never panics on input and never fails: every
    /// error becomes its JSON answer through `EdgeError::into_response`.
    pub async fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let route = routes::resolve(request.method, &request.path);
        let public = match &route {
            Ok(Route::Complete) => Some("complete"),
            Ok(Route::WebSignIn) => Some("sign-in"),
            Ok(Route::Callback) => Some("callback"),
            Ok(Route::OAuthLogin) => Some("login"),
            Ok(Route::OAuthCallback) => Some("oauth-callback"),
            _ => None,
        };
        if let Some(name) = public {
            if !self.allowed(name, request).await {
                return match &route {
                    Ok(Route::Complete) => cors::decorate(
                        self.webhook_failure(EdgeError::RateLimited),
                        &cors::check(request, &self.config.sign_in_origins),
                    ),
                    Ok(Route::Callback) => self
                        .page_failure(PageError::from(EdgeError::RateLimited))
                        .with_header("Retry-After", &ratelimit::RETRY_AFTER_SECONDS.to_string())
                        .with_header("Set-Cookie", &cookies::clear(STATE_COOKIE)),
                    Ok(Route::OAuthCallback) => self
                        .page_failure(PageError::from(EdgeError::RateLimited))
                        .with_header("Retry-After", &ratelimit::RETRY_AFTER_SECONDS.to_string())
                        .with_header("Set-Cookie", &cookies::clear(OAUTH_STATE_COOKIE)),
                    _ => self
                        .page_failure(PageError::from(EdgeError::RateLimited))
                        .with_header("Retry-After", &ratelimit::RETRY_AFTER_SECONDS.to_string()),
                };
            }
        }
        // A body the entry stopped reading at the route's limit is refused
        // before anything else looks at the request (413 either way).
        if request.body_too_large {
            let limit = route.as_ref().map_or(0, |route| route.body_limit(request.method));
            if limit > 0 {
                let error = EdgeError::PayloadTooLarge { limit };
                return match &route {
                    Ok(Route::Complete) => cors::decorate(
                        self.webhook_failure(error),
                        &cors::check(request, &self.config.sign_in_origins),
                    ),
                    _ => self.failure(error),
                };
            }
        }
        let mut response = match &route {
            Ok(Route::Complete) => self.webhook(request).await,
            Ok(Route::WebSignIn) => self.web_sign_in(request).await.unwrap_or_else(|e| self.page_failure(e)),
            Ok(Route::Callback) => {
                // Every callback answer clears the state cookie.
                let response = self.callback(request).await.unwrap_or_else(|e| self.page_failure(e));
                response.with_header("Set-Cookie", &cookies::clear(STATE_COOKIE))
            }
            Ok(Route::Linked) => pages::linked(),
            Ok(Route::OAuthLogin) => self.oauth_login(request).await.unwrap_or_else(|e| self.page_failure(e)),
            Ok(Route::OAuthCallback) => {
                // Every answer clears the state cookie; success also sets the session.
                let response = self.oauth_callback(request).await.unwrap_or_else(|e| self.page_failure(e));
                response.with_header("Set-Cookie", &cookies::clear(OAUTH_STATE_COOKIE))
            }
            Ok(Route::Session) => self.session(request),
            Ok(Route::Logout) => self.logout(request),
            Ok(route) => self.dispatch(route, request).await.unwrap_or_else(|error| self.failure(error)),
            Err(error) => error.clone().into_response(),
        };
        if request.method == Method::Head {
            response.body.clear();
        }
        response
    }

    /// Whether the public route `name` may serve this client now.
    async fn allowed(&self, name: &str, request: &HttpRequest) -> bool {
        let Some(limiter) = self.limiter else { return true };
        match limiter.allow(&ratelimit::key(name, request)).await {
            Ok(allowed) => allowed,
            Err(error) => {
                self.log.warn(&format!("rate limiter failed ({error}); request allowed"));
                true
            }
        }
    }

    fn page_failure(&self, error: PageError) -> HttpResponse {
        if error.status >= 500 {
            self.log.warn(&format!("browser route answered {}: {}", error.status, error.message));
        }
        pages::error(error.status, error.title, &error.message)
    }

    fn web_context(&self) -> Result<WebContext<'_, S, A>, EdgeError> {
        Ok(WebContext {
            worker_origin: self.public_url()?,
            store: self.store()?,
            api: self.api,
            keyring: require(&self.config.sealing_keys)?,
            agent: require(&self.config.agent)?,
            config: self.config,
            now_ms: self.now_ms,
            log: self.log,
        })
    }

    async fn web_sign_in(&self, request: &HttpRequest) -> Result<HttpResponse, PageError> {
        let context = self.web_context()?;
        let ticket = web::query_value(&request.query, "ticket");
        let started = context.start(ticket.as_deref()).await?;
        Ok(HttpResponse::redirect(&started.location).with_header(
            "Set-Cookie",
            &cookies::set(STATE_COOKIE, &started.state, self.config.state_ttl_seconds),
        ))
    }

    async fn callback(&self, request: &HttpRequest) -> Result<HttpResponse, PageError> {
        let context = self.web_context()?;
        let query = CallbackQuery::parse(&request.query);
        let cookie = cookies::read(request, STATE_COOKIE);
        let location = context.finish(&query, cookie.as_deref()).await?;
        Ok(HttpResponse::redirect(&location))
    }

    /// Everything a "Continue with Configure" login needs, or the 503 naming
    /// the first missing setting.
    fn oauth_context(&self) -> Result<OAuthContext<'_, S, A>, EdgeError> {
        let worker_origin = self.public_url()?;
        let agent = require(&self.config.agent)?;
        let api_key = require(&self.config.api_key)?;
        let api = self.api.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_API_KEY" })?;
        Ok(OAuthContext {
            store: self.store()?,
            api,
            keyring: require(&self.config.sealing_keys)?,
            sessions: require(&self.config.session_keys)?,
            client: crate::api::OAuthClient {
                client_id: require(&self.config.oauth_client_id)?,
                client_secret: require(&self.config.oauth_client_secret)?,
            },
            api_key,
            agent: agent.as_str(),
            config: self.config,
            worker_origin,
            now_ms: self.now_ms,
            log: self.log,
        })
    }

    async fn oauth_login(&self, request: &HttpRequest) -> Result<HttpResponse, PageError> {
        let context = self.oauth_context()?;
        let return_after = web::query_value(&request.query, "returnAfter");
        let started = context.login(return_after.as_deref()).await?;
        Ok(HttpResponse::redirect(&started.location).with_header(
            "Set-Cookie",
            &cookies::set(OAUTH_STATE_COOKIE, &started.cookie, self.config.state_ttl_seconds),
        ))
    }

    async fn oauth_callback(&self, request: &HttpRequest) -> Result<HttpResponse, PageError> {
        let context = self.oauth_context()?;
        let query = CallbackQuery::parse(&request.query);
        let cookie = cookies::read(request, OAUTH_STATE_COOKIE);
        let finished = context.callback(&query, cookie.as_deref()).await?;
        Ok(HttpResponse::redirect(&finished.location).with_header(
            "Set-Cookie",
            &cookies::set(SESSION_COOKIE, &finished.session, self.config.session_ttl_seconds),
        ))
    }

    /// `GET /auth/configure/session`: `{user}` from a valid session cookie, or 401.
    fn session(&self, request: &HttpRequest) -> HttpResponse {
        let origin = cors::check(request, &self.config.allowed_return_origins);
        let response = if request.method == Method::Options {
            cors::preflight_with_credentials(
                request,
                &self.config.allowed_return_origins,
                "GET, POST, OPTIONS",
            )
            .unwrap_or_else(|error| self.failure(error))
        } else {
            match require(&self.config.session_keys) {
                Err(error) => self.failure(error),
                Ok(keys) => {
                    let cookie = cookies::read(request, SESSION_COOKIE);
                    match cookie.as_deref().and_then(|c| keys.verify(c, self.now_ms / 1000)) {
                        Some(session) => HttpResponse::json(200, &json!({ "user": session.user })),
                        // A cookie that no longer verifies (tampered, expired,
                        // key retired) is removed.
                        None if cookie.is_some() => EdgeError::NotSignedIn
                            .into_response()
                            .with_header("Set-Cookie", &cookies::clear(SESSION_COOKIE)),
                        None => EdgeError::NotSignedIn.into_response(),
                    }
                }
            }
        };
        cors::decorate_with_credentials(response, &origin)
    }

    /// `POST /auth/configure/logout`: clears the session cookie. CSRF-safe:
    /// a browser request must come from this Worker's origin or an allowed
    /// return origin (browsers always send `Origin` on POST); a request
    /// without `Origin` or `Sec-Fetch-Site` is not from a browser, so no
    /// cookie of a victim rides on it.
    fn logout(&self, request: &HttpRequest) -> HttpResponse {
        let allowed = &self.config.allowed_return_origins;
        let origin = cors::check(request, allowed);
        if request.method == Method::Options {
            let response = cors::preflight_with_credentials(request, allowed, "GET, POST, OPTIONS")
                .unwrap_or_else(|error| self.failure(error));
            return cors::decorate_with_credentials(response, &origin);
        }
        let own = |o: &str| match &self.config.public_url {
            Some(public) => o.eq_ignore_ascii_case(public),
            None => o.eq_ignore_ascii_case(&request.origin),
        };
        let same_site = match request.header("origin").map(str::trim) {
            Some(o) => own(o) || matches!(origin, cors::OriginCheck::Allowed(_)),
            None => {
                !request.header("sec-fetch-site").is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site"))
            }
        };
        if !same_site {
            return cors::decorate_with_credentials(self.failure(EdgeError::OriginNotAllowed), &origin);
        }
        let return_after = web::query_value(&request.query, "returnAfter").filter(|r| !r.is_empty());
        let response = match return_after.map(|r| web::check_return_after(&r, allowed)) {
            Some(Err(error)) => return cors::decorate_with_credentials(self.failure(error), &origin),
            Some(Ok(url)) => HttpResponse::redirect(&url).with_status(303),
            None if wants_html(request) => {
                let home =
                    self.config.public_url.as_deref().map(|p| format!("{p}/")).unwrap_or("/".to_owned());
                HttpResponse::redirect(&home).with_status(303)
            }
            None => HttpResponse::json(200, &json!({ "ok": true, "signedIn": false })),
        };
        cors::decorate_with_credentials(
            response.with_header("Set-Cookie", &cookies::clear(SESSION_COOKIE)),
            &origin,
        )
    }

    fn failure(&self, error: EdgeError) -> HttpResponse {
        if error.status() >= 500 {
            self.log.warn(&error.to_string());
        }
        error.into_response()
    }

    async fn dispatch(&self, route: &Route, request: &HttpRequest) -> Result<HttpResponse, EdgeError> {
        match route {
            Route::Healthz => Ok(self.healthz()),
            Route::Journeys => {
                self.authorize(request).await?;
                let input = JourneyRequest::from_json(&body::json_object(request, AGENT_API_BODY_LIMIT)?)?;
                let created = create_journey(
                    self.store()?,
                    require(&self.config.sealing_keys)?,
                    require(&self.config.agent)?,
                    self.config,
                    &input,
                    self.origin_of(request),
                    self.now_ms,
                )
                .await?;
                Ok(HttpResponse::json(201, &created))
            }
            Route::IdentityResolve => {
                self.authorize(request).await?;
                let input = IdentityRequest::from_json(&body::json_object(request, AGENT_API_BODY_LIMIT)?)?;
                let identity = resolve_identity(
                    self.store()?,
                    self.api,
                    require(&self.config.sealing_keys)?,
                    require(&self.config.agent)?.as_str(),
                    &input,
                    self.now_ms,
                    self.log,
                )
                .await?;
                Ok(HttpResponse::json(200, &identity))
            }
            Route::Link { encoded } => {
                self.authorize(request).await?;
                let subject = &routes::link_subject(encoded)?;
                let store = self.store()?;
                if request.method == Method::Delete {
                    delete_link(store, subject).await?;
                    return Ok(HttpResponse::empty(204));
                }
                let keyring = require(&self.config.sealing_keys)?;
                let agent = require(&self.config.agent)?;
                let link = read_link(store, keyring, subject, agent.as_str(), self.log).await?;
                link.map(|link| HttpResponse::json(200, &link)).ok_or(EdgeError::LinkNotFound)
            }
            Route::SignIns => {
                self.authorize(request).await?;
                let worker_origin = self.public_url()?;
                let input = SignInRequest::from_json(
                    &body::json_object(request, AGENT_API_BODY_LIMIT)?,
                    self.config,
                )?;
                let created = web::create_sign_in(
                    self.store()?,
                    require(&self.config.sealing_keys)?,
                    self.config,
                    &input,
                    worker_origin,
                    self.now_ms,
                )
                .await?;
                Ok(HttpResponse::json(201, &created))
            }
            Route::Redeem => {
                self.authorize(request).await?;
                let input = RedeemRequest::from_json(&body::json_object(request, AGENT_API_BODY_LIMIT)?)?;
                let redeemed = redeem(
                    self.store()?,
                    require(&self.config.sealing_keys)?,
                    require(&self.config.agent)?.as_str(),
                    &input,
                    self.now_ms,
                    self.log,
                )
                .await?;
                Ok(HttpResponse::json(200, &redeemed))
            }
            Route::Setup => {
                self.authorize(request).await?;
                self.setup().await
            }
            Route::Complete
            | Route::WebSignIn
            | Route::Callback
            | Route::Linked
            | Route::OAuthLogin
            | Route::OAuthCallback
            | Route::Session
            | Route::Logout => unreachable_route(),
        }
    }

    /// `POST /v1/setup`: registers this Worker's callback with Configure now
    /// and reports what was registered and what failed.
    async fn setup(&self) -> Result<HttpResponse, EdgeError> {
        // Only PUBLIC_URL is ever registered: a request that reached this
        // Worker under another hostname (workers.dev, a preview) cannot
        // register a redirect URI there.
        let worker_origin = self.public_url()?;
        let store = self.store()?;
        let api = self.api.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_API_KEY" })?;
        let callback = format!("{worker_origin}{}", web::CALLBACK_PATH);
        let mut registered = Vec::new();
        let mut failed = Vec::new();
        match web::ensure_return_to(store, api, &callback, true, self.now_ms).await {
            Ok(_) => registered.push(json!({ "kind": "return_to", "url": callback })),
            Err(error) => failed.push(json!({
                "kind": "return_to",
                "url": callback,
                "code": error.code(),
                "message": error.message(),
            })),
        }
        // "Continue with Configure": the OAuth client's redirect URI (nothing
        // to register without an OAuth client).
        if let (Ok(client_id), Ok(api_key)) = (&self.config.oauth_client_id, &self.config.api_key) {
            let redirect_uri = format!("{worker_origin}{}", oauth::OAUTH_CALLBACK_PATH);
            let outcome = oauth::ensure_oauth_redirect(
                store,
                api,
                api_key,
                client_id,
                &redirect_uri,
                true,
                self.now_ms,
            )
            .await;
            match outcome {
                Ok(outcome) => registered.push(json!({
                    "kind": "oauth_redirect",
                    "url": redirect_uri,
                    "status": if outcome == oauth::RedirectRegistration::AlreadyRegistered {
                        "already-registered"
                    } else {
                        "registered"
                    },
                })),
                Err(error) => failed.push(json!({
                    "kind": "oauth_redirect",
                    "url": redirect_uri,
                    "code": error.code(),
                    "message": error.message(),
                })),
            }
        }
        Ok(HttpResponse::json(
            200,
            &json!({ "ok": failed.is_empty(), "registered": registered, "failed": failed }),
        ))
    }

    /// The completion webhook: CORS for the sign-in origins only, and every
    /// answer carries `ok` and `linked`.
    async fn webhook(&self, request: &HttpRequest) -> HttpResponse {
        let origins = &self.config.sign_in_origins;
        let origin = cors::check(request, origins);
        let result = if request.method == Method::Options {
            cors::preflight(request, origins)
        } else {
            self.complete(request, &origin).await
        };
        let response = result.unwrap_or_else(|error| self.webhook_failure(error));
        cors::decorate(response, &origin)
    }

    /// A webhook error: the one JSON error shape, plus `linked: false`.
    fn webhook_failure(&self, error: EdgeError) -> HttpResponse {
        let mut response = self.failure(error);
        if let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&response.body) {
            body.insert("linked".to_owned(), Value::Bool(false));
            response.body = serde_json::to_vec(&body).unwrap_or_default();
        }
        response
    }

    async fn complete(&self, request: &HttpRequest, origin: &OriginCheck) -> Result<HttpResponse, EdgeError> {
        if *origin == OriginCheck::Refused {
            return Err(EdgeError::OriginNotAllowed);
        }
        let completion = Completion::from_json(&body::json_object(request, WEBHOOK_BODY_LIMIT)?)?;
        let agent = require(&self.config.agent)?;
        let api = self.api.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_API_KEY" })?;
        let completed = complete(
            self.store()?,
            api,
            require(&self.config.sealing_keys)?,
            agent.as_str(),
            &completion,
            self.now_ms,
            self.log,
        )
        .await?;
        Ok(match completed {
            Completed::Linked => HttpResponse::json(200, &json!({ "ok": true, "linked": true })),
            Completed::Pending => {
                HttpResponse::json(200, &json!({ "ok": true, "linked": false, "pending": true }))
            }
        })
    }

    /// The agent API's bearer check. Failed checks count against the
    /// client's limit (`agent-auth`), so guessing the secret is throttled.
    async fn authorize(&self, request: &HttpRequest) -> Result<(), EdgeError> {
        let result = bearer::authorize(request, require(&self.config.api_secret)?);
        if result.is_err() && !self.allowed("agent-auth", request).await {
            return Err(EdgeError::RateLimited);
        }
        result
    }

    /// `PUBLIC_URL`: every URL of a browser flow and every registration is
    /// built from it alone, never from the Host a request came to.
    fn public_url(&self) -> Result<&str, EdgeError> {
        self.config.public_url.as_deref().ok_or(EdgeError::NotConfigured { setting: "PUBLIC_URL" })
    }

    fn store(&self) -> Result<&S, EdgeError> {
        self.store.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_KV" })
    }

    /// `PUBLIC_URL`, else the origin the request came to: for journeys only
    /// (the agent API names its own webhook; the browser flows do not).
    fn origin_of<'r>(&'r self, request: &'r HttpRequest) -> &'r str {
        match &self.config.public_url {
            Some(public) => public,
            None => &request.origin,
        }
    }

    fn healthz(&self) -> HttpResponse {
        let problems: Vec<Value> = self
            .config
            .problems
            .iter()
            .map(|p| json!({ "setting": p.setting, "problem": p.reason }))
            .collect();
        HttpResponse::json(
            200,
            &json!({
                "ok": true,
                "version": VERSION,
                "settings": settings::presence(self.settings),
                "problems": problems,
            }),
        )
    }
}

/// A form post or link (a page navigation) rather than `fetch`.
fn wants_html(request: &HttpRequest) -> bool {
    request.header("sec-fetch-mode").is_some_and(|m| m.trim().eq_ignore_ascii_case("navigate"))
        || request.header("accept").is_some_and(|a| a.contains("text/html"))
}

/// The browser-facing routes are answered in `handle`, before dispatch.
fn unreachable_route() -> Result<HttpResponse, EdgeError> {
    Err(EdgeError::Internal { detail: "webhook route dispatched twice".to_owned() })
}
