//! Native fuzzing (proptest, deterministic seed) of every parser and flow
//! input: request bodies, query strings, cookies, bearer headers, sealed
//! records, KV records of other versions, whole requests through
//! `App::handle`, and the URL and phone helpers. The budget is
//! `FUZZ_CASES` per target (default 300 in `make test`; `make reliability`
//! raises it). Each target prints its count; any panic fails the run. A
//! crash found here becomes a named regression test at the end of this file.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use configure_edge::flows::web::{check_return_after, CallbackQuery};
use configure_edge::http::body;
use configure_edge::http::cookies;
use configure_edge::http::{bearer, routes};
use configure_edge::sdk::agent::AgentHandle;
use configure_edge::sdk::phone;
use configure_edge::sdk::sign_in_url::{sign_in_url, SignInUrlOptions};
use configure_edge::sealing::seal::Keyring;
use configure_edge::settings::Secret;
use configure_edge::storage::records::{
    journey_key, link_key, parse_record, JourneyRecord, LinkRecord, WebSignInRecord,
};
use configure_edge::storage::store::Store;
use configure_edge::{HttpRequest, Method};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

/// Runs `check` on `cases()` inputs of `strategy` from a fixed seed; prints the count.
fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let ran = std::cell::Cell::new(0u32);
    let result = runner.run(&strategy, |value| {
        ran.set(ran.get() + 1);
        check(value)
    });
    println!("fuzz {name}: {} cases, {} panics", ran.get(), u32::from(result.is_err()));
    if let Err(error) = result {
        panic!("fuzz {name} failed: {error}");
    }
}

/// Text that stresses parsers: any chars, JSON-ish and URL-ish pieces.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just("{".to_owned()),
                Just("}".to_owned()),
                Just("[".to_owned()),
                Just("]".to_owned()),
                Just("\"".to_owned()),
                Just(":".to_owned()),
                Just(",".to_owned()),
                Just("\\".to_owned()),
                Just("%".to_owned()),
                Just("%2F".to_owned()),
                Just("&".to_owned()),
                Just("=".to_owned()),
                Just(";".to_owned()),
                Just("\u{0}".to_owned()),
                Just("null".to_owned()),
                Just("1e999".to_owned()),
                Just("subject".to_owned()),
                Just("token".to_owned()),
                Just("k1.".to_owned()),
                "[a-z0-9]{0,8}",
                any::<char>().prop_map(String::from),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

/// JSON objects with the routes' field names and values of every type.
fn json_body() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<String>().prop_map(serde_json::Value::String),
        "[a-z:+ 0-9-]{0,30}".prop_map(serde_json::Value::String),
    ];
    let value = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let field = prop_oneof![
        Just("subject"),
        Just("token"),
        Just("userId"),
        Just("journeyId"),
        Just("agent"),
        Just("connectors"),
        Just("displayName"),
        Just("messageLinePhone"),
        Just("messageBody"),
        Just("theme"),
        Just("externalId"),
        Just("phoneCandidates"),
        Just("validateToken"),
        Just("returnAfter"),
        Just("other"),
    ];
    proptest::collection::btree_map(field, value, 0..8).prop_map(|m| {
        serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()).to_string()
    })
}

