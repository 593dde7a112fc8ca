//! The core's ports over the runtime's bindings: settings from `env`, the
//! `Store` over Workers KV, the `RateLimit` over the Rate Limiting binding,
//! and warnings to the console.

use crate::http::ratelimit::RateLimit;
use crate::log::Log;
use crate::settings::SettingSource;
use crate::storage::store::{Store, StoreError, KV_MIN_TTL_SECONDS};
use std::cell::RefCell;
use std::future::Future;
use wasm_bindgen::JsValue;
use worker::kv::KvStore;
use worker::{Env, RateLimiter};

/// Settings read from the Worker's vars and secrets (both plain strings).
pub struct EnvSettings<'a>(pub &'a Env);

impl EnvSettings<'_> {
    fn get(&self, name: &str) -> Option<JsValue> {
        js_sys::Reflect::get(self.0, &JsValue::from_str(name)).ok()
    }
}

impl SettingSource for EnvSettings<'_> {
    fn text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|value| value.as_string())
    }

    fn has_binding(&self, name: &str) -> bool {
        self.get(name).is_some_and(|value| value.is_object())
    }
}

/// The `Store` port over a Workers KV namespace.
pub struct KvAdapter {
    kv: KvStore,
    /// Keys whose delete runs after the answer (`delete_after_answer`).
    deferred: RefCell<Vec<String>>,
}

impl KvAdapter {
    pub fn new(kv: KvStore) -> KvAdapter {
        KvAdapter { kv, deferred: RefCell::new(Vec::new()) }
    }

    /// The deferred deletes, for `Context::wait_until`: each is tried once,
    /// and a failure is logged (the item also expires by its TTL).
    pub fn into_deferred_deletes(self) -> Option<impl Future<Output = ()> + 'static> {
        let keys = self.deferred.take();
        (!keys.is_empty()).then_some(async move {
            for key in keys {
                if let Err(error) = self.kv.delete(&key).await {
                    ConsoleLog.warn(&format!("{key} finished but not deleted after the answer: {error}"));
                }
            }
        })
    }
}

fn kv_error(operation: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError { operation, detail: error.to_string() }
}

impl Store for KvAdapter {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.kv.get(key).text().await.map_err(|e| kv_error("get", e))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError> {
        let mut put = self.kv.put(key, value).map_err(|e| kv_error("put", e))?;
        if let Some(ttl) = ttl_seconds {
            put = put.expiration_ttl(ttl.max(KV_MIN_TTL_SECONDS));
        }
        put.execute().await.map_err(|e| kv_error("put", e))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.kv.delete(key).await.map_err(|e| kv_error("delete", e))
    }

    async fn delete_after_answer(&self, key: &str) -> Result<(), StoreError> {
        self.deferred.borrow_mut().push(key.to_owned());
        Ok(())
    }
}

/// The `RateLimit` port over the Workers Rate Limiting binding.
pub struct RateLimiterAdapter(pub RateLimiter);

/// The rate limiter bound as `name`, if any. Taken by its shape (an object
/// with a `limit` method), not by its class name as `Env::rate_limiter`
/// does, so a wrapped or renamed binding class cannot switch limiting off
/// silently; a binding without `limit` is logged on every request.
pub fn rate_limiter(env: &Env, name: &str) -> Option<RateLimiterAdapter> {
    let binding = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok().filter(|b| b.is_object())?;
    let limit = js_sys::Reflect::get(&binding, &JsValue::from_str("limit")).ok();
    if !limit.is_some_and(|limit| limit.is_function()) {
        ConsoleLog.warn(&format!("{name} is bound but has no limit method; nothing is limited"));
        return None;
    }
    Some(RateLimiterAdapter(wasm_bindgen::JsCast::unchecked_into(binding)))
}

impl RateLimit for RateLimiterAdapter {
    async fn allow(&self, key: &str) -> Result<bool, String> {
        self.0.limit(key.to_owned()).await.map(|outcome| outcome.success).map_err(|e| e.to_string())
    }
}

/// Warnings to the Worker's console (`wrangler tail`, observability).
pub struct ConsoleLog;

impl Log for ConsoleLog {
    fn warn(&self, message: &str) {
        worker::console_warn!("configure-edge: {message}");
    }
}
