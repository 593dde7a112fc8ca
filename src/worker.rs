//! The Cloudflare Worker shell (wasm32 only): translate a `worker::Request`
//! into the core's `HttpRequest`, run `App::handle` with the Workers KV and
//! Fetch adapters, translate the answer back. No routing or rules live here.

use crate::api::{ApiRequest, ApiResponse, HttpConfigureApi, HttpTransport, RequestBuilder, TransportError};
use crate::app::App;
use crate::config::{Config, Required};
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::log::Log;
use crate::ratelimit::RateLimit;
use crate::settings::SettingSource;
use crate::store::{Store, StoreError, KV_MIN_TTL_SECONDS};
use futures_util::future::{select, Either};
use futures_util::pin_mut;
use std::time::Duration;
use worker::kv::KvStore;
use worker::{
    console_warn, event, AbortController, Context, Delay, Env, Fetch, Headers, Method as WorkerMethod,
    Request, RequestInit, Response,
};

/// Settings read from the Worker's bindings, vars and secrets.
struct EnvSettings<'a>(&'a Env);

impl SettingSource for EnvSettings<'_> {
    fn text(&self, name: &str) -> Option<String> {
        // Vars and secrets are both plain string bindings at runtime.
        self.0.var(name).ok().map(|value| value.to_string())
    }

    fn has_binding(&self, name: &str) -> bool {
        match name {
            "CONFIGURE_RATE_LIMITER" => self.0.rate_limiter(name).is_ok(),
            _ => self.0.kv(name).is_ok(),
        }
    }
}

/// The `RateLimit` port over the Workers Rate Limiting binding, called
/// directly (`limit({key})` → `{success}`) rather than through
/// `worker::RateLimiter::limit`, whose serde-wasm-bindgen round trip costs
/// ~15 KB of wasm.
struct RateLimiterAdapter(worker::RateLimiter);

impl RateLimit for RateLimiterAdapter {
    async fn allow(&self, key: &str) -> Result<bool, String> {
        use js_sys::{Function, Object, Promise, Reflect};
        use wasm_bindgen::{JsCast, JsValue};
        let binding: &JsValue = self.0.as_ref();
        let limit: Function = Reflect::get(binding, &JsValue::from_str("limit"))
            .map_err(|_| "no limit method".to_owned())?
            .dyn_into()
            .map_err(|_| "limit is not a function".to_owned())?;
        let options = Object::new();
        Reflect::set(&options, &JsValue::from_str("key"), &JsValue::from_str(key))
            .map_err(|_| "options".to_owned())?;
        let promise: Promise =
            limit.call1(binding, &options).map_err(|_| "limit threw".to_owned())?.unchecked_into();
        let outcome =
            js_sys::futures::JsFuture::from(promise).await.map_err(|_| "limit failed".to_owned())?;
        Ok(Reflect::get(&outcome, &JsValue::from_str("success"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true))
    }
}

/// Warnings to the Worker's console (`wrangler tail`, observability).
struct ConsoleLog;

impl Log for ConsoleLog {
    fn warn(&self, message: &str) {
        console_warn!("configure-edge: {}", message);
    }
}

/// The `Store` port over Workers KV.
struct KvAdapter(KvStore);

fn kv_error(operation: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError { operation, detail: error.to_string() }
}

impl Store for KvAdapter {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.0.get(key).text().await.map_err(|e| kv_error("get", e))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError> {
        // Bytes, not `put(&str)`: that goes through serde-wasm-bindgen, which
        // costs ~15 KB of wasm; KV keeps bytes and `get().text()` reads them back.
        let mut put = self.0.put_bytes(key, value.as_bytes()).map_err(|e| kv_error("put", e))?;
        if let Some(ttl) = ttl_seconds {
            put = put.expiration_ttl(ttl.max(KV_MIN_TTL_SECONDS));
        }
        put.execute().await.map_err(|e| kv_error("put", e))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await.map_err(|e| kv_error("delete", e))
    }
}

/// The `HttpTransport` port over `fetch`, with an abort after the timeout.
struct FetchTransport;

impl FetchTransport {
    async fn fetch(request: &ApiRequest, signal: &worker::AbortSignal) -> worker::Result<ApiResponse> {
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value)?;
        }
        let mut init = RequestInit::new();
        init.with_method(WorkerMethod::from(request.method.to_owned())).with_headers(headers);
        if let Some(body) = &request.body {
            init.with_body(Some(wasm_bindgen::JsValue::from_str(body)));
        }
        let outgoing = Request::new_with_init(&request.url, &init)?;
        let mut response = Fetch::Request(outgoing).send_with_signal(signal).await?;
        let status = response.status_code();
        let body = response.text().await?;
        Ok(ApiResponse { status, body })
    }
}

