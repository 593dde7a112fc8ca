//! The Worker's request handling, free of Workers types: route, check
//! access, run the flow, and map any error to its response in one place.

use crate::api::ConfigureApi;
use crate::bearer;
use crate::body;
use crate::config::{require, Config};
use crate::cors::{self, OriginCheck};
use crate::error::EdgeError;
use crate::flows::complete::{complete, Completion};
use crate::flows::identity::{resolve_identity, IdentityRequest};
use crate::flows::journeys::{create_journey, JourneyRequest};
use crate::flows::links::{delete_link, read_link};
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::log::Log;
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
pub struct App<'a, S: Store, A: ConfigureApi> {
    pub settings: &'a dyn SettingSource,
    pub config: &'a Config,
    pub store: Option<&'a S>,
    pub api: Option<&'a A>,
    pub now_ms: u64,
    pub log: &'a dyn Log,
}

impl<S: Store, A: ConfigureApi> App<'_, S, A> {
    /// Answers one request. Never panics on input and never fails: every
    /// error becomes its JSON answer through `EdgeError::into_response`.
    pub async fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let route = routes::resolve(request.method, &request.path);
        let mut response = match &route {
            Ok(Route::Complete) => self.webhook(request).await,
            Ok(route) => self.dispatch(route, request).await.unwrap_or_else(|error| self.failure(error)),
            Err(error) => error.clone().into_response(),
        };
        if request.method == Method::Head {
            response.body.clear();
        }
        response
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
                    &self.worker_origin(request),
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
            Route::Link { subject } => {
                self.authorize(request)?;
                let store = self.store()?;
                if request.method == Method::Delete {
                    delete_link(store, subject).await?;
                    return Ok(HttpResponse::empty(204));
                }
                let link = read_link(store, require(&self.config.sealing_keys)?, subject, self.log).await?;
                link.map(|link| HttpResponse::json(200, &link)).ok_or(EdgeError::LinkNotFound)
            }
            Route::Complete => unreachable_route(),
        }
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
        let response = result.unwrap_or_else(|error| {
            let mut response = self.failure(error);
            if let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&response.body) {
                body.insert("linked".to_owned(), Value::Bool(false));
                response.body = serde_json::to_vec(&body).unwrap_or_default();
            }
            response
        });
        cors::decorate(response, &origin)
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
    fn worker_origin(&self, request: &HttpRequest) -> String {
        if let Some(public) = &self.config.public_url {
            return public.clone();
        }
        url::Url::parse(&request.url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
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
