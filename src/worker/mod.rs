//! The Cloudflare Worker shell (wasm32 only): the one export the JS entry
//! (worker/index.js) calls per request, and the adapters from the core's
//! ports to the Workers runtime (KV, fetch, the rate limiter, the console),
//! bound directly with wasm-bindgen. No routing or rules live here.
//!
//! Why not the `worker` crate: it brought web-sys, serde-wasm-bindgen,
//! wasm-streams and a URL parser into the bundle and crossed the JS boundary
//! once per header and setting. This shell crosses it once per request (the
//! request in, the answer out) plus once per KV or API call.

use crate::api::{ApiRequest, ApiResponse, HttpConfigureApi, HttpTransport, RequestBuilder, TransportError};
use crate::app::App;
use crate::http::ratelimit::RateLimit;
use crate::http::{pack_headers, unpack_headers, HttpRequest, HttpResponse};
use crate::log::Log;
use crate::settings::config::{Config, Required};
use crate::settings::{SettingKind, SettingSource, SETTINGS};
use crate::storage::store::{Store, StoreError, KV_MIN_TTL_SECONDS};
use js_sys::futures::JsFuture;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// A Workers KV namespace binding (`env.CONFIGURE_KV`).
    type KvNamespace;
    /// `get(key)`: the value as text, or null.
    #[wasm_bindgen(method, catch)]
    fn get(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn delete(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(message: &str);
}

// worker/host.js: whole calls made in JS (see there for why).
#[wasm_bindgen(module = "/worker/host.js")]
extern "C" {
    /// Resolves `[status, body]`, `[0, "timeout"]` or `[-1, message]`.
    #[wasm_bindgen(js_name = sendApiRequest)]
    fn send_api_request(
        url: &str,
        method: &str,
        headers: &str,
        body: Option<&str>,
        timeout_ms: f64,
    ) -> Promise;
    #[wasm_bindgen(catch, js_name = kvPut)]
    fn kv_put(kv: &KvNamespace, key: &str, value: &str, ttl_seconds: f64) -> Result<Promise, JsValue>;
}

/// How many body bytes the entry may read for this request before it stops
/// and reports the body as too large (`routes::body_limit`; 0: read none).
#[wasm_bindgen(js_name = bodyLimit)]
pub fn body_limit(method: &str, url: &str) -> u32 {
    HttpRequest::new(method, url)
        .map_or(0, |request| crate::http::routes::body_limit(request.method, &request.path) as u32)
}

/// Answers one request: the JS entry passes the method, the URL, the
/// headers packed as `http::pack_headers` does, the body (read up to
/// `bodyLimit`), whether it could not be read or was over the limit, the
/// Worker's `env` and, read from it by the entry, the KV and rate-limiter
/// bindings (`undefined` when not bound); the answer is
/// `[status, packed headers, body or null]`. Never rejects for a request's
/// sake: every failure is an answer (a trap is the entry's to handle).
#[allow(clippy::too_many_arguments)] // one call per request, by design
#[wasm_bindgen(js_name = handleRequest)]
pub async fn handle_request(
    method: String,
    url: String,
    headers: String,
    body: Option<Vec<u8>>,
    body_unreadable: bool,
    body_too_large: bool,
    env: JsValue,
    kv: JsValue,
    limiter: JsValue,
) -> Array {
    let settings = EnvSettings(&env);
    let config = config_for(&env, &settings);
    let store = kv.is_object().then(|| KvAdapter(kv.unchecked_into()));
    let api = api_for(&config);
    let limiter = limiter.is_object().then_some(RateLimiterAdapter(limiter));
    let app = App {
        settings: &settings,
        config: &config,
        store: store.as_ref(),
        api: api.as_ref(),
        limiter: limiter.as_ref(),
        now_ms: js_sys::Date::now() as u64,
        log: &ConsoleLog,
    };
    let response = match core_request(&method, &url, &headers, body, body_unreadable, body_too_large) {
        Ok(request) => app.handle(&request).await,
        Err(error) => error.into_response(),
    };
    answer(&response)
}

fn core_request(
    method: &str,
    url: &str,
    headers: &str,
    body: Option<Vec<u8>>,
    body_unreadable: bool,
    body_too_large: bool,
) -> Result<HttpRequest, crate::EdgeError> {
    let mut request = HttpRequest::new(method, url)
        .ok_or_else(|| crate::EdgeError::malformed("The request URL could not be read."))?;
    // A body that could not be read is the client's fault (a broken upload).
    if body_unreadable {
        return Err(crate::EdgeError::malformed("The request body could not be read."));
    }
    request.headers = unpack_headers(headers);
    request.body = body.unwrap_or_default();
    request.body_too_large = body_too_large;
    Ok(request)
}

fn answer(response: &HttpResponse) -> Array {
    let Ok(headers) = pack_headers(&response.headers) else {
        // Only a bug can put a line break in an answer's header; the
        // internal error's own headers are fixed, so this does not recurse.
        ConsoleLog.warn("an answer header held a line break; answered 500 instead");
        let detail = "an answer header held a line break".to_owned();
        return answer(&crate::EdgeError::Internal { detail }.into_response());
    };
    let body = if response.body.is_empty() {
        JsValue::NULL
    } else {
        Uint8Array::from(response.body.as_slice()).into()
    };
    Array::of3(&JsValue::from(response.status), &JsValue::from_str(&headers), &body)
}

/// `env[name]` when it is an object (a binding), else None.
fn binding(env: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(env, &JsValue::from_str(name)).ok().filter(|value| value.is_object())
}

/// Settings read from the Worker's vars and secrets (both plain strings).
struct EnvSettings<'a>(&'a JsValue);