impl HttpTransport for FetchTransport {
    async fn send(&self, request: &ApiRequest, timeout_ms: u64) -> Result<ApiResponse, TransportError> {
        let controller = AbortController::default();
        let signal = controller.signal();
        let call = Self::fetch(request, &signal);
        let timer = Delay::from(Duration::from_millis(timeout_ms));
        pin_mut!(call, timer);
        match select(call, timer).await {
            Either::Left((Ok(response), _)) => Ok(response),
            Either::Left((Err(error), _)) => Err(TransportError::Network(error.to_string())),
            Either::Right(((), _)) => {
                controller.abort();
                Err(TransportError::Timeout)
            }
        }
    }
}

fn api_for(config: &Config) -> Option<HttpConfigureApi<FetchTransport>> {
    let (Ok(agent), Ok(api_key)): (&Required<_>, &Required<_>) = (&config.agent, &config.api_key) else {
        return None;
    };
    Some(HttpConfigureApi {
        requests: RequestBuilder {
            base_url: config.base_url.clone(),
            api_key: api_key.clone(),
            agent: agent.as_str().to_owned(),
        },
        transport: FetchTransport,
        timeout_ms: config.api_timeout_ms,
    })
}

/// A parsed configuration with what it was parsed from: the `env` object and
/// the raw setting values.
type CachedConfig = (wasm_bindgen::JsValue, Vec<Option<String>>, std::rc::Rc<Config>);

thread_local! {
    /// The parsed settings of this isolate, with the `env` object and the raw
    /// values they came from. Settings do not change within an isolate, but
    /// parsing them (sealing key schedules, origins) on every request is
    /// measurable CPU. The same `env` object is reused as is; another one is
    /// compared value by value, so a change is still picked up.
    static CONFIG: std::cell::RefCell<Option<CachedConfig>> =
        const { std::cell::RefCell::new(None) };
}

fn config_for(env: &Env, settings: &EnvSettings) -> std::rc::Rc<Config> {
    let env_js: &wasm_bindgen::JsValue = env.as_ref();
    let same_env = CONFIG.with(|cache| {
        cache
            .borrow()
            .as_ref()
            .filter(|(seen, _, _)| js_sys::Object::is(seen, env_js))
            .map(|(_, _, c)| c.clone())
    });
    if let Some(config) = same_env {
        return config;
    }
    let raw: Vec<Option<String>> = crate::settings::SETTINGS
        .iter()
        .filter(|s| s.kind != crate::settings::SettingKind::Binding)
        .map(|s| settings.text(s.name))
        .collect();
    CONFIG.with(|cache| {
        let mut cache = cache.borrow_mut();
        let config = match cache.as_ref() {
            Some((_, seen, config)) if *seen == raw => config.clone(),
            _ => std::rc::Rc::new(Config::from_source(settings)),
        };
        *cache = Some((env_js.clone(), raw, config.clone()));
        config
    })
}

#[event(fetch)]
pub async fn fetch(request: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let settings = EnvSettings(&env);
    let config = config_for(&env, &settings);
    let store = env.kv("CONFIGURE_KV").ok().map(KvAdapter);
    let api = api_for(&config);
    let limiter = env.rate_limiter("CONFIGURE_RATE_LIMITER").ok().map(RateLimiterAdapter);
    let app = App {
        settings: &settings,
        config: &config,
        store: store.as_ref(),
        api: api.as_ref(),
        limiter: limiter.as_ref(),
        now_ms: js_sys::Date::now() as u64,
        log: &ConsoleLog,
    };
    let response = match into_core_request(request).await {
        Ok(core_request) => app.handle(&core_request).await,
        Err(error) => error.into_response(),
    };
    into_worker_response(response)
}

