//! The Worker's request handling, free of Workers types: route, check
//! access, run the flow, and map any error to its response in one place.

use crate::api::ConfigureApi;
use crate::bearer;
use crate::body;
use crate::config::{require, Config};
use crate::cookies::{self, STATE_COOKIE};
use crate::cors::{self, OriginCheck};
use crate::error::EdgeError;
use crate::flows::complete::{complete, Completion};
use crate::flows::identity::{resolve_identity, IdentityRequest};
use crate::flows::journeys::{create_journey, JourneyRequest};
use crate::flows::links::{delete_link, read_link};
use crate::flows::web::{self, CallbackQuery, PageError, SignInRequest, WebContext};
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::log::Log;
use crate::pages;
use crate::ratelimit::{self, NoLimit, RateLimit};
use crate::routes::{self, Route};
use crate::settings::{self, SettingSource};
use crate::store::Store;
use serde_json::{json, Value};

/// The crate version, reported by /healthz.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Body limits: the agent API's requests are small; the webhook's smaller.
pub const AGENT_API_BODY_LIMIT: usize = 64 * 1024;
pub const WEBHOOK_BODY_LIMIT: usize = 16 * 1024;

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
                    _ => self
                        .page_failure(PageError::from(EdgeError::RateLimited))
                        .with_header("Retry-After", &ratelimit::RETRY_AFTER_SECONDS.to_string()),
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
            self.log.warn(&format!("web flow answered {}: {}", error.status, error.message));
        }
        pages::error(error.status, error.title, &error.message)
    }

    fn web_context<'r>(&'r self, request: &'r HttpRequest) -> Result<WebContext<'r, S, A>, EdgeError> {
        Ok(WebContext {
            store: self.store()?,
            api: self.api,
            keyring: require(&self.config.sealing_keys)?,
            agent: require(&self.config.agent)?,
            config: self.config,
            worker_origin: self.origin_of(request),
            now_ms: self.now_ms,
            log: self.log,
        })
    }

    async fn web_sign_in(&self, request: &HttpRequest) -> Result<HttpResponse, PageError> {
        let context = self.web_context(request)?;
        let ticket = web::query_value(&request.query, "ticket");
        let started = context.start(ticket.as_deref()).await?;
        Ok(HttpResponse::redirect(&started.location).with_header(
            "Set-Cookie",
            &cookies::set(STATE_COOKIE, &started.state, self.config.state_ttl_seconds),
        ))
    }

    async fn callback(&self, request: &HttpRequest) -> Result<HttpResponse, PageError> {
        let context = self.web_context(request)?;
        let query = CallbackQuery::parse(&request.query);
        let cookie = cookies::read(request, STATE_COOKIE);
        let location = context.finish(&query, cookie.as_deref()).await?;
        Ok(HttpResponse::redirect(&location))
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
                self.authorize(request)?;
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
                self.authorize(request)?;
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
                self.authorize(request)?;
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
                self.authorize(request)?;
                let input = SignInRequest::from_json(
                    &body::json_object(request, AGENT_API_BODY_LIMIT)?,
                    self.config,
                )?;
                let created = web::create_sign_in(
                    self.store()?,
                    require(&self.config.sealing_keys)?,
                    self.config,
                    &input,
                    self.origin_of(request),
                    self.now_ms,
                )
                .await?;
                Ok(HttpResponse::json(201, &created))
            }
            Route::Setup => {
                self.authorize(request)?;
                self.setup(request).await
            }
            Route::Complete | Route::WebSignIn | Route::Callback | Route::Linked => unreachable_route(),
        }
    }

    /// `POST /v1/setup`: registers this Worker's callback with Configure now
    /// and reports what was registered and what failed.
    async fn setup(&self, request: &HttpRequest) -> Result<HttpResponse, EdgeError> {
        let store = self.store()?;
        let api = self.api.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_API_KEY" })?;
        let callback = format!("{}{}", self.origin_of(request), web::CALLBACK_PATH);
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
        complete(
            self.store()?,
            api,
            require(&self.config.sealing_keys)?,
            agent.as_str(),
            &completion,
            self.now_ms,
            self.log,
        )
        .await?;
        Ok(HttpResponse::json(200, &json!({ "ok": true, "linked": true })))
    }

    fn authorize(&self, request: &HttpRequest) -> Result<(), EdgeError> {
        bearer::authorize(request, require(&self.config.api_secret)?)
    }

    fn store(&self) -> Result<&S, EdgeError> {
        self.store.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_KV" })
    }

    /// `PUBLIC_URL`, else the origin the request came to.
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

/// `Route::Complete` is answered by `webhook` before dispatch.
fn unreachable_route() -> Result<HttpResponse, EdgeError> {
    Err(EdgeError::Internal { detail: "webhook route dispatched twice".to_owned() })
}
