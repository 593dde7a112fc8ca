//! The Worker's request handling, free of Workers types: one match over
//! the route table (`http::routes`), whose row decides the rate limit, the
//! body limit and how every answer of the route looks; each route builds
//! its input, runs its flow with the request's `Flow`, and any failure is
//! rendered once, for the route's surface (`http::answer`).

use crate::api::ConfigureApi;
use crate::error::{EdgeError, Failure};
use crate::flows::complete::{complete, Completed, Completion};
use crate::flows::identity::{resolve_identity, IdentityRequest};
use crate::flows::journeys::{create_journey, JourneyRequest};
use crate::flows::links::{delete_link, get_link};
use crate::flows::oauth::OAuthContext;
use crate::flows::redeem::{redeem, RedeemRequest};
use crate::flows::sessions::{end_session, live_session};
use crate::flows::setup::setup;
use crate::flows::web::{
    check_return_after, create_sign_in, query_value, CallbackQuery, SignInRequest, WebContext,
};
use crate::flows::Flow;
use crate::http::answer;
use crate::http::body::json_object;
use crate::http::cookies::{self, OAUTH_STATE_COOKIE, STATE_COOKIE};
use crate::http::cors::{self, OriginCheck};
use crate::http::pages;
use crate::http::ratelimit::{self, NoLimit, RateLimit};
use crate::http::routes::{self, Matched, Route, Surface, AGENT_API_BODY_LIMIT, WEBHOOK_BODY_LIMIT};
use crate::http::{bearer, HttpRequest, HttpResponse, Method};
use crate::log::Log;
use crate::sealing::session::SESSION_COOKIE;
use crate::settings::config::{require, Config};
use crate::settings::{self, SettingSource};
use crate::storage::ledger::{Ledger, LEDGER_BINDING};
use crate::storage::store::Store;
use crate::VERSION;
use serde_json::{json, Value};

/// What a request is handled with. `store` is absent without the KV
/// binding and `api` without an agent and an API key: the routes that need
/// them answer 503 naming the setting.
pub struct App<'a, S: Store, A: ConfigureApi, L: RateLimit = NoLimit> {
    pub settings: &'a dyn SettingSource,
    pub config: &'a Config,
    pub store: Option<&'a S>,
    pub api: Option<&'a A>,
    /// The ledger (`CONFIGURE_LEDGER`), if bound: single use, link writes
    /// and sessions; without it the Worker runs on KV alone, best effort.
    pub ledger: Option<Ledger<'a>>,
    /// The public routes' limiter (`CONFIGURE_RATE_LIMITER`), if bound.
    pub limiter: Option<&'a L>,
    pub now_ms: u64,
    pub log: &'a dyn Log,
}

