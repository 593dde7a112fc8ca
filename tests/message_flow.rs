//! The message-agent flow natively, through `App::handle` with an in-memory
//! store and a fake Configure API: every route's success and error paths,
//! the order of effects under injected faults, replay and expiry.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use configure_edge::api::TransportError;
use configure_edge::HttpRequest;
use serde_json::Value;
use support::*;

/// A journey with `binding: "none"`: whoever completes it is linked (the
/// bound journeys have tests of their own below).
fn create_journey(h: &Harness, subject: &str) -> String {
    let response = h.call(agent_post("/v1/journeys", &format!(r#"{{"subject":"{subject}","binding":"none","connectors":["gmail"," calendar "],"displayName":"Your Agent","messageLinePhone":"(415) 555-1234","theme":"dark"}}"#)));
    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
    json(&response)["journeyId"].as_str().unwrap().to_owned()
}

fn completion(token: &str, user: &str, journey: &str) -> String {
    format!(r#"{{"token":"{token}","userId":"{user}","agent":"{AGENT}","journeyId":"{journey}"}}"#)
}

fn link_of(h: &Harness, subject: &str) -> Value {
    let response = h.call(agent_get(&format!("/v1/links/{subject}")));
    if response.status == 404 {
        return Value::Null;
    }
    assert_eq!(response.status, 200);
    json(&response)
}

#[test]
fn journey_answers_the_hosted_url() {
    let h = Harness::with_settings(FakeConfigure::default(), &[("PUBLIC_URL", "https://agent-edge.example")]);
    let response = h.call(agent_post("/v1/journeys", r#"{"subject":"spectrum:1","connectors":["gmail"," calendar "],"displayName":"Your Agent","messageLinePhone":"(415) 555-1234","messageBody":"done","theme":"dark"}"#));
    assert_eq!(response.status, 201);
    let body = json(&response);
    let id = body["journeyId"].as_str().unwrap();
    assert_eq!(id.len(), 43);
    assert_eq!(body["expiresAt"], "2026-11-28T13:35:54.000Z");
    // Without phone candidates the journey is bound by a confirmation word,
    // which rides in the hosted page's text-back after the caller's body.
    assert_eq!(body["binding"], "confirmation");
    let word = body["confirmation"].as_str().unwrap();
    assert!(word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()), "{word}");
    assert_eq!(
        body["url"],
        format!(
            "https://sign-in.me/my-agent?pk=pk_test_native&journey={id}&agent_name=Your+Agent&delivery=message\
             &message_line_phone=%2B4155551234&message_body=done+{word}\
             &message_complete_url=https%3A%2F%2Fagent-edge.example%2Fauth%2Fconfigure%2Fcomplete\
             &connectors=gmail%2Ccalendar&theme=dark"
        )
    );
    // Nothing in KV in plain text.
    for (key, value) in h.store.entries() {
        assert!(!key.contains(id) && !value.contains(id) && !value.contains("spectrum:1"), "{key} {value}");
    }
}

#[test]
fn journey_webhook_url_defaults_to_the_request_origin() {
    let h = Harness::new(FakeConfigure::default());
    let request = HttpRequest::new("POST", "http://127.0.0.1:8787/v1/journeys")
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"))
        .with_header("Content-Type", "application/json")
        .with_body(r#"{"subject":"s"}"#);
    let body = json(&h.call(request));
    assert!(body["url"]
        .as_str()
        .unwrap()
        .contains("message_complete_url=http%3A%2F%2F127.0.0.1%3A8787%2Fauth%2Fconfigure%2Fcomplete"));
}

#[test]
fn journey_input_errors_name_the_field() {
    let h = Harness::new(FakeConfigure::default());
    for (body, field) in [
        (r#"{}"#, "subject"),
        (r#"{"subject":"  "}"#, "subject"),
        (r#"{"subject":5}"#, "subject"),
        (r#"{"subject":"s","connectors":[1]}"#, "connectors"),
        (r#"{"subject":"s","theme":"blue"}"#, "theme"),
        (r#"{"subject":"s","messageLinePhone":"12"}"#, "messageLinePhone"),
        (r#"{"subject":"s","displayName":false}"#, "displayName"),
    ] {
        let response = h.call(agent_post("/v1/journeys", body));
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(json(&response)["error"]["field"], field, "{body}");
    }
    let response = h.call(agent_post("/v1/journeys", "{not json"));
    assert_eq!(response.status, 400);
    let wrong_type = agent_post("/v1/journeys", "{}").with_header("Content-Type", "text/plain");
    let mut wrong_type = wrong_type;
    wrong_type.headers.retain(|(k, v)| !(k == "content-type" && v == "application/json"));
    assert_eq!(h.call(wrong_type).status, 415);
    let big = format!(r#"{{"subject":"{}"}}"#, "x".repeat(70_000));
    assert_eq!(h.call(agent_post("/v1/journeys", &big)).status, 413);
    assert!(h.store.entries().is_empty(), "no journey written on bad input");
}

#[test]
fn agent_api_needs_the_bearer_secret() {
    let h = Harness::new(FakeConfigure::default());
    for auth in
        [None, Some("Bearer wrong"), Some(&*format!("Bearer {SECRET}x")), Some(&*format!("Basic {SECRET}"))]
    {
        let mut request = HttpRequest::new("POST", "https://edge.example/v1/journeys")
            .unwrap()
            .with_header("Content-Type", "application/json")
            .with_body(r#"{"subject":"s"}"#);
        if let Some(auth) = auth {
            request = request.with_header("Authorization", auth);
        }
        let response = h.call(request);
        assert_eq!(response.status, 401, "{auth:?}");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
        assert_eq!(json(&response)["error"]["code"], "unauthorized");
    }
    let response = h.call(HttpRequest::new("GET", "https://edge.example/v1/links/s").unwrap());
    assert_eq!(response.status, 401);
}

#[test]
fn completion_links_the_subject_then_replay_is_404() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let journey = create_journey(&h, "space-1");
    let response = h.call(webhook(&completion("tok-1", "user-1", &journey)));
    assert_eq!(response.status, 200);
    assert_eq!(json(&response), serde_json::json!({"ok": true, "linked": true}));
    assert_eq!(response.header("access-control-allow-origin"), Some("https://sign-in.me"));
    assert_eq!(response.header("vary"), Some("Origin"));
    let link = link_of(&h, "space-1");
    assert_eq!(link["token"], "tok-1");
    assert_eq!(link["userId"], "user-1");
    assert_eq!(link["source"], "webhook");
    assert_eq!(link["subject"], "space-1");

    // Replay: 404 and the link unchanged.
    let replay = h.call(webhook(&completion("tok-1", "user-1", &journey)));
    assert_eq!(replay.status, 404);
    assert_eq!(json(&replay)["ok"], false);
    assert_eq!(json(&replay)["linked"], false);
    assert_eq!(link_of(&h, "space-1"), link);

    // No token, subject or journey id in plain text.
    for (key, value) in h.store.entries() {
        for secret in ["tok-1", "space-1", journey.as_str()] {
            assert!(!key.contains(secret) && !value.contains(secret), "{secret} in {key}={value}");
        }
    }
}

#[test]
fn completion_refuses_bad_tokens_with_401() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT).with_token(
        "tok-other",
        "user-1",
        "other-agent",
    ));
    let journey = create_journey(&h, "space-1");
    for body in [
        completion("unknown-token", "user-1", &journey),
        completion("tok-other", "user-1", &journey),
        completion("tok-1", "user-2", &journey),
        format!(r#"{{"token":"tok-1","userId":"user-1","agent":"another","journeyId":"{journey}"}}"#),
    ] {
        let response = h.call(webhook(&body));
        assert_eq!(response.status, 401, "{body}");
        assert_eq!(json(&response)["ok"], false);
        assert_eq!(json(&response)["linked"], false);
    }
    assert_eq!(link_of(&h, "space-1"), Value::Null);
    // The journey is still usable.
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
}

#[test]
fn completion_of_unknown_or_expired_journey_is_404() {
    let h = Harness::with_settings(
        FakeConfigure::default().with_token("tok-1", "user-1", AGENT),
        &[("CONFIGURE_EDGE_JOURNEY_TTL_SECONDS", "30")],
    );
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", "no-such-journey"))).status, 404);
    let journey = create_journey(&h, "space-1");
    h.advance(31_000);
    let response = h.call(webhook(&completion("tok-1", "user-1", &journey)));
    assert_eq!(response.status, 404, "past its own expiresAt even while KV still holds it");
}

#[test]
fn completion_input_errors() {
    let h = Harness::new(FakeConfigure::default());
    let missing = h.call(webhook(r#"{"token":"t","journeyId":"j"}"#));
    assert_eq!(missing.status, 400);
    assert_eq!(json(&missing)["error"]["field"], "userId");
    assert_eq!(json(&missing)["linked"], false);
    let mut plain = webhook("{}");
    plain.headers.retain(|(k, _)| k != "content-type");
    assert_eq!(h.call(plain.with_header("Content-Type", "text/plain")).status, 415);
    let big = format!(r#"{{"token":"{}"}}"#, "t".repeat(20_000));
    assert_eq!(h.call(webhook(&big)).status, 413);
}

#[test]
fn webhook_cors_is_for_the_sign_in_origins_only() {
    let h = Harness::with_settings(
        FakeConfigure::default(),
        &[("CONFIGURE_SIGN_IN_ORIGIN", "https://sign-in.me,http://127.0.0.1:9999")],
    );
    let preflight = |origin: &str| {
        h.call(
            HttpRequest::new("OPTIONS", "https://edge.example/auth/configure/complete")
                .unwrap()
                .with_header("Origin", origin)
                .with_header("Access-Control-Request-Method", "POST")
                .with_header("Access-Control-Request-Headers", "content-type"),
        )
    };
    let ok = preflight("http://127.0.0.1:9999");
    assert_eq!(ok.status, 204);
    assert_eq!(ok.header("access-control-allow-origin"), Some("http://127.0.0.1:9999"));
    assert_eq!(ok.header("access-control-allow-headers"), Some("Content-Type"));
    let refused = preflight("https://evil.example");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(refused.header("vary"), Some("Origin"));
    let mut post = webhook(r#"{"token":"t","userId":"u","journeyId":"j"}"#);
    post.headers.retain(|(k, _)| k != "origin");
    let post = post.with_header("Origin", "https://evil.example");
    assert_eq!(h.call(post).status, 403);
}

#[test]
fn configure_outage_and_kv_failures_lose_nothing() {
    // KV alone: the faults and records here are KV's (tests/ledger_flow.rs
    // has the ledger's).
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT)).without_ledger();
    let journey = create_journey(&h, "space-1");

    for outage in [
        Injected::Transport(TransportError::Network("connection refused".into())),
        Injected::Transport(TransportError::Timeout),
        server_error(),
    ] {
        h.configure().fail_all(outage.clone());
        let response = h.call(webhook(&completion("tok-1", "user-1", &journey)));
        h.configure().heal();
        assert_eq!(response.status, 502, "{outage:?}");
        assert_eq!(json(&response)["linked"], false);
        assert_eq!(response.header("retry-after"), Some("5"));
    }

    h.store.set_faults(Faults { get: true, ..Faults::default() });
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 503);
    h.store.set_faults(Faults { put: true, ..Faults::default() });
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 503);
    assert_eq!(link_of(&h, "space-1"), Value::Null);

    // A failing delete after the link is written: still a success.
    h.store.set_faults(Faults { delete: true, ..Faults::default() });
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    h.store.set_faults(Faults::default());
    assert_eq!(link_of(&h, "space-1")["token"], "tok-1");
    assert!(h.log.0.borrow().iter().any(|w| w.contains("not deleted")));
}

#[test]
fn identity_prefers_the_stored_link_then_phone_then_external_id() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT).with_phone(
        "+14155551234",
        "tok-phone",
        "user-9",
        AGENT,
    ));
    // Nothing known: the fallback.
    let fallback = json(&h.call(agent_post("/v1/identity/resolve", r#"{"subject":"s1"}"#)));
    assert_eq!(
        fallback,
        serde_json::json!({"externalId":"edge:s1","linked":false,"approved":false,"recognized":false,"source":"external_id"})
    );
    // Phone recognition stores an approved token as the subject's link.
    let phone = json(&h.call(agent_post(
        "/v1/identity/resolve",
        r#"{"subject":"s1","externalId":"spectrum:s1","phoneCandidates":[" +14155551234 ","+14155551234",""]}"#,
    )));
    assert_eq!(phone["source"], "phone_recognition");
    assert_eq!(phone["token"], "tok-phone");
    assert_eq!(phone["recognized"], true);
    assert_eq!(phone["displayName"], "Pat");
    assert_eq!(phone["externalId"], "spectrum:s1");
    assert_eq!(
        h.calls().last().unwrap(),
        r#"POST /v1/auth/sign-in/recognize-phone {"candidates":["+14155551234"]}"#
    );
    assert_eq!(link_of(&h, "s1")["source"], "phone_recognition");
    // Then the stored link wins, without a Configure call.
    let calls = h.calls().len();
    let stored = json(&h.call(agent_post("/v1/identity/resolve", r#"{"subject":"s1"}"#)));
    assert_eq!(stored["source"], "token");
    assert_eq!(stored["token"], "tok-phone");
    assert_eq!(h.calls().len(), calls, "the hot path makes no API call");
}

#[test]
fn identity_validates_only_when_asked_and_reports_failed_steps() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let journey = create_journey(&h, "s1");
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);

    let valid = json(&h.call(agent_post("/v1/identity/resolve", r#"{"subject":"s1","validateToken":true}"#)));
    assert_eq!((valid["source"].as_str(), valid["userId"].as_str()), (Some("token"), Some("user-1")));

    h.configure().fail_all(server_error());
    let failed = json(&h.call(agent_post(
        "/v1/identity/resolve",
        r#"{"subject":"s1","validateToken":true,"phoneCandidates":["+14155550000"]}"#,
    )));
    assert_eq!(failed["source"], "external_id");
    assert_eq!(failed["errors"][0]["step"], "token_validation");
    assert_eq!(failed["errors"][0]["code"], "SERVER_ERROR");
    assert_eq!(failed["errors"][1]["step"], "phone_recognition");
    h.configure().heal();
    assert_eq!(link_of(&h, "s1")["token"], "tok-1", "a failed validation keeps the link");
}

#[test]
fn identity_ignores_recognitions_for_another_agent() {
    let h =
        Harness::new(FakeConfigure::default().with_phone("+14155551234", "tok-x", "user-x", "other-agent"));
    let body = json(
        &h.call(agent_post("/v1/identity/resolve", r#"{"subject":"s","phoneCandidates":["+14155551234"]}"#)),
    );
    assert_eq!(body["source"], "external_id");
    assert_eq!(body["errors"][0]["code"], "AGENT_MISMATCH");
    assert_eq!(link_of(&h, "s"), Value::Null);
}

#[test]
fn links_get_and_delete() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    assert_eq!(h.call(agent_get("/v1/links/nobody")).status, 404);
    let journey = create_journey(&h, "a/b c");
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    assert_eq!(link_of(&h, "a%2Fb%20c")["subject"], "a/b c");
    let delete = HttpRequest::new("DELETE", "https://edge.example/v1/links/a%2Fb%20c")
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"));
    assert_eq!(h.call(delete).status, 204);
    assert_eq!(h.call(agent_get("/v1/links/a%2Fb%20c")).status, 404);
}

#[test]
fn missing_settings_answer_503_naming_the_setting() {
    let h = Harness::with_settings(FakeConfigure::default(), &[("CONFIGURE_EDGE_SEALING_KEYS", "")]);
    let response = h.call(agent_post("/v1/journeys", r#"{"subject":"s"}"#));
    assert_eq!(response.status, 503);
    assert!(json(&response)["error"]["message"].as_str().unwrap().contains("CONFIGURE_EDGE_SEALING_KEYS"));
}

#[test]
fn public_routes_are_rate_limited_with_retry_after() {
    let mut h = Harness::new(FakeConfigure::default());
    h.limiter = Some(CountingLimiter { limit: 3, ..Default::default() });
    let from = |ip: &str| {
        webhook(r#"{"token":"t","userId":"u","journeyId":"j"}"#).with_header("CF-Connecting-IP", ip)
    };
    for _ in 0..3 {
        assert_eq!(h.call(from("203.0.113.7")).status, 404);
    }
    let limited = h.call(from("203.0.113.7"));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert_eq!(json(&limited)["linked"], false);
    assert_eq!(limited.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("retry-after")).count(), 1);
    assert_eq!(h.call(from("198.51.100.1")).status, 404, "another client is not limited");
    for _ in 0..3 {
        h.call(HttpRequest::new("GET", "https://edge.example/auth/configure/sign-in?ticket=x").unwrap());
    }
    let page =
        h.call(HttpRequest::new("GET", "https://edge.example/auth/configure/sign-in?ticket=x").unwrap());
    assert_eq!(page.status, 429);
    assert_eq!(page.header("retry-after"), Some("60"));
    // The agent API is not a public route.
    for _ in 0..10 {
        assert_eq!(h.call(agent_get("/v1/links/x")).status, 404);
    }
}

#[test]
fn review_regressions_links_and_upstream_refusals() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    // Without the secret, the path never decides the answer: 401, not 400.
    assert_eq!(h.call(HttpRequest::new("GET", "https://edge.example/v1/links/%FF").unwrap()).status, 401);
    assert_eq!(h.call(agent_get("/v1/links/%FF")).status, 400);
    // Path subjects are trimmed like body subjects.
    let journey = create_journey(&h, "user:1 ");
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    assert_eq!(link_of(&h, "user%3A1%20")["subject"], "user:1");
    let delete = HttpRequest::new("DELETE", "https://edge.example/v1/links/user%3A1%20")
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"));
    assert_eq!(h.call(delete).status, 204);
    assert_eq!(link_of(&h, "user%3A1"), Value::Null);
    // A 404 from Configure (a wrong base URL) is ours to fix: 502, journey kept.
    let journey = create_journey(&h, "s404");
    h.configure().fail_all(Injected::Answer(404, r#"{"error":"no route"}"#.into()));
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 502);
    h.configure().heal();
    // A 405 page (INVALID_INPUT, but not the 400 that refuses the token): 502 too.
    h.configure().fail_all(Injected::Answer(405, "bad gateway page".into()));
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 502);
    h.configure().heal();
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
}

#[test]
fn links_of_another_agent_are_not_served() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let journey = create_journey(&h, "s");
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    let renamed = Harness::with_settings(FakeConfigure::default(), &[("CONFIGURE_AGENT", "other-agent")]);
    for (key, value) in h.store.entries() {
        pollster::block_on(configure_edge::storage::store::Store::put(&renamed.store, &key, &value, None))
            .unwrap();
    }
    assert_eq!(renamed.call(agent_get("/v1/links/s")).status, 404);
    let identity = json(&renamed.call(agent_post("/v1/identity/resolve", r#"{"subject":"s"}"#)));
    assert_eq!(identity["source"], "external_id");
}

/// A bound journey: (journeyId, confirmation word, answer).
fn bound_journey(h: &Harness, body: &str) -> (String, String, Value) {
    let response = h.call(agent_post("/v1/journeys", body));
    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
    let answer = json(&response);
    let id = answer["journeyId"].as_str().unwrap().to_owned();
    let word = answer["confirmation"].as_str().unwrap_or_default().to_owned();
    (id, word, answer)
}

fn resolve(h: &Harness, subject: &str, message_text: &str) -> Value {
    let body = serde_json::json!({ "subject": subject, "messageText": message_text }).to_string();
    let response = h.call(agent_post("/v1/identity/resolve", &body));
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    json(&response)
}

#[test]
fn a_phone_bound_journey_links_only_the_phones_owner() {
    let h = Harness::new(
        FakeConfigure::default()
            .with_token("tok-owner", "user-owner", AGENT)
            .with_token("tok-other", "user-other", AGENT)
            .with_phone("+14155550101", "tok-recognized", "user-owner", AGENT),
    );
    let (journey, word, answer) =
        bound_journey(&h, r#"{"subject":"chat-1","phoneCandidates":[" +14155550101 ","+14155550101"]}"#);
    assert_eq!(answer["binding"], "phone");
    assert_eq!(word.len(), 6, "a phone journey carries the word for its fallback");

    // Completed by another recognized user: 409, nothing stored, journey still usable.
    let other = h.call(webhook(&completion("tok-other", "user-other", &journey)));
    assert_eq!(other.status, 409);
    assert_eq!(json(&other)["ok"], false);
    assert_eq!(json(&other)["linked"], false);
    assert_eq!(json(&other)["error"]["code"], "phone_mismatch");
    assert_eq!(link_of(&h, "chat-1"), Value::Null);
    assert!(!resolve(&h, "chat-1", &format!("done {word}"))["linked"].as_bool().unwrap());
    assert_eq!(
        h.calls().last().unwrap(),
        r#"POST /v1/auth/sign-in/recognize-phone {"candidates":["+14155550101"]}"#
    );

    // Completed by the phone's owner: linked.
    let owner = h.call(webhook(&completion("tok-owner", "user-owner", &journey)));
    assert_eq!(owner.status, 200);
    assert_eq!(json(&owner), serde_json::json!({"ok": true, "linked": true}));
    let link = link_of(&h, "chat-1");
    assert_eq!((link["userId"].as_str(), link["token"].as_str()), (Some("user-owner"), Some("tok-owner")));
    assert_eq!(h.call(webhook(&completion("tok-owner", "user-owner", &journey))).status, 404, "used once");
}

#[test]
fn unrecognized_phones_fall_back_to_the_confirmation_word() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let (journey, word, answer) = bound_journey(
        &h,
        r#"{"subject":"chat-2","phoneCandidates":["+14155550199"],"messageBody":"connected"}"#,
    );
    assert!(answer["url"].as_str().unwrap().contains(&format!("message_body=connected+{word}")));
    let pending = h.call(webhook(&completion("tok-1", "user-1", &journey)));
    assert_eq!(pending.status, 200);
    assert_eq!(json(&pending), serde_json::json!({"ok": true, "linked": false, "pending": true}));
    assert_eq!(link_of(&h, "chat-2"), Value::Null, "pending never shows as linked");
    let confirmed = resolve(&h, "chat-2", &format!("connected {word}"));
    assert_eq!(confirmed["linked"], true);
    assert_eq!(confirmed["source"], "webhook");
    assert_eq!((confirmed["token"].as_str(), confirmed["userId"].as_str()), (Some("tok-1"), Some("user-1")));
    assert_eq!(link_of(&h, "chat-2")["source"], "webhook");
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 404, "journey closed");
}

#[test]
fn a_confirmation_journey_waits_for_the_word_from_the_same_subject() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let (journey, word, answer) = bound_journey(&h, r#"{"subject":"chat-3"}"#);
    assert_eq!(answer["binding"], "confirmation");
    assert!(answer["url"].as_str().unwrap().contains(&format!("message_body=done+{word}")));
    assert_eq!(json(&h.call(webhook(&completion("tok-1", "user-1", &journey))))["pending"], true);

    // Before the word: not linked, however asked.
    assert_eq!(resolve(&h, "chat-3", "hello")["linked"], false);
    // The word from another subject does nothing, for either subject.
    let elsewhere = resolve(&h, "chat-forwarded", &format!("done {word}"));
    assert_eq!(
        (elsewhere["linked"].as_bool(), elsewhere["source"].as_str()),
        (Some(false), Some("external_id"))
    );
    assert_eq!(link_of(&h, "chat-forwarded"), Value::Null);
    assert_eq!(link_of(&h, "chat-3"), Value::Null);
    // A wrong word does nothing, nor does the word inside a longer number.
    let wrong = if word == "000000" { "000001" } else { "000000" };
    assert_eq!(resolve(&h, "chat-3", &format!("done {wrong}"))["linked"], false);
    assert_eq!(resolve(&h, "chat-3", &format!("done 9{word}"))["linked"], false);
    assert_eq!(link_of(&h, "chat-3"), Value::Null);
    // The word from the same subject links it.
    assert_eq!(resolve(&h, "chat-3", &format!("done {word}"))["source"], "webhook");
    assert_eq!(link_of(&h, "chat-3")["userId"], "user-1");
    // Once: the stored link answers from now on.
    assert_eq!(resolve(&h, "chat-3", &format!("done {word}"))["source"], "token");
}

#[test]
fn two_users_completing_one_confirmation_journey_discard_both() {
    let h = Harness::new(
        FakeConfigure::default().with_token("tok-a", "user-a", AGENT).with_token("tok-b", "user-b", AGENT),
    );
    let (journey, word, _) = bound_journey(&h, r#"{"subject":"chat-4"}"#);
    assert_eq!(h.call(webhook(&completion("tok-a", "user-a", &journey))).status, 200);
    // The same user again (a retry) is fine and stays pending.
    assert_eq!(json(&h.call(webhook(&completion("tok-a", "user-a", &journey))))["pending"], true);
    let contested = h.call(webhook(&completion("tok-b", "user-b", &journey)));
    assert_eq!(contested.status, 409);
    assert_eq!(json(&contested)["error"]["code"], "completion_conflict");
    assert_eq!(json(&contested)["linked"], false);
    assert_eq!(resolve(&h, "chat-4", &format!("done {word}"))["linked"], false, "neither can be confirmed");
    assert_eq!(
        h.call(webhook(&completion("tok-a", "user-a", &journey))).status,
        404,
        "the journey is closed"
    );
}

#[test]
fn binding_none_never_replaces_another_users_link() {
    let h = Harness::new(
        FakeConfigure::default().with_token("tok-1", "user-1", AGENT).with_token("tok-2", "user-2", AGENT),
    );
    let first = create_journey(&h, "chat-5");
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &first))).status, 200);
    let second = create_journey(&h, "chat-5");
    let conflict = h.call(webhook(&completion("tok-2", "user-2", &second)));
    assert_eq!(conflict.status, 409);
    assert_eq!(json(&conflict)["error"]["code"], "link_conflict");
    assert_eq!(json(&conflict)["linked"], false);
    assert_eq!(link_of(&h, "chat-5")["token"], "tok-1");
    // The same user linking again (a new token) is not a conflict.
    let h2 = Harness::new(
        FakeConfigure::default().with_token("tok-1", "user-1", AGENT).with_token("tok-1b", "user-1", AGENT),
    );
    let a = create_journey(&h2, "chat-6");
    assert_eq!(h2.call(webhook(&completion("tok-1", "user-1", &a))).status, 200);
    let b = create_journey(&h2, "chat-6");
    assert_eq!(h2.call(webhook(&completion("tok-1b", "user-1", &b))).status, 200);
    assert_eq!(link_of(&h2, "chat-6")["token"], "tok-1b");
    // A journey without binding answers which one it got.
    let (_, word, answer) = bound_journey(&h, r#"{"subject":"chat-7","binding":"none","messageBody":"hi"}"#);
    assert_eq!((answer["binding"].as_str(), word.as_str()), (Some("none"), ""));
    assert!(answer.get("confirmation").is_none());
    assert!(answer["url"].as_str().unwrap().contains("message_body=hi&"));
}

#[test]
fn journey_binding_input_errors() {
    let h = Harness::new(FakeConfigure::default());
    for (body, field) in [
        (r#"{"subject":"s","binding":"sms"}"#, "binding"),
        (r#"{"subject":"s","binding":"phone"}"#, "phoneCandidates"),
        (r#"{"subject":"s","phoneCandidates":5}"#, "phoneCandidates"),
        (r#"{"subject":"s","binding":true}"#, "binding"),
    ] {
        let response = h.call(agent_post("/v1/journeys", body));
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(json(&response)["error"]["field"], field, "{body}");
    }
    assert!(h.store.entries().is_empty());
}

#[test]
fn an_unknown_journey_costs_no_configure_request() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    for journey in ["no-such-journey", "x"] {
        let response = h.call(webhook(&completion("tok-1", "user-1", journey)));
        assert_eq!(response.status, 404);
        let response = h.call(webhook(&completion("not-a-token", "user-1", journey)));
        assert_eq!(response.status, 404, "no token oracle");
    }
    assert!(h.calls().is_empty(), "{:?}", h.calls());
}

#[test]
fn only_approved_agent_tokens_complete() {
    let h = Harness::new(
        FakeConfigure::default()
            .with_token("tok-unapproved", "user-1", AGENT)
            .with_token_meta("tok-unapproved", Some(false), Some("agent"))
            .with_token("tok-access", "user-1", AGENT)
            .with_token_meta("tok-access", Some(true), Some("access"))
            .with_token("tok-plain", "user-1", AGENT)
            .with_token_meta("tok-plain", None, None),
    );
    let journey = create_journey(&h, "chat-8");
    for token in ["tok-unapproved", "tok-access"] {
        let response = h.call(webhook(&completion(token, "user-1", &journey)));
        assert_eq!(response.status, 401, "{token}");
        assert_eq!(json(&response)["linked"], false);
    }
    assert_eq!(link_of(&h, "chat-8"), Value::Null);
    // Without approved or tokenUse in the answer, the token is accepted.
    assert_eq!(h.call(webhook(&completion("tok-plain", "user-1", &journey))).status, 200);
}

#[test]
fn a_pending_completion_survives_faults_until_confirmed() {
    // KV alone: the faults and records here are KV's (tests/ledger_flow.rs
    // has the ledger's).
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT)).without_ledger();
    let (journey, word, _) = bound_journey(&h, r#"{"subject":"chat-9"}"#);
    h.store.set_faults(Faults { put: true, ..Faults::default() });
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 503);
    h.store.set_faults(Faults::default());
    assert_eq!(json(&h.call(webhook(&completion("tok-1", "user-1", &journey))))["pending"], true);
    // The link write fails: 503, and the word still works afterwards.
    h.store.set_faults(Faults { put: true, ..Faults::default() });
    let body = serde_json::json!({ "subject": "chat-9", "messageText": format!("done {word}") }).to_string();
    assert_eq!(h.call(agent_post("/v1/identity/resolve", &body)).status, 503);
    h.store.set_faults(Faults::default());
    assert_eq!(resolve(&h, "chat-9", &format!("done {word}"))["source"], "webhook");
    // Past the journey's expiry a pending completion is gone.
    let short = Harness::with_settings(
        FakeConfigure::default().with_token("tok-1", "user-1", AGENT),
        &[("CONFIGURE_EDGE_JOURNEY_TTL_SECONDS", "30")],
    );
    let (journey, word, _) = bound_journey(&short, r#"{"subject":"chat-10"}"#);
    assert_eq!(short.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    short.advance(31_000);
    assert_eq!(resolve(&short, "chat-10", &format!("done {word}"))["linked"], false);
    // No token, subject or word in plain text while pending.
    let (journey, word, _) = bound_journey(&h, r#"{"subject":"chat-11"}"#);
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    for (key, value) in h.store.entries() {
        for secret in ["tok-1", "chat-11", word.as_str(), journey.as_str()] {
            assert!(!key.contains(secret) && !value.contains(secret), "{secret} in {key}={value}");
        }
    }
}

const NEWER_KEY: &str = "k2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

#[test]
fn every_plain_field_of_a_link_is_authenticated() {
    // KV alone: the faults and records here are KV's (tests/ledger_flow.rs
    // has the ledger's).
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT)).without_ledger();
    let journey = create_journey(&h, "chat-12");
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    let key = configure_edge::storage::records::link_key("chat-12");
    let stored = h.store.entries().into_iter().find(|(k, _)| *k == key).unwrap().1;
    assert!(stored.contains("\"v\":2"), "{stored}");
    for (from, to) in [
        ("\"userId\":\"user-1\"", "\"userId\":\"user-2\""),
        ("\"source\":\"webhook\"", "\"source\":\"callback\""),
        ("\"linkedAt\":\"2026", "\"linkedAt\":\"2025"),
        ("\"v\":2", "\"v\":1"),
    ] {
        let tampered = stored.replace(from, to);
        assert_ne!(tampered, stored, "{from}");
        pollster::block_on(configure_edge::storage::store::Store::put(&h.store, &key, &tampered, None))
            .unwrap();
        assert_eq!(h.call(agent_get("/v1/links/chat-12")).status, 404, "{to}");
    }
    let with_expiry = stored.replacen('{', "{\"expiresAt\":\"2030-01-01T00:00:00.000Z\",", 1);
    pollster::block_on(configure_edge::storage::store::Store::put(&h.store, &key, &with_expiry, None))
        .unwrap();
    assert_eq!(h.call(agent_get("/v1/links/chat-12")).status, 404, "an added expiry");
}

#[test]
fn links_are_resealed_under_the_first_key_so_old_keys_retire() {
    let old = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let journey = create_journey(&old, "chat-13");
    assert_eq!(old.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    // A version-1 link (before the fields were authenticated), as older
    // deploys wrote it: the token bound to the key only.
    let ring = configure_edge::sealing::seal::Keyring::parse(SEALING_KEYS).unwrap();
    let v1_key = configure_edge::storage::records::link_key("chat-14");
    let v1 = serde_json::json!({
        "v": 1, "userId": "user-14", "agent": AGENT, "linkedAt": "2026-01-01T00:00:00.000Z",
        "source": "webhook", "sealedToken": ring.seal(b"tok-14", &v1_key).unwrap(),
    });
    pollster::block_on(configure_edge::storage::store::Store::put(
        &old.store,
        &v1_key,
        &v1.to_string(),
        None,
    ))
    .unwrap();

    let both = format!("{NEWER_KEY},{SEALING_KEYS}");
    let rotated = Harness::with_settings(FakeConfigure::default(), &[("CONFIGURE_EDGE_SEALING_KEYS", &both)]);
    for (key, value) in old.store.entries() {
        pollster::block_on(configure_edge::storage::store::Store::put(&rotated.store, &key, &value, None))
            .unwrap();
    }
    assert_eq!(link_of(&rotated, "chat-13")["token"], "tok-1");
    let identity = json(&rotated.call(agent_post("/v1/identity/resolve", r#"{"subject":"chat-14"}"#)));
    assert_eq!((identity["token"].as_str(), identity["userId"].as_str()), (Some("tok-14"), Some("user-14")));
    for (key, value) in rotated.store.entries().into_iter().filter(|(k, _)| k.starts_with("link:")) {
        assert!(value.contains("\"v\":2") && value.contains("\"sealedToken\":\"k2."), "{key}={value}");
    }

    // The old key retired: both links still read.
    let retired =
        Harness::with_settings(FakeConfigure::default(), &[("CONFIGURE_EDGE_SEALING_KEYS", NEWER_KEY)]);
    for (key, value) in rotated.store.entries() {
        pollster::block_on(configure_edge::storage::store::Store::put(&retired.store, &key, &value, None))
            .unwrap();
    }
    assert_eq!(link_of(&retired, "chat-13")["token"], "tok-1");
    assert_eq!(link_of(&retired, "chat-14")["token"], "tok-14");
    assert_eq!(link_of(&retired, "chat-14")["linkedAt"], "2026-01-01T00:00:00.000Z", "kept as it was");
}

#[test]
fn another_users_completion_of_any_journey_of_the_conversation_is_a_conflict() {
    let h = Harness::new(
        FakeConfigure::default().with_token("tok-alice", "alice", AGENT).with_token("tok-eve", "eve", AGENT),
    );
    // Two journeys for one conversation: the older one leaked.
    let (leaked, leaked_word, _) = bound_journey(&h, r#"{"subject":"chat-15"}"#);
    let (fresh, fresh_word, _) = bound_journey(&h, r#"{"subject":"chat-15"}"#);
    assert_eq!(json(&h.call(webhook(&completion("tok-alice", "alice", &fresh))))["pending"], true);
    let contested = h.call(webhook(&completion("tok-eve", "eve", &leaked)));
    assert_eq!(contested.status, 409);
    assert_eq!(json(&contested)["error"]["code"], "completion_conflict");
    for word in [&leaked_word, &fresh_word] {
        assert_eq!(resolve(&h, "chat-15", &format!("done {word}"))["linked"], false);
    }
    assert_eq!(link_of(&h, "chat-15"), Value::Null);
    for journey in [&leaked, &fresh] {
        assert_eq!(h.call(webhook(&completion("tok-alice", "alice", journey))).status, 404, "both closed");
    }
}

#[test]
fn a_pending_completion_dies_with_its_journey() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let (journey, word, _) = bound_journey(&h, r#"{"subject":"chat-16"}"#);
    assert_eq!(json(&h.call(webhook(&completion("tok-1", "user-1", &journey))))["pending"], true);
    // The journey is gone (closed elsewhere) while its pending item is still there.
    let journey_key = configure_edge::storage::records::journey_key(&journey);
    pollster::block_on(configure_edge::storage::store::Store::delete(&h.store, &journey_key)).unwrap();
    assert_eq!(resolve(&h, "chat-16", &format!("done {word}"))["linked"], false);
    assert_eq!(link_of(&h, "chat-16"), Value::Null);
    let pending_key = configure_edge::storage::records::pending_key("chat-16");
    assert!(h.store.entries().iter().all(|(k, _)| *k != pending_key), "the stale item is discarded");
}

#[test]
fn concurrent_completions_of_one_journey_link_once() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let journey = create_journey(&h, "race-1");
    let before = h.calls().len();
    let answers = h.call_all((0..200).map(|_| webhook(&completion("tok-1", "user-1", &journey))).collect());
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 404).count(), 199);
    assert_eq!(h.calls().len() - before, 1, "one validation reached Configure: {:?}", h.calls());
    assert_eq!(link_of(&h, "race-1")["userId"], "user-1");
    // A replay later: still the replay's answer.
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 404);
}

#[test]
fn a_failed_completion_gives_its_journey_back_and_a_completion_is_resolved_at_once() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let journey = create_journey(&h, "space-2");
    h.configure().fail_all(server_error());
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 502);
    h.configure().heal();
    h.ledger().fail.set(true);
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 503, "ledger down");
    h.ledger().fail.set(false);
    // The KV copy of the link cannot be written: the ledger's is the link,
    // and the next resolve reads it (read-your-writes).
    h.store.set_faults(Faults { put: true, ..Faults::default() });
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    let resolved = resolve(&h, "space-2", "hello");
    assert_eq!((resolved["linked"].clone(), resolved["token"].clone()), (Value::Bool(true), "tok-1".into()));
    h.store.set_faults(Faults::default());
    assert!(h.log.0.borrow().iter().any(|l| l.contains("KV copy")), "{:?}", h.log.0.borrow());
    // Deleted: a tombstone, so a stale KV copy is never read back.
    let key = configure_edge::storage::records::link_key("space-2");
    let stale = serde_json::to_string(&h.ledger().value(&key)).unwrap();
    assert_eq!(
        h.call(
            HttpRequest::new("DELETE", "https://edge.example/v1/links/space-2")
                .unwrap()
                .with_header("Authorization", &format!("Bearer {SECRET}"))
        )
        .status,
        204
    );
    let stale: String = serde_json::from_str(&stale).unwrap();
    pollster::block_on(configure_edge::storage::store::Store::put(&h.store, &key, &stale, None)).unwrap();
    assert_eq!(link_of(&h, "space-2"), Value::Null);
}

#[test]
fn links_written_on_kv_alone_are_adopted_by_the_ledger() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT)).without_ledger();
    let journey = create_journey(&h, "old-1");
    assert_eq!(h.call(webhook(&completion("tok-1", "user-1", &journey))).status, 200);
    let key = configure_edge::storage::records::link_key("old-1");
    let mut h = h;
    h.ledger = Some(MemoryLedger::new());
    assert_eq!(link_of(&h, "old-1")["token"], "tok-1");
    assert!(h.ledger().value(&key).is_some(), "adopted");
}

#[test]
fn concurrent_confirmations_link_once() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-1", "user-1", AGENT));
    let (journey, word, _) = bound_journey(&h, r#"{"subject":"chat-race"}"#);
    assert_eq!(json(&h.call(webhook(&completion("tok-1", "user-1", &journey))))["pending"], true);
    let body =
        serde_json::json!({ "subject": "chat-race", "messageText": format!("done {word}") }).to_string();
    let answers = h.call_all((0..20).map(|_| agent_post("/v1/identity/resolve", &body)).collect());
    let sources: Vec<String> =
        answers.iter().map(|a| json(a)["source"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(sources.iter().filter(|s| *s == "webhook").count(), 1, "{sources:?}");
    assert_eq!(link_of(&h, "chat-race")["userId"], "user-1");
}

/// A contest is final: the earlier journey is spent in the ledger, so a
/// location whose KV still serves the deleted pending completion and
/// journey cannot confirm the forwarder's completion with the owner's word.
#[test]
fn a_contest_is_final_even_where_kv_is_stale() {
    let h = Harness::new(FakeConfigure::default().with_token("tok-eve", "eve", AGENT).with_token(
        "tok-owner",
        "owner",
        AGENT,
    ));
    let (journey, word, _) = bound_journey(&h, r#"{"subject":"chat-x"}"#);
    assert_eq!(json(&h.call(webhook(&completion("tok-eve", "eve", &journey))))["pending"], true);
    let stale = h.store.entries();
    assert_eq!(h.call(webhook(&completion("tok-owner", "owner", &journey))).status, 409);
    for (k, v) in stale {
        pollster::block_on(configure_edge::storage::store::Store::put(&h.store, &k, &v, None)).unwrap();
    }
    assert_eq!(resolve(&h, "chat-x", &format!("done {word}"))["linked"], false);
    assert_eq!(h.call(webhook(&completion("tok-eve", "eve", &journey))).status, 404, "nor completed again");
}

/// `binding: "none"` never replaces another user's link, even when two
/// users complete two journeys of one subject at once.
#[test]
fn binding_none_is_checked_and_written_in_one_step() {
    let h = Harness::new(
        FakeConfigure::default().with_token("tok-a", "user-a", AGENT).with_token("tok-b", "user-b", AGENT),
    );
    h.configure().answer_yields.set(1);
    let j1 = create_journey(&h, "none-race");
    let j2 = create_journey(&h, "none-race");
    let answers = h.call_all(vec![
        webhook(&completion("tok-a", "user-a", &j1)),
        webhook(&completion("tok-b", "user-b", &j2)),
    ]);
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409]);
}
