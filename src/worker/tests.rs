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

/// An env with a stand-in ledger namespace in plain JS with the Durable
/// Object method shapes: `idFromName` names the object, `get` gives a stub
/// whose `fetch` records what it was sent and answers `status` and `body`
/// (or rejects when `status` is 0). `LOG` holds the records.
fn ledger_env(status: u16, body: &str) -> (worker::Env, JsValue) {
    let make = Function::new_with_args(
        "status, body",
        "const log = []; return { LOG: log, NOT_A_NAMESPACE: { get: () => null }, CONFIGURE_LEDGER: { \
           idFromName: (name) => ({ name }), \
           get: (id) => ({ fetch: async (request) => { \
             log.push({ object: id.name, method: request.method, url: request.url, \
                        type: request.headers.get('content-type'), body: await request.text() }); \
             if (status === 0) throw new Error('Network connection lost'); \
             return new Response(body, { status }); } }) } };",
    );
    let env = make.call2(&JsValue::NULL, &JsValue::from(status), &JsValue::from_str(body)).unwrap();
    let log = Reflect::get(&env, &JsValue::from_str("LOG")).unwrap();
    (wasm_bindgen::JsCast::unchecked_into(env), log)
}

fn logged(log: &JsValue, index: u32, field: &str) -> Option<String> {
    let entry = Reflect::get(log, &JsValue::from(index)).unwrap();
    Reflect::get(&entry, &JsValue::from_str(field)).unwrap().as_string()
}

#[wasm_bindgen_test]
async fn the_durable_ledger_posts_each_command_to_the_object_its_key_names() {
    use crate::storage::ledger::{Ledger, Stored};
    let (env, log) = ledger_env(200, r#"{"ok":true,"value":"sealed","known":true}"#);
    let transport = super::DurableLedger::from_env(&env, super::LEDGER_BINDING).expect("the binding");
    let ledger = Ledger::new(&transport);
    assert_eq!(ledger.read("link:abc#refresh", 5).await.unwrap(), Stored::Value("sealed".to_owned()));
    ledger.delete("journey:j").await.unwrap();
    assert_eq!(
        logged(&log, 0, "object").as_deref(),
        Some("link:a"),
        "the key's kind and its hash's first character"
    );
    assert_eq!(logged(&log, 0, "method").as_deref(), Some("POST"));
    assert_eq!(logged(&log, 0, "type").as_deref(), Some("application/json"));
    assert_eq!(logged(&log, 0, "body").as_deref(), Some(r#"{"op":"read","key":"link:abc#refresh","now":5}"#));
    assert_eq!(logged(&log, 1, "object").as_deref(), Some("journey:j"));
    assert!(super::DurableLedger::from_env(&env, "NOT_A_NAMESPACE").is_none(), "taken by its shape");
    assert!(super::DurableLedger::from_env(&env, "ABSENT").is_none());
}

#[wasm_bindgen_test]
async fn a_failed_object_call_is_a_ledger_store_error() {
    use crate::storage::ledger::Ledger;
    let (env, _) = ledger_env(500, "ledger storage failed: disk full");
    let transport = super::DurableLedger::from_env(&env, super::LEDGER_BINDING).unwrap();
    let error = Ledger::new(&transport).put("journey:j", Some("v"), 2).await.unwrap_err();
    assert_eq!(error.operation, "ledger");
    assert!(error.detail.contains("answered 500: ledger storage failed: disk full"), "{}", error.detail);
    let (env, _) = ledger_env(0, "");
    let transport = super::DurableLedger::from_env(&env, super::LEDGER_BINDING).unwrap();
    let error = Ledger::new(&transport).spend("journey:j", 2).await.unwrap_err();
    assert_eq!(error.operation, "ledger");
    assert!(error.detail.contains("Network connection lost"), "{}", error.detail);
    let (env, _) = ledger_env(200, "not json");
    let transport = super::DurableLedger::from_env(&env, super::LEDGER_BINDING).unwrap();
    let error = Ledger::new(&transport).delete("journey:j").await.unwrap_err();
    assert!(error.detail.contains("not an answer"), "{}", error.detail);
}