#[test]
fn fuzz_request_bodies() {
    fuzz(
        "request bodies (JSON parse + every route's fields)",
        prop_oneof![json_body(), nasty_text()],
        |text| {
            let request = HttpRequest::new("POST", "https://e/x")
                .unwrap()
                .with_header("content-type", "application/json")
                .with_body(text);
            if let Ok(object) = body::json_object(&request, 64 * 1024) {
                let config = configure_edge::settings::config::Config::from_source(&settings(&[(
                    "ALLOWED_RETURN_ORIGINS",
                    "https://app.example",
                )]));
                let _ = configure_edge::flows::journeys::JourneyRequest::from_json(&object);
                let _ = configure_edge::flows::identity::IdentityRequest::from_json(&object);
                let _ = configure_edge::flows::complete::Completion::from_json(&object);
                let _ = configure_edge::flows::web::SignInRequest::from_json(&object, &config);
                let _ = configure_edge::flows::redeem::RedeemRequest::from_json(&object);
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_query_strings_and_return_urls() {
    fuzz("query strings and returnAfter URLs", nasty_text(), |text| {
        let _ = CallbackQuery::parse(&text);
        let _ = configure_edge::flows::web::query_value(&text, "ticket");
        if let Ok(url) = check_return_after(&text, &["https://app.example".to_owned()]) {
            prop_assert!(url.starts_with("https://app.example/"), "{url}");
        }
        Ok(())
    });
}

#[test]
fn fuzz_cookies_and_bearer_headers() {
    let secret = Secret::new("fuzz-secret-0123456789abcdef");
    fuzz("cookie and bearer headers", (nasty_text(), nasty_text()), |(cookie, auth)| {
        let request = HttpRequest::new("GET", "https://e/x")
            .unwrap()
            .with_header("cookie", &cookie)
            .with_header("authorization", &auth);
        let _ = cookies::read(&request, cookies::STATE_COOKIE);
        let accepted = bearer::authorize(&request, &secret).is_ok();
        prop_assert!(!accepted || auth.contains(secret.expose()));
        Ok(())
    });
}

#[test]
fn fuzz_sealed_values() {
    let ring = Keyring::parse(SEALING_KEYS).unwrap();
    let sealed = ring.seal(b"a token", "link:x").unwrap();
    fuzz(
        "sealed values (forged, truncated, other keys)",
        (nasty_text(), 0usize..200, any::<u8>()),
        |(junk, cut, flip)| {
            prop_assert!(ring.open(&junk, "link:x").is_err() || junk == sealed);
            let mut bytes = sealed.clone().into_bytes();
            let at = cut % bytes.len();
            bytes[at] ^= flip.max(1);
            if let Ok(tampered) = String::from_utf8(bytes) {
                prop_assert!(ring.open(&tampered, "link:x").is_err());
            }
            prop_assert!(
                ring.open(&sealed[..cut.min(sealed.len())], "link:x").is_err() || cut >= sealed.len()
            );
            Ok(())
        },
    );
}

#[test]
fn fuzz_kv_records_of_other_versions() {
    fuzz(
        "KV records of other versions and shapes",
        (prop_oneof![json_body(), nasty_text()], 0u32..5),
        |(text, v)| {
            let versioned = text.replacen('{', &format!("{{\"v\":{v},"), 1);
            for candidate in [&text, &versioned] {
                let _ = parse_record::<LinkRecord>(candidate);
                let _ = parse_record::<JourneyRecord>(candidate);
                let _ = parse_record::<WebSignInRecord>(candidate);
                let _ = parse_record::<configure_edge::storage::records::SealedItemRecord>(candidate);
            }
            // Junk where a journey and a link should be: a clean 404, never a panic.
            let h = Harness::new(FakeApi::default().with_token("t", "u", AGENT));
            pollster::block_on(h.store.put(&journey_key("j"), &versioned, None)).unwrap();
            pollster::block_on(h.store.put(&link_key("s"), &versioned, None)).unwrap();
            let completed = h.call(webhook(r#"{"token":"t","userId":"u","journeyId":"j"}"#));
            prop_assert_eq!(completed.status, 404);
            prop_assert_eq!(h.call(agent_get("/v1/links/s")).status, 404);
            Ok(())
        },
    );
}

#[test]
fn fuzz_whole_requests() {
    let methods = prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("DELETE"),
        Just("OPTIONS"),
        Just("PUT"),
        Just("HEAD"),
        Just("BREW")
    ];
    let paths = prop_oneof![
        Just("/healthz".to_owned()),
        Just("/v1/journeys".to_owned()),
        Just("/v1/identity/resolve".to_owned()),
        Just("/v1/sign-ins".to_owned()),
        Just("/v1/sign-ins/redeem".to_owned()),
        Just("/v1/setup".to_owned()),
        Just("/auth/configure/complete".to_owned()),
        Just("/auth/configure/sign-in".to_owned()),
        Just("/api/configure/callback".to_owned()),
        Just("/auth/configure/linked".to_owned()),
        Just("/auth/configure/login".to_owned()),
        Just("/auth/configure/oauth/callback".to_owned()),
        Just("/auth/configure/session".to_owned()),
        Just("/auth/configure/logout".to_owned()),
        "/v1/links/[a-zA-Z0-9%/._~-]{0,20}",
        "/[ -~]{0,30}",
    ];
    let h = Harness::with_settings(
        FakeApi::default(),
        &[
            ("ALLOWED_RETURN_ORIGINS", "https://app.example"),
            ("PUBLIC_URL", "https://edge.example"),
            ("CONFIGURE_OAUTH_CLIENT_ID", "cfg_client_fuzz"),
            ("CONFIGURE_OAUTH_CLIENT_SECRET", "fuzz-client-secret"),
            ("CONFIGURE_EDGE_SESSION_KEYS", "s1:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="),
        ],
    );
    fuzz(
        "whole requests through App::handle (agent API, webhook, web and OAuth routes)",
        (methods, paths, "[ -~]{0,40}", prop_oneof![json_body(), nasty_text()], any::<bool>(), any::<bool>()),
        |(method, path, query, body, authorized, json)| {
            let url = format!(
                "https://edge.example{}?{query}",
                if path.starts_with('/') { path.clone() } else { format!("/{path}") }
            );
            let Some(mut request) = HttpRequest::new(method, &url) else { return Ok(()) };
            if authorized {
                request = request.with_header("Authorization", &format!("Bearer {SECRET}"));
            }
            if json {
                request = request.with_header("Content-Type", "application/json");
            }
            let response =
                h.call(request.with_body(body).with_header("Origin", "https://sign-in.me").with_header(
                    "Cookie",
                    "__Host-configure-edge-state=x; __Host-configure-edge-oauth=k1.AAAA; \
                         __Host-configure-edge-session=v1.s1.e30.AAAA",
                ));
            prop_assert!(
                [200, 201, 204, 302, 303, 400, 401, 403, 404, 405, 409, 413, 415, 502, 503]
                    .contains(&response.status),
                "status {}",
                response.status
            );
            prop_assert!(response.status < 500 || response.status == 502 || response.status == 503);
            Ok(())
        },
    );
}

#[test]
fn fuzz_routes_urls_and_phones() {
    let agent = AgentHandle::parse("my-agent").unwrap();
    fuzz(
        "routes, sign-in URLs, phones, agent handles",
        (nasty_text(), nasty_text(), nasty_text()),
        |(a, b, c)| {
            let _ = routes::resolve(Method::Get, &a);
            let _ = configure_edge::sdk::agent::validate_agent_handle(&a);
            let _ = phone::validate_phone(&b);
            let _ = phone::normalize_candidates(&[a.clone(), b.clone()]);
            let options = SignInUrlOptions {
                sign_in_origin: Some(a.clone()),
                state: Some(b.clone()),
                display_name: Some(c.clone()),
                connectors: vec![a.clone(), c.clone()],
                ..SignInUrlOptions::default()
            };
            // Whatever the origin (opaque paths may keep spaces, as WHATWG URL
            // does), the result is a URL whose query holds exactly our parameters.
            if let Ok(url) = sign_in_url(&agent, &options) {
                let parsed = url::Url::parse(&url);
                prop_assert!(parsed.is_ok(), "{url}");
                let pairs: Vec<(String, String)> = parsed.unwrap().query_pairs().into_owned().collect();
                let state = pairs.iter().find(|(k, _)| k == "state").map(|(_, v)| v.clone());
                prop_assert_eq!(state.as_deref(), Some(b.as_str()));
            }
            Ok(())
        },
    );
}

/// src/b64.rs against the `base64` crate: the same text for any bytes, and
/// for any text (mostly base64-alphabet soup) the same bytes or the same
/// refusal, in each of the three ways the Worker decodes.
#[test]
fn fuzz_base64_against_the_base64_crate() {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use configure_edge::b64;
    fuzz("base64 encoding", proptest::collection::vec(any::<u8>(), 0..70), |bytes| {
        prop_assert_eq!(b64::encode_url(&bytes), URL_SAFE_NO_PAD.encode(&bytes));
        prop_assert_eq!(b64::encode_standard(&bytes), STANDARD.encode(&bytes));
        prop_assert_eq!(b64::decode_url(&URL_SAFE_NO_PAD.encode(&bytes)), Some(bytes.clone()));
        prop_assert_eq!(b64::decode_any(&STANDARD.encode(&bytes)), Some(bytes));
        Ok(())
    });
    let soup = prop_oneof![
        "[A-Za-z0-9+/_=-]{0,24}",
        "[A-Za-z0-9_-]{0,24}",
        "[A-Za-z0-9+/]{0,24}={0,3}",
        nasty_text(),
    ];
    fuzz("base64 decoding", soup, |text| {
        prop_assert_eq!(b64::decode_url(&text), URL_SAFE_NO_PAD.decode(&text).ok(), "url {:?}", text);
        // seal.rs's key settings before src/b64.rs: URL-safe unpadded, else
        // standard padded, else standard unpadded.
        let unpadded = text.trim_end_matches('=');
        let crate_any = URL_SAFE_NO_PAD
            .decode(unpadded)
            .ok()
            .or_else(|| STANDARD.decode(&text).ok())
            .or_else(|| STANDARD_NO_PAD.decode(unpadded).ok());
        prop_assert_eq!(b64::decode_any(&text), crate_any, "any {:?}", text);
        Ok(())
    });
}

#[test]
fn fuzz_settings() {
    fuzz("settings values", (nasty_text(), nasty_text(), nasty_text()), |(a, b, c)| {
        let source = settings(&[
            ("CONFIGURE_EDGE_SEALING_KEYS", &a),
            ("CONFIGURE_SIGN_IN_ORIGIN", &b),
            ("ALLOWED_RETURN_ORIGINS", &c),
            ("CONFIGURE_API_TIMEOUT_MS", &a),
            ("CONFIGURE_AGENT", &b),
            ("PUBLIC_URL", &c),
        ]);
        let config = configure_edge::settings::config::Config::from_source(&source);
        let shown = format!("{:?}", config.problems);
        prop_assert!(a.len() < 12 || !shown.contains(&a), "a problem echoes a value");
        Ok(())
    });
}
