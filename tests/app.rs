//! Native tests of the whole request handling (routing, errors, /healthz),
//! without a runtime: the same `App::handle` the Worker shell calls.
#![cfg(not(target_arch = "wasm32"))]

use configure_edge::{App, HttpRequest, HttpResponse};
use serde_json::Value;
use std::collections::BTreeMap;

fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn call(source: &BTreeMap<String, String>, method: &str, url: &str) -> HttpResponse {
    let app = App { settings: source };
    pollster::block_on(app.handle(&HttpRequest::new(method, url).unwrap()))
}

fn json(response: &HttpResponse) -> Value {
    serde_json::from_slice(&response.body).expect("JSON body")
}

#[test]
fn healthz_reports_version_and_presence_never_values() {
    let source = settings(&[
        ("CONFIGURE_API_KEY", "sk_test_do_not_print"),
        ("CONFIGURE_AGENT", "my-agent"),
        ("CONFIGURE_KV", ""),
    ]);
    let response = call(&source, "GET", "http://127.0.0.1:8787/healthz");
    assert_eq!(response.status, 200);
    let body = json(&response);
    assert_eq!(body["ok"], true);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["settings"]["CONFIGURE_API_KEY"], true);
    assert_eq!(body["settings"]["CONFIGURE_AGENT"], true);
    assert_eq!(body["settings"]["CONFIGURE_KV"], true);
    assert_eq!(body["settings"]["CONFIGURE_EDGE_API_SECRET"], false);
    let text = String::from_utf8(response.body).unwrap();
    assert!(!text.contains("sk_test_do_not_print") && !text.contains("my-agent"));
}

#[test]
fn head_healthz_has_no_body() {
    let response = call(&settings(&[]), "HEAD", "http://h/healthz");
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
}

#[test]
fn unknown_path_is_json_404() {
    let response = call(&settings(&[]), "GET", "http://h/does-not-exist?x=%ZZ");
    assert_eq!(response.status, 404);
    assert_eq!(json(&response)["error"]["code"], "not_found");
}

#[test]
fn wrong_method_is_405_with_allow() {
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"] {
        let response = call(&settings(&[]), method, "http://h/healthz");
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("Allow"), Some("GET, HEAD"));
        assert_eq!(json(&response)["ok"], false);
    }
}
