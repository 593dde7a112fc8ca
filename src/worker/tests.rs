//! Run by `cargo test --target wasm32-unknown-unknown` in Node
//! (wasm-bindgen-test): the adapters over plain JS objects with the
//! runtime's method shapes. The whole Worker runs under workerd in
//! tests/e2e.

use super::bindings::KvAdapter;
use super::transport::FetchTransport;
use crate::api::{ApiRequest, HttpTransport, TransportError};
use crate::storage::store::Store;
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;
use worker::kv::KvStore;

/// A stand-in namespace in plain JS with the Workers KV method shapes; its
/// map and the last TTL are readable from the test.
fn memory_namespace() -> (JsValue, JsValue) {
    let make = Function::new_no_args(
        "const m = new Map(); return { NS: { \
           get: async (k) => m.has(k) ? m.get(k) : null, \
           put: async (k, v, o) => { m.set(k, v); m.ttl = o && o.expirationTtl; }, \
           delete: async (k) => { m.delete(k); }, m } };",
    );
    let holder = make.call0(&JsValue::NULL).unwrap();
    let namespace = Reflect::get(&holder, &JsValue::from_str("NS")).unwrap();
    let map = Reflect::get(&namespace, &JsValue::from_str("m")).unwrap();
    (holder, map)
}

fn adapter(holder: &JsValue) -> KvAdapter {
    KvAdapter::new(KvStore::from_this(holder, "NS").unwrap())
}

#[wasm_bindgen_test]
async fn kv_adapter_round_trips_and_raises_short_ttls_to_kvs_minimum() {
    let (holder, map) = memory_namespace();
    let store = adapter(&holder);
    assert_eq!(store.get("k").await.unwrap(), None);
    store.put("k", "välue", Some(5)).await.unwrap();
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some("välue"));
    assert_eq!(Reflect::get(&map, &JsValue::from_str("ttl")).unwrap().as_f64(), Some(60.0));
    store.delete("k").await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn deletes_after_the_answer_wait_for_the_deferred_future() {
    let (holder, _) = memory_namespace();
    let store = adapter(&holder);
    store.put("journey:a", "x", None).await.unwrap();
    store.put("state:b", "y", None).await.unwrap();
    store.delete_after_answer("journey:a").await.unwrap();
    store.delete_after_answer("state:b").await.unwrap();
    // Nothing is deleted until the runtime runs the deferred work.
    assert!(store.get("journey:a").await.unwrap().is_some());
    assert!(adapter(&holder).into_deferred_deletes().is_none(), "no deferred work without deferred deletes");
    store.into_deferred_deletes().expect("deferred deletes").await;
    let after = adapter(&holder);
    assert_eq!(after.get("journey:a").await.unwrap(), None);
    assert_eq!(after.get("state:b").await.unwrap(), None);
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
fn settings_are_read_from_env_strings_and_bindings_from_objects() {
    use crate::settings::SettingSource;
    let env = Object::new();
    Reflect::set(&env, &JsValue::from_str("CONFIGURE_AGENT"), &JsValue::from_str("edge-test")).unwrap();
    Reflect::set(&env, &JsValue::from_str("CONFIGURE_KV"), &Object::new()).unwrap();
    let env: worker::Env = wasm_bindgen::JsCast::unchecked_into(JsValue::from(env));
    let settings = super::bindings::EnvSettings(&env);
    assert_eq!(settings.text("CONFIGURE_AGENT").as_deref(), Some("edge-test"));
    assert_eq!(settings.text("CONFIGURE_KV"), None, "a binding is not a setting's text");
    assert!(settings.has_binding("CONFIGURE_KV"));
    assert!(!settings.has_binding("CONFIGURE_AGENT"));
    assert!(!settings.has_binding("CONFIGURE_RATE_LIMITER"));
}

#[wasm_bindgen_test]
async fn a_rate_limiter_is_taken_by_its_shape_not_its_class_name() {
    use crate::http::ratelimit::RateLimit;
    // A plain object with `limit` (no `Ratelimit` class): still a limiter.
    let make = Function::new_no_args(
        "return { LIMITER: { limit: async ({ key }) => ({ success: key !== 'complete:blocked' }) }, \
                  NOT_A_LIMITER: { get: async () => null } };",
    );
    let env: worker::Env = wasm_bindgen::JsCast::unchecked_into(make.call0(&JsValue::NULL).unwrap());
    let limiter = super::bindings::rate_limiter(&env, "LIMITER").expect("a limiter by shape");
    assert_eq!(limiter.allow("complete:1.2.3.4").await, Ok(true));
    assert_eq!(limiter.allow("complete:blocked").await, Ok(false));
    assert!(super::bindings::rate_limiter(&env, "NOT_A_LIMITER").is_none());
    assert!(super::bindings::rate_limiter(&env, "ABSENT").is_none());
}