impl<S: Store, A: ConfigureApi, L: RateLimit> App<'_, S, A, L> {
    /// Answers one request. Never panics on input and never fails: every
    /// failure becomes its route's answer in `render`.
    pub async fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let mut response = match routes::resolve(request.method, &request.path) {
            // 404 and 405 (with Allow) on any path: JSON.
            Err(error) => answer::json_error(&error),
            Ok(matched) => {
                let spec = matched.spec;
                let outcome = match self.admit(&matched, request).await {
                    Ok(()) => self.serve(&matched, request).await,
                    Err(failure) => Err(failure),
                };
                let mut response = outcome.unwrap_or_else(|failure| self.render(spec.surface, failure));
                // Every webhook answer carries the sign-in origins' CORS.
                if spec.surface == Surface::Webhook {
                    response = cors::decorate(response, &cors::check(request, &self.config.sign_in_origins));
                }
                // A callback's state is spent whatever the answer.
                if let Some(cookie) = spec.clears_cookie {
                    response = response.with_header("Set-Cookie", &cookies::clear(cookie));
                }
                response
            }
        };
        if request.method == Method::Head {
            response.body.clear();
        }
        response
    }

    /// What the route's row decides before its code runs: a public route's
    /// rate limit, then the body the shell stopped reading at the route's
    /// limit (413 before anything else looks at the request).
    async fn admit(&self, matched: &Matched, request: &HttpRequest) -> Result<(), Failure> {
        if let Some(name) = matched.spec.limiter {
            if !self.allowed(name, request).await {
                return Err(EdgeError::RateLimited.into());
            }
        }
        let limit = matched.body_limit(request.method);
        if request.body_too_large && limit > 0 {
            return Err(EdgeError::PayloadTooLarge { limit }.into());
        }
        if request.body_unreadable && limit > 0 {
            return Err(EdgeError::malformed("The request body could not be read.").into());
        }
        Ok(())
    }

    /// The one match over the routes.
    async fn serve(&self, matched: &Matched, request: &HttpRequest) -> Result<HttpResponse, Failure> {
        let flow = self.flow();
        let response = match matched.route() {
            Route::Healthz => self.healthz(),
            Route::Journeys => {
                self.authorize(request).await?;
                let input = JourneyRequest::from_json(&json_object(request, AGENT_API_BODY_LIMIT)?)?;
                HttpResponse::json(201, &create_journey(&flow, &input, self.origin_of(request)?).await?)
            }
            Route::IdentityResolve => {
                self.authorize(request).await?;
                let input = IdentityRequest::from_json(&json_object(request, AGENT_API_BODY_LIMIT)?)?;
                HttpResponse::json(200, &resolve_identity(&flow, &input).await?)
            }
            Route::Link => {
                self.authorize(request).await?;
                let subject = routes::link_subject(matched.encoded_subject.as_deref().unwrap_or_default())?;
                if request.method == Method::Delete {
                    delete_link(&flow, &subject).await?;
                    HttpResponse::empty(204)
                } else {
                    let link = get_link(&flow, &subject).await?.ok_or(EdgeError::LinkNotFound)?;
                    HttpResponse::json(200, &link)
                }
            }
            Route::SignIns => {
                self.authorize(request).await?;
                let worker_origin = flow.public_url()?;
                let body = json_object(request, AGENT_API_BODY_LIMIT)?;
                let input = SignInRequest::from_json(&body, self.config)?;
                HttpResponse::json(201, &create_sign_in(&flow, &input, worker_origin).await?)
            }
            Route::Redeem => {
                self.authorize(request).await?;
                let input = RedeemRequest::from_json(&json_object(request, AGENT_API_BODY_LIMIT)?)?;
                HttpResponse::json(200, &redeem(&flow, &input).await?)
            }
            Route::Setup => {
                self.authorize(request).await?;
                HttpResponse::json(200, &setup(&flow).await?)
            }
            Route::Complete => self.webhook(&flow, request).await?,
            Route::WebSignIn => {
                let ticket = query_value(&request.query, "ticket");
                let started = WebContext::new(&flow)?.start(ticket.as_deref()).await?;
                let cookie = cookies::set(STATE_COOKIE, &started.state, self.config.state_ttl_seconds);
                HttpResponse::redirect(&started.location).with_header("Set-Cookie", &cookie)
            }
            Route::Callback => {
                let context = WebContext::new(&flow)?;
                let query = CallbackQuery::parse(&request.query);
                let cookie = cookies::read(request, STATE_COOKIE);
                HttpResponse::redirect(&context.finish(&query, cookie.as_deref()).await?)
            }
            Route::Linked => pages::linked(),
            Route::OAuthLogin => {
                let return_after = query_value(&request.query, "returnAfter");
                let started = OAuthContext::new(&flow)?.login(return_after.as_deref()).await?;
                let cookie = cookies::set(OAUTH_STATE_COOKIE, &started.cookie, self.config.state_ttl_seconds);
                HttpResponse::redirect(&started.location).with_header("Set-Cookie", &cookie)
            }
            Route::OAuthCallback => {
                let context = OAuthContext::new(&flow)?;
                let query = CallbackQuery::parse(&request.query);
                let cookie = cookies::read(request, OAUTH_STATE_COOKIE);
                let finished = context.callback(&query, cookie.as_deref()).await?;
                let session =
                    cookies::set(SESSION_COOKIE, &finished.session, self.config.session_ttl_seconds);
                HttpResponse::redirect(&finished.location).with_header("Set-Cookie", &session)
            }
            Route::Session => self.session(request).await,
            Route::Logout => self.logout(request).await,
        };
        Ok(response)
    }

    /// The request's flow context.
    fn flow(&self) -> Flow<'_, S, A> {
        Flow {
            store: self.store,
            api: self.api,
            ledger: self.ledger,
            config: self.config,
            now_ms: self.now_ms,
            log: self.log,
        }
    }

    /// A failure on the route's surface; the server's own failures are logged.
    fn render(&self, surface: Surface, failure: Failure) -> HttpResponse {
        if failure.status() >= 500 {
            self.log.warn(&failure.to_string());
        }
        answer::render(surface, failure)
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

    /// The agent API's bearer check. Failed checks count against the
    /// client's limit (`agent-auth`), so guessing the secret is throttled.
    async fn authorize(&self, request: &HttpRequest) -> Result<(), EdgeError> {
        let result = bearer::authorize(request, require(&self.config.api_secret)?);
        if result.is_err() && !self.allowed("agent-auth", request).await {
            return Err(EdgeError::RateLimited);
        }
        result
    }

    /// The completion webhook: CORS preflight for the sign-in origins, and
    /// every answer carries `ok` and `linked`.
    async fn webhook(&self, flow: &Flow<'_, S, A>, request: &HttpRequest) -> Result<HttpResponse, EdgeError> {
        let origins = &self.config.sign_in_origins;
        if request.method == Method::Options {
            return cors::preflight(request, origins);
        }
        if cors::check(request, origins) == OriginCheck::Refused {
            return Err(EdgeError::OriginNotAllowed);
        }
        let completion = Completion::from_json(&json_object(request, WEBHOOK_BODY_LIMIT)?)?;
        Ok(match complete(flow, &completion).await? {
            Completed::Linked => HttpResponse::json(200, &json!({ "ok": true, "linked": true })),
            Completed::Pending => {
                HttpResponse::json(200, &json!({ "ok": true, "linked": false, "pending": true }))
            }
        })
    }

    /// `PUBLIC_URL`, else the origin the request came to: for journeys only
    /// (the agent API names its own webhook; the browser flows do not).
    fn origin_of<'r>(&'r self, request: &'r HttpRequest) -> Result<&'r str, EdgeError> {
        match &self.config.public_url {
            Some(public) => Ok(public),
            // A host the strict URL rules refuse (a LAN IPv4 address) has no
            // origin to name the webhook by: PUBLIC_URL must say it.
            None if request.origin.is_empty() => Err(EdgeError::NotConfigured { setting: "PUBLIC_URL" }),
            None => Ok(&request.origin),
        }
    }

    /// A JSON-surface failure answered inside a route (session, logout).
    fn failure(&self, error: EdgeError) -> HttpResponse {
        self.render(Surface::Json, error.into())
    }

    /// `GET /auth/configure/session`: `{user}` from a valid session cookie, or 401.
    async fn session(&self, request: &HttpRequest) -> HttpResponse {
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
                    let session = match cookie.as_deref() {
                        Some(c) => live_session(self.ledger, keys, c, self.config, self.now_ms).await,
                        None => Ok(None),
                    };
                    match session {
                        Ok(Some(session)) => HttpResponse::json(200, &json!({ "user": session.user })),
                        Err(error) => self.failure(error),
                        // A cookie that no longer verifies (tampered, expired,
                        // key retired) or whose session ended is removed.
                        Ok(None) if cookie.is_some() => answer::json_error(&EdgeError::NotSignedIn)
                            .with_header("Set-Cookie", &cookies::clear(SESSION_COOKIE)),
                        Ok(None) => answer::json_error(&EdgeError::NotSignedIn),
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
    async fn logout(&self, request: &HttpRequest) -> HttpResponse {
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
        // Where to go, checked before the session ends: a refused
        // returnAfter ends nothing.
        let return_after = query_value(&request.query, "returnAfter").filter(|r| !r.is_empty());
        let destination = match return_after.map(|r| check_return_after(&r, allowed)).transpose() {
            Ok(destination) => destination,
            Err(error) => return cors::decorate_with_credentials(self.failure(error), &origin),
        };
        // The recorded session ends first: its cookie is refused from now
        // on, wherever it was copied to.
        if let (Some(cookie), Ok(keys)) =
            (cookies::read(request, SESSION_COOKIE), require(&self.config.session_keys))
        {
            if let Err(error) = end_session(self.ledger, keys, &cookie, self.now_ms).await {
                return cors::decorate_with_credentials(self.failure(error), &origin);
            }
        }
        let response = match destination {
            Some(url) => HttpResponse::redirect(&url).with_status(303),
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

    fn healthz(&self) -> HttpResponse {
        let mut problems: Vec<Value> = self
            .config
            .problems
            .iter()
            .map(|p| json!({ "setting": p.setting, "problem": p.reason }))
            .collect();
        if self.ledger.is_none() {
            problems.push(json!({ "setting": LEDGER_BINDING, "problem": NO_LEDGER }));
        }
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

/// What `/healthz` says without the ledger.
const NO_LEDGER: &str = "not bound: running on KV alone, so single use is best effort \
    (concurrent requests can use one journey, state, ticket or code twice), a link written in \
    one location can take a minute to be read in another, OAuth refreshes can race, and edge \
    sessions cannot be revoked";

/// A form post or link (a page navigation) rather than `fetch`.
fn wants_html(request: &HttpRequest) -> bool {
    request.header("sec-fetch-mode").is_some_and(|m| m.trim().eq_ignore_ascii_case("navigate"))
        || request.header("accept").is_some_and(|a| a.contains("text/html"))
}