impl SettingSource for EnvSettings<'_> {
    fn text(&self, name: &str) -> Option<String> {
        Reflect::get(self.0, &JsValue::from_str(name)).ok().and_then(|value| value.as_string())
    }

    fn has_binding(&self, name: &str) -> bool {
        binding(self.0, name).is_some()
    }
}

/// The `RateLimit` port over the Workers Rate Limiting binding:
/// `limit({key})` → `{success}`.
struct RateLimiterAdapter(JsValue);

impl RateLimit for RateLimiterAdapter {
    async fn allow(&self, key: &str) -> Result<bool, String> {
        let limit: js_sys::Function = Reflect::get(&self.0, &JsValue::from_str("limit"))
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| "the rate limiter has no limit method".to_owned())?;
        let options = Object::new();
        Reflect::set(&options, &JsValue::from_str("key"), &JsValue::from_str(key))
            .map_err(|_| "options".to_owned())?;
        let promise: Promise =
            limit.call1(&self.0, &options).map_err(|_| "limit threw".to_owned())?.unchecked_into();
        let outcome = JsFuture::from(promise).await.map_err(|_| "limit failed".to_owned())?;
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
        console_warn(&format!("configure-edge: {message}"));
    }
}

/// The text of a thrown JS value, for logs: its `message`, else a fixed word.
fn js_message(error: &JsValue) -> String {
    Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// The `Store` port over Workers KV.
struct KvAdapter(KvNamespace);

fn kv_error(operation: &'static str, error: &JsValue) -> StoreError {
    StoreError { operation, detail: js_message(error) }
}

impl Store for KvAdapter {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let promise = self.0.get(key).map_err(|e| kv_error("get", &e))?;
        let value = JsFuture::from(promise).await.map_err(|e| kv_error("get", &e))?;
        Ok(value.as_string())
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError> {
        let ttl = ttl_seconds.map_or(0.0, |ttl| ttl.max(KV_MIN_TTL_SECONDS) as f64);
        let promise = kv_put(&self.0, key, value, ttl).map_err(|e| kv_error("put", &e))?;
        JsFuture::from(promise).await.map_err(|e| kv_error("put", &e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let promise = self.0.delete(key).map_err(|e| kv_error("delete", &e))?;
        JsFuture::from(promise).await.map_err(|e| kv_error("delete", &e))?;
        Ok(())
    }
}

/// The `HttpTransport` port over `fetch` (worker/host.js), aborted by
/// `AbortSignal.timeout`, which also covers reading the body.
struct FetchTransport;

impl HttpTransport for FetchTransport {
    async fn send(&self, request: &ApiRequest, timeout_ms: u64) -> Result<ApiResponse, TransportError> {
        let headers = pack_headers(&request.headers)
            .map_err(|_| TransportError::Network("a request header held a line break".to_owned()))?;
        let promise = send_api_request(
            &request.url,
            request.method,
            &headers,
            request.body.as_deref(),
            timeout_ms as f64,
        );
        let outcome: Array = JsFuture::from(promise)
            .await
            .map_err(|error| TransportError::Network(js_message(&error)))?
            .unchecked_into();
        let status = outcome.get(0).as_f64().unwrap_or(-1.0);
        let body = outcome.get(1).as_string().unwrap_or_default();
        match status as i32 {
            0 => Err(TransportError::Timeout),
            status @ 1..=999 => Ok(ApiResponse { status: status as u16, body }),
            _ => Err(TransportError::Network(body)),
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
type CachedConfig = (JsValue, Vec<Option<String>>, Rc<Config>);

thread_local! {
    /// The parsed settings of this isolate, with the `env` object and the raw
    /// values they came from. Settings do not change within an isolate, but
    /// parsing them (sealing key schedules, origins) on every request is
    /// measurable CPU. The same `env` object is reused as is; another one is
    /// compared value by value, so a change is still picked up.
    static CONFIG: std::cell::RefCell<Option<CachedConfig>> =
        const { std::cell::RefCell::new(None) };
}

fn config_for(env: &JsValue, settings: &EnvSettings) -> Rc<Config> {
    let same_env = CONFIG.with(|cache| {
        cache.borrow().as_ref().filter(|(seen, _, _)| Object::is(seen, env)).map(|(_, _, c)| c.clone())
    });
    if let Some(config) = same_env {
        return config;
    }
    let raw: Vec<Option<String>> =
        SETTINGS.iter().filter(|s| s.kind != SettingKind::Binding).map(|s| settings.text(s.name)).collect();
    CONFIG.with(|cache| {
        let mut cache = cache.borrow_mut();
        let config = match cache.as_ref() {
            Some((_, seen, config)) if *seen == raw => config.clone(),
            _ => Rc::new(Config::from_source(settings)),
        };
        *cache = Some((env.clone(), raw, config.clone()));
        config
    })
}

#[cfg(test)]
mod tests {
    //! Run by `cargo test --target wasm32-unknown-unknown` in Node
    //! (wasm-bindgen-test): the export end to end, with JS objects for `env`.
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn env_with(entries: &[(&str, &JsValue)]) -> JsValue {
        let env = Object::new();
        for (name, value) in entries {
            Reflect::set(&env, &JsValue::from_str(name), value).unwrap();
        }
        env.into()
    }

    fn parts(answer: &Array) -> (u16, Vec<(String, String)>, Option<String>) {
        let status = answer.get(0).as_f64().unwrap() as u16;
        let headers = unpack_headers(&answer.get(1).as_string().unwrap());
        let body = answer.get(2);
        let body = (!body.is_null()).then(|| String::from_utf8(Uint8Array::new(&body).to_vec()).unwrap());
        (status, headers, body)
    }

    #[wasm_bindgen_test]
    async fn wrong_method_answers_405_with_allow_and_json() {
        let answer = handle_request(
            "DELETE".into(),
            "https://edge.example/healthz".into(),
            String::new(),
            None,
            false,
            false,
            env_with(&[]),
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        )
        .await;
        let (status, headers, body) = parts(&answer);
        assert_eq!(status, 405);
        assert!(headers.contains(&("allow".to_owned(), "GET, HEAD".to_owned())));
        let body: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }

    #[wasm_bindgen_test]
    fn body_limits_come_from_the_route_table() {
        assert_eq!(body_limit("POST", "https://e.example/auth/configure/complete"), 16 * 1024);
        assert_eq!(body_limit("POST", "https://e.example/v1/journeys?x"), 64 * 1024);
        assert_eq!(body_limit("GET", "https://e.example/healthz"), 0);
        assert_eq!(body_limit("POST", "not a url"), 0);
    }

    #[wasm_bindgen_test]
    async fn an_over_limit_body_is_a_413_with_cors() {
        let answer = handle_request(
            "POST".into(),
            "https://edge.example/auth/configure/complete".into(),
            "content-type\napplication/json\norigin\nhttps://sign-in.me\n".into(),
            None,
            false,
            true,
            env_with(&[]),
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        )
        .await;
        let (status, headers, _) = parts(&answer);
        assert_eq!(status, 413);
        assert!(
            headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("access-control-allow-origin")
                    && v == "https://sign-in.me")
        );
    }

    #[wasm_bindgen_test]
    async fn unreadable_body_is_a_400() {
        let answer = handle_request(
            "POST".into(),
            "https://edge.example/v1/journeys".into(),
            "content-type\napplication/json\n".into(),
            None,
            true,
            false,
            env_with(&[]),
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        )
        .await;
        assert_eq!(parts(&answer).0, 400);
    }

    #[wasm_bindgen_test]
    async fn healthz_reads_settings_and_bindings_from_env() {
        // A KV binding is any object; /healthz only reports it.
        let kv: JsValue = Object::new().into();
        let env = env_with(&[("CONFIGURE_KV", &kv), ("CONFIGURE_AGENT", &JsValue::from_str("edge-test"))]);
        let answer = handle_request(
            "GET".into(),
            "https://edge.example/healthz".into(),
            String::new(),
            None,
            false,
            false,
            env,
            kv,
            JsValue::UNDEFINED,
        )
        .await;
        let (status, _, body) = parts(&answer);
        let body: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["version"], crate::VERSION);
    }

    #[wasm_bindgen_test]
    async fn a_header_value_with_a_line_break_is_never_sent() {
        // An access token from an API answer goes into Authorization: one
        // holding a line feed must not add headers of its own.
        let request = ApiRequest {
            method: "GET",
            url: "http://127.0.0.1:9/never-called".to_owned(),
            headers: vec![("Authorization", "Bearer at\nX-Agent\nother".to_owned())],
            body: None,
        };
        match FetchTransport.send(&request, 1_000).await {
            Err(TransportError::Network(message)) => assert!(message.contains("line break"), "{message}"),
            other => panic!("expected a refusal before any request, got {other:?}"),
        }
    }

    #[wasm_bindgen_test]
    async fn kv_adapter_round_trips_through_a_js_namespace() {
        // A stand-in namespace in plain JS with the Workers KV method shapes.
        let make = js_sys::Function::new_no_args(
            "const m = new Map(); return { \
               get: async (k) => m.has(k) ? m.get(k) : null, \
               put: async (k, v, o) => { m.set(k, v); m.ttl = o && o.expirationTtl; }, \
               delete: async (k) => { m.delete(k); }, m };",
        );
        let namespace = make.call0(&JsValue::NULL).unwrap();
        let store = KvAdapter(namespace.clone().unchecked_into());
        assert_eq!(store.get("k").await.unwrap(), None);
        store.put("k", "välue", Some(5)).await.unwrap();
        assert_eq!(store.get("k").await.unwrap().as_deref(), Some("välue"));
        let map = Reflect::get(&namespace, &JsValue::from_str("m")).unwrap();
        // TTLs below KV's minimum are raised to it.
        assert_eq!(Reflect::get(&map, &JsValue::from_str("ttl")).unwrap().as_f64(), Some(60.0));
        store.delete("k").await.unwrap();
        assert_eq!(store.get("k").await.unwrap(), None);
    }
}
