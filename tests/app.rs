//! Native tests of the whole request handling (routing, errors, /healthz),
//! without a runtime: the same `App::handle` the Worker shell calls.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{json, FakeApi, Harness};
use configure_edge::HttpRequest;

#[test]
fn healthz_reports_version_and_presence_never_values() {
    let harness =
        Harness::with_settings(FakeApi::default(), &[("CONFIGURE_API_KEY", "sk_test_do_not_print")]);
    let response = harness.call(HttpRequest::new("GET", "http://127.0.0.1:8787/healthz").unwrap());
    assert_eq!(response.status, 200);
    let body = json(&response);
    assert_eq!(body["ok"], true);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["settings"]["CONFIGURE_API_KEY"], true);
    assert_eq!(body["settings"]["CONFIGURE_KV"], true);
    assert_eq!(body["settings"]["PUBLIC_URL"], false);
    assert_eq!(body["problems"], serde_json::json!([]));
    let text = String::from_utf8(response.body).unwrap();
    assert!(!text.contains("sk_test_do_not_print") && !text.contains(common::SECRET));
}

#[test]
fn healthz_names_invalid_settings_without_values() {
    let harness =
        Harness::with_settings(FakeApi::default(), &[("CONFIGURE_EDGE_SEALING_KEYS", "k1:secretish")]);
    let body = json(&harness.call(HttpRequest::new("GET", "http://h/healthz").unwrap()));
    assert_eq!(body["problems"][0]["setting"], "CONFIGURE_EDGE_SEALING_KEYS");
    assert!(!body.to_string().contains("secretish"));
}

#[test]
fn head_healthz_has_no_body() {
    let harness = Harness::new(FakeApi::default());
    let response = harness.call(HttpRequest::new("HEAD", "http://h/healthz").unwrap());
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
}

#[test]
fn unknown_path_is_json_404() {
    let harness = Harness::new(FakeApi::default());
    let response = harness.call(HttpRequest::new("GET", "http://h/does-not-exist?x=%ZZ").unwrap());
    assert_eq!(response.status, 404);
    assert_eq!(json(&response)["error"]["code"], "not_found");
}

#[test]
fn wrong_method_is_405_with_allow() {
    let harness = Harness::new(FakeApi::default());
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"] {
        let response = harness.call(HttpRequest::new(method, "http://h/healthz").unwrap());
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("Allow"), Some("GET, HEAD"));
        assert_eq!(json(&response)["ok"], false);
    }
}