async fn into_core_request(mut request: Request) -> Result<HttpRequest, crate::EdgeError> {
    let method = request.inner().method();
    let url = request.inner().url();
    let mut core = HttpRequest::new(&method, &url)
        .ok_or_else(|| crate::EdgeError::malformed("The request URL could not be read."))?;
    for (name, value) in request.headers().entries() {
        core.headers.push((name, value));
    }
    // Only methods that carry a body are read; a body that cannot be read is
    // the client's fault (a broken upload), never a panic.
    if matches!(core.method, Method::Post | Method::Put | Method::Patch | Method::Delete) {
        core.body = request
            .bytes()
            .await
            .map_err(|_| crate::EdgeError::malformed("The request body could not be read."))?;
    }
    Ok(core)
}

fn into_worker_response(response: HttpResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    let body =
        if response.body.is_empty() { Response::empty()? } else { Response::from_bytes(response.body)? };
    Ok(body.with_status(response.status).with_headers(headers))
}

#[cfg(test)]
mod tests {
    //! Run by `cargo test --target wasm32-unknown-unknown` in Node
    //! (wasm-bindgen-test): the translation both ways, with real
    //! `Request`/`Response` objects.
    use super::*;
    use crate::error::EdgeError;
    use wasm_bindgen_test::wasm_bindgen_test;
    use worker::{Method as WorkerMethod, RequestInit};

    #[wasm_bindgen_test]
    async fn error_answer_keeps_status_headers_and_json_body() {
        let answer = EdgeError::MethodNotAllowed { allow: vec![Method::Get, Method::Head] }.into_response();
        let mut response = into_worker_response(answer).unwrap();
        assert_eq!(response.status_code(), 405);
        assert_eq!(response.headers().get("allow").unwrap().as_deref(), Some("GET, HEAD"));
        assert_eq!(
            response.headers().get("content-type").unwrap().as_deref(),
            Some("application/json; charset=utf-8")
        );
        let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }

    #[wasm_bindgen_test]
    async fn empty_answer_has_no_body() {
        let mut response = into_worker_response(HttpResponse::empty(204)).unwrap();
        assert_eq!(response.status_code(), 204);
        assert_eq!(response.text().await.unwrap(), "");
    }

    #[wasm_bindgen_test]
    async fn request_translation_keeps_method_path_query_headers_and_body() {
        let headers = Headers::new();
        headers.set("Content-Type", "application/json").unwrap();
        headers.set("X-Custom", "v").unwrap();
        let mut init = RequestInit::new();
        init.with_method(WorkerMethod::Post)
            .with_headers(headers)
            .with_body(Some(wasm_bindgen::JsValue::from_str("{\"a\":1}")));
        let request = Request::new_with_init("https://edge.example/v1/x%20y?q=1&r=%ZZ", &init).unwrap();
        let core = into_core_request(request).await.unwrap();
        assert_eq!(core.method, Method::Post);
        assert_eq!(core.path, "/v1/x%20y");
        assert_eq!(core.query, "q=1&r=%ZZ");
        assert_eq!(core.header("content-type"), Some("application/json"));
        assert_eq!(core.header("X-CUSTOM"), Some("v"));
        assert_eq!(core.body, b"{\"a\":1}");
    }

    #[wasm_bindgen_test]
    async fn core_answers_the_same_under_wasm() {
        let settings = std::collections::BTreeMap::<String, String>::new();
        let config = Config::from_source(&settings);
        let app: App<'_, KvAdapter, HttpConfigureApi<FetchTransport>, RateLimiterAdapter> = App {
            settings: &settings,
            config: &config,
            store: None,
            api: None,
            limiter: None,
            now_ms: 0,
            log: &ConsoleLog,
        };
        let request = HttpRequest::new("DELETE", "https://edge.example/healthz").unwrap();
        let response = app.handle(&request).await;
        assert_eq!(response.status, 405);
        assert_eq!(response.header("Allow"), Some("GET, HEAD"));
    }
}
