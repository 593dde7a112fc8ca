//! The web flow natively: sign-ins → ticket → state cookie + redirect →
//! callback → link → redirect, every failure, and no open redirect across
//! generated inputs.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use configure_edge::api::TransportError;
use configure_edge::{HttpRequest, HttpResponse};
use support::*;

const APP: &str = "https://app.example";
/// Registering the callback as a return destination.
const ALLOW_CALLBACK: &str = r#"POST /v1/auth/sign-in/return-destinations {"return_to":"https://edge.example/api/configure/callback"}"#;

fn harness(api: FakeConfigure) -> Harness {
    Harness::with_settings(
        api,
        &[
            ("ALLOWED_RETURN_ORIGINS", APP),
            ("PUBLIC_URL", "https://edge.example"),
            ("CONFIGURE_EDGE_DISPLAY_NAME", "Your App"),
            ("CONFIGURE_EDGE_CONNECTORS", "gmail, calendar"),
            ("CONFIGURE_EDGE_THEME", "light"),
        ],
    )
}

fn sign_ins(h: &Harness, body: &str) -> HttpResponse {
    h.call(agent_post("/v1/sign-ins", body))
}

/// A ticket URL for `subject`; `None` returns to the app's default page.
fn ticket_url(h: &Harness, subject: &str, return_after: Option<&str>) -> String {
    let r = return_after.unwrap_or("https://app.example/connected");
    let body = format!(r#"{{"subject":"{subject}","returnAfter":"{r}"}}"#);
    let response = sign_ins(h, &body);
    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
    json(&response)["url"].as_str().unwrap().to_owned()
}

fn get(url: &str, cookie: Option<&str>) -> HttpRequest {
    let request = HttpRequest::new("GET", url).unwrap();
    match cookie {
        Some(c) => request.with_header("Cookie", &format!("__Host-configure-edge-state={c}")),
        None => request,
    }
}

/// Follows the ticket URL: (state from the cookie, Location).
fn start(h: &Harness, ticket: &str) -> (String, String) {
    let response = h.call(get(ticket, None));
    assert_eq!(response.status, 302, "{}", String::from_utf8_lossy(&response.body));
    let cookie = response.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("__Host-configure-edge-state="));
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/")
    );
    let state = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    (state, response.header("location").unwrap().to_owned())
}

fn callback(h: &Harness, query: &str, cookie: Option<&str>) -> HttpResponse {
    h.call(get(&format!("https://edge.example/api/configure/callback?{query}"), cookie))
}

/// The redeem code in a callback's Location (`configure_code`).
fn redeem_code(response: &HttpResponse) -> String {
    let location = response.header("location").unwrap();
    let url = url::Url::parse(location).unwrap();
    let codes: Vec<String> =
        url.query_pairs().filter(|(k, _)| k == "configure_code").map(|(_, v)| v.into_owned()).collect();
    assert_eq!(codes.len(), 1, "{location}");
    codes[0].clone()
}

fn redeem(h: &Harness, code: &str, subject: &str) -> HttpResponse {
    let body = serde_json::json!({ "code": code, "subject": subject }).to_string();
    h.call(agent_post("/v1/sign-ins/redeem", &body))
}

/// A whole sign-in for `subject` up to the callback: the redeem code.
fn signed_in(h: &Harness, subject: &str, code: &str) -> String {
    let (state, _) = start(h, &ticket_url(h, subject, None));
    let done = callback(h, &format!("code={code}&state={state}"), Some(&state));
    assert_eq!(done.status, 302, "{}", String::from_utf8_lossy(&done.body));
    redeem_code(&done)
}

fn clears_cookie(response: &HttpResponse) -> bool {
    response.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.contains("Max-Age=0"))
}

#[test]
fn the_whole_flow() {
    let h = harness(FakeConfigure::default().with_code("cfgsic_1", "tok-web", "user-7", AGENT));
    let ticket = ticket_url(&h, "app-user-1", Some("https://app.example/settings?tab=ai"));
    assert!(ticket.starts_with("https://edge.example/auth/configure/sign-in?ticket="));
    let (state, location) = start(&h, &ticket);
    assert_eq!(
        location,
        format!(
            "https://sign-in.me/my-agent?pk=pk_test_native\
             &return_to=https%3A%2F%2Fedge.example%2Fapi%2Fconfigure%2Fcallback&state={state}\
             &agent_name=Your+App&connectors=gmail%2Ccalendar&theme=light"
        )
    );
    assert!(h.calls().iter().any(|c| c == ALLOW_CALLBACK));

    let done = callback(&h, &format!("code=cfgsic_1&state={state}"), Some(&state));
    assert_eq!(done.status, 302, "{}", String::from_utf8_lossy(&done.body));
    let code = redeem_code(&done);
    assert_eq!(code.len(), 43);
    assert_eq!(
        done.header("location").unwrap(),
        format!("https://app.example/settings?tab=ai&configure_code={code}")
    );
    assert!(clears_cookie(&done));
    // The callback links nothing: the app redeems in its own session.
    assert_eq!(h.call(agent_get("/v1/links/app-user-1")).status, 404);
    let redeemed = redeem(&h, &code, "app-user-1");
    assert_eq!(redeemed.status, 200, "{}", String::from_utf8_lossy(&redeemed.body));
    assert_eq!(
        json(&redeemed),
        serde_json::json!({"subject": "app-user-1", "userId": "user-7", "linked": true, "source": "callback"})
    );
    let link = json(&h.call(agent_get("/v1/links/app-user-1")));
    assert_eq!(
        (link["token"].as_str(), link["userId"].as_str(), link["source"].as_str()),
        (Some("tok-web"), Some("user-7"), Some("callback"))
    );

    // Replayed redeem: the code is used.
    assert_eq!(redeem(&h, &code, "app-user-1").status, 404);
    // No token, subject, code or state in plain text.
    for (key, value) in h.store.entries() {
        for secret in ["tok-web", "app-user-1", code.as_str(), state.as_str()] {
            assert!(!key.contains(secret) && !value.contains(secret), "{secret} in {key}={value}");
        }
    }

    // Replayed callback: the state is used.
    let replay = callback(&h, &format!("code=cfgsic_1&state={state}"), Some(&state));
    assert_eq!(replay.status, 400);
    assert!(clears_cookie(&replay));
    // A used ticket cannot start again.
    assert_eq!(h.call(get(&ticket, None)).status, 400);
}

#[test]
fn sign_ins_need_a_return_after_the_app_redeems_at() {
    let h = harness(FakeConfigure::default());
    for body in [
        r#"{"subject":"s"}"#,
        r#"{"subject":"s","returnAfter":""}"#,
        r#"{"subject":"s","returnAfter":null}"#,
        r#"{"subject":"s","returnAfter":"https://app.example//evil.example/x"}"#,
        r#"{"subject":"s","returnAfter":"https://app.example//"}"#,
    ] {
        let response = sign_ins(&h, body);
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(json(&response)["error"]["field"], "returnAfter", "{body}");
    }
    assert!(h.store.entries().is_empty());
}

#[test]
fn a_forwarded_ticket_links_nobody() {
    // Subject A's ticket, opened in someone else's browser: the callback
    // lands in that person's session, whose subject is B.
    let h = harness(
        FakeConfigure::default()
            .with_code("c1", "tok-victim", "user-victim", AGENT)
            .with_code("c2", "tok-a", "user-a", AGENT),
    );
    let code = signed_in(&h, "user:A", "c1");
    let mismatch = redeem(&h, &code, "user:B");
    assert_eq!(mismatch.status, 409);
    assert_eq!(json(&mismatch)["ok"], false);
    assert_eq!(json(&mismatch)["error"]["code"], "subject_mismatch");
    for subject in ["user%3AA", "user%3AB"] {
        assert_eq!(h.call(agent_get(&format!("/v1/links/{subject}"))).status, 404, "{subject}");
    }
    // Discarded: the same code with A is 404 now.
    let after = redeem(&h, &code, "user:A");
    assert_eq!(after.status, 404);
    assert_eq!(json(&after)["error"]["code"], "code_not_found");
    assert_eq!(h.call(agent_get("/v1/links/user%3AA")).status, 404);

    // A fresh sign-in redeemed by A's own session links A.
    let code = signed_in(&h, "user:A", "c2");
    assert_eq!(redeem(&h, &code, "user:A").status, 200);
    assert_eq!(json(&h.call(agent_get("/v1/links/user%3AA")))["userId"], "user-a");
    assert_eq!(redeem(&h, &code, "user:A").status, 404, "replay");
    // Unknown codes and bad input.
    assert_eq!(redeem(&h, "no-such-code", "user:A").status, 404);
    let missing = h.call(agent_post("/v1/sign-ins/redeem", r#"{"subject":"user:A"}"#));
    assert_eq!((missing.status, json(&missing)["error"]["field"].as_str()), (400, Some("code")));
}

#[test]
fn redeem_codes_expire_and_survive_kv_faults() {
    let h = Harness::with_settings(
        FakeConfigure::default().with_code("c1", "t1", "u1", AGENT).with_code("c2", "t2", "u2", AGENT),
        &[
            ("ALLOWED_RETURN_ORIGINS", APP),
            ("PUBLIC_URL", "https://edge.example"),
            ("CONFIGURE_EDGE_REDEEM_TTL_SECONDS", "30"),
        ],
    )
    .without_ledger();
    let code = signed_in(&h, "s", "c1");
    h.advance(31_000);
    assert_eq!(redeem(&h, &code, "s").status, 404, "past its own expiresAt even while KV still holds it");

    let code = signed_in(&h, "s", "c2");
    h.store.set_faults(Faults { put: true, ..Faults::default() });
    assert_eq!(redeem(&h, &code, "s").status, 503);
    h.store.set_faults(Faults { get: true, ..Faults::default() });
    assert_eq!(redeem(&h, &code, "s").status, 503);
    h.store.set_faults(Faults::default());
    assert_eq!(redeem(&h, &code, "s").status, 200, "the code still works once KV is back");
    // A mismatch whose discard fails is not a 409 that left the code
    // usable: on KV alone it is a 503 (the code stays for the retry) ...
    let h = harness(FakeConfigure::default().with_code("c3", "t3", "u3", AGENT)).without_ledger();
    let code = signed_in(&h, "s", "c3");
    h.store.set_faults(Faults { delete: true, ..Faults::default() });
    assert_eq!(redeem(&h, &code, "other").status, 503);
    h.store.set_faults(Faults::default());
    assert_eq!(redeem(&h, &code, "other").status, 409);
    assert_eq!(redeem(&h, &code, "s").status, 404);
    // ... and with the ledger a 409 all the same: the spent claim refuses
    // the code from then on, whatever KV still holds.
    let h = harness(FakeConfigure::default().with_code("c4", "t4", "u4", AGENT));
    let code = signed_in(&h, "s", "c4");
    h.store.set_faults(Faults { delete: true, ..Faults::default() });
    assert_eq!(redeem(&h, &code, "other").status, 409);
    h.store.set_faults(Faults::default());
    assert_eq!(redeem(&h, &code, "s").status, 404);
}

#[test]
fn the_callback_refuses_unapproved_tokens_and_retired_return_addresses() {
    let api = FakeConfigure::default()
        .with_code("c1", "tok-unapproved", "u1", AGENT)
        .with_code("c2", "tok-2", "u2", AGENT);
    let api = api.with_token_meta("tok-unapproved", Some(false), Some("agent"));
    let h = harness(api);
    let (state, _) = start(&h, &ticket_url(&h, "s", None));
    let refused = callback(&h, &format!("code=c1&state={state}"), Some(&state));
    assert_eq!(refused.status, 401);
    assert!(refused.header("location").is_none());
    assert!(!h.store.entries().iter().any(|(k, _)| k.starts_with("redeem:")));

    // The allowlist changed since the ticket: stopped before the code is spent.
    let (state, _) = start(&h, &ticket_url(&h, "s", None));
    let narrowed = Harness::with_settings(
        FakeConfigure::default().with_code("c2", "tok-2", "u2", AGENT),
        &[("ALLOWED_RETURN_ORIGINS", "https://other.example"), ("PUBLIC_URL", "https://edge.example")],
    );
    for (key, value) in h.store.entries() {
        pollster::block_on(configure_edge::storage::store::Store::put(&narrowed.store, &key, &value, None))
            .unwrap();
    }
    let stopped = callback(&narrowed, &format!("code=c2&state={state}"), Some(&state));
    assert_eq!(stopped.status, 400);
    assert!(narrowed.calls().iter().all(|c| !c.starts_with("POST /v1/auth/sign-in/exchange")));
}

#[test]
fn registration_happens_once_per_deploy_and_is_retried_while_failing() {
    let h = harness(FakeConfigure::default());
    h.configure().fail_all(server_error());
    let (_, location) = start(&h, &ticket_url(&h, "s", None));
    assert!(location.starts_with("https://sign-in.me/"), "a failing registration does not block sign-in");
    h.configure().heal();
    start(&h, &ticket_url(&h, "s", None));
    start(&h, &ticket_url(&h, "s", None));
    let allows = h.calls().iter().filter(|c| *c == ALLOW_CALLBACK).count();
    assert_eq!(allows, 2, "failed once, registered once, then remembered");
}

#[test]
fn setup_reports_registered_and_failed() {
    let h = harness(FakeConfigure::default());
    let ok = json(&h.call(agent_post("/v1/setup", "")));
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["registered"][0]["url"], "https://edge.example/api/configure/callback");
    h.configure().fail_all(error_answer(401, "authentication_error", "invalid_api_key", "injected"));
    let failed = json(&h.call(agent_post("/v1/setup", "")));
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["failed"][0]["code"], "AUTH_REQUIRED");
    let mut no_auth = agent_post("/v1/setup", "");
    no_auth.headers.retain(|(k, _)| k != "authorization");
    assert_eq!(h.call(no_auth).status, 401);
}

#[test]
fn each_failure() {
    let h = harness(FakeConfigure::default().with_code("good", "t", "u", AGENT).with_code(
        "other",
        "t2",
        "u2",
        "other-agent",
    ));
    // returnAfter off the allowlist.
    for bad in ["https://evil.example/x", "http://app.example/x", "/relative", "javascript:alert(1)"] {
        let response = sign_ins(&h, &format!(r#"{{"subject":"s","returnAfter":"{bad}"}}"#));
        assert_eq!(response.status, 400, "{bad}");
        assert_eq!(json(&response)["error"]["field"], "returnAfter");
    }
    // Bad ticket.
    for url in [
        "https://edge.example/auth/configure/sign-in",
        "https://edge.example/auth/configure/sign-in?ticket=nope",
    ] {
        let page = h.call(get(url, None));
        assert_eq!(page.status, 400);
        assert!(page.header("content-type").unwrap().starts_with("text/html"));
    }
    let (state, _) = start(&h, &ticket_url(&h, "s", Some("https://app.example/")));
    // Missing code.
    let r = callback(&h, &format!("state={state}"), Some(&state));
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("Missing sign-in code."));
    // State without the cookie, with another cookie, unknown state.
    for (query, cookie) in [
        (format!("code=good&state={state}"), None),
        (format!("code=good&state={state}"), Some("someone-elses")),
        ("code=good&state=unknown".to_owned(), Some("unknown")),
        ("code=good".to_owned(), Some(state.as_str())),
    ] {
        let r = callback(&h, &query, cookie);
        assert_eq!(r.status, 400, "{query} {cookie:?}");
        assert!(String::from_utf8_lossy(&r.body).contains("Invalid sign-in state."));
        assert!(clears_cookie(&r));
    }
    // Exchange failures: an unknown code, another agent's answer, an outage.
    assert_eq!(callback(&h, &format!("code=bad&state={state}"), Some(&state)).status, 502);
    assert_eq!(callback(&h, &format!("code=other&state={state}"), Some(&state)).status, 502);
    h.configure().fail_all(Injected::Transport(TransportError::Network("injected".into())));
    let outage = callback(&h, &format!("code=good&state={state}"), Some(&state));
    assert_eq!(outage.status, 502);
    let text = String::from_utf8_lossy(&outage.body).to_string();
    assert!(!text.contains("injected") && !text.contains("NETWORK"), "no internals on the page");
    h.configure().heal();
    // An error= return: a fixed text, nothing of the caller's description.
    let cancelled = callback(
        &h,
        &format!(
            "error=access_denied&error_description=%3Cscript%3ECall+0800-SCAM%3C%2Fscript%3E&state={state}"
        ),
        Some(&state),
    );
    assert_eq!(cancelled.status, 400);
    let text = String::from_utf8_lossy(&cancelled.body).to_string();
    assert!(!text.contains("script") && !text.contains("0800") && !text.contains("SCAM"), "{text}");
    assert!(text.contains("declined"));
    assert_eq!(h.call(agent_get("/v1/links/s")).status, 404, "no failure stored a link");
}

#[test]
fn expired_state_is_invalid() {
    let h = Harness::with_settings(
        FakeConfigure::default().with_code("c", "t", "u", AGENT),
        &[
            ("CONFIGURE_EDGE_STATE_TTL_SECONDS", "5"),
            ("PUBLIC_URL", "https://edge.example"),
            ("ALLOWED_RETURN_ORIGINS", APP),
        ],
    );
    let (state, _) = start(&h, &ticket_url(&h, "s", None));
    h.advance(6_000);
    assert_eq!(callback(&h, &format!("code=c&state={state}"), Some(&state)).status, 400);
}

/// Redirects go only to the hosted origin, an allowlisted returnAfter, or the Worker's pages.
#[test]
fn no_open_redirect_across_generated_inputs() {
    let h = harness(FakeConfigure::default());
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces = [
        "https://app.example",
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://app.example@evil.example",
        "https://app.example.evil.example",
        "javascript:alert(1)",
        "data:text/html,x",
        "http://app.example",
        "https://APP.example",
        "https://app.example:443",
        "https://app.example:444",
        "%2F%2Fevil.example",
        "\\\\evil",
        "/x",
        "?q=1",
        "#f",
        "/../..",
        "%0d%0aLocation:%20https://evil.example",
        " https://evil.example",
    ];
    let mut accepted = 0;
    for _ in 0..2000 {
        let n = 1 + (next() % 3) as usize;
        let candidate: String = (0..n).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect();
        let body = serde_json::json!({ "subject": "s", "returnAfter": candidate }).to_string();
        let response = sign_ins(&h, &body);
        if response.status != 201 {
            assert_eq!(response.status, 400, "{candidate}");
            continue;
        }
        accepted += 1;
        let code = format!("code-{}", next());
        h.configure().codes.borrow_mut().insert(code.clone(), ("t".into(), "u".into(), AGENT.into()));
        let ticket = json(&response)["url"].as_str().unwrap().to_owned();
        let (state, hosted) = start(&h, &ticket);
        assert!(hosted.starts_with("https://sign-in.me/my-agent?"), "{hosted}");
        let done = callback(&h, &format!("code={code}&state={state}"), Some(&state));
        let location = done.header("location").unwrap();
        let target = url::Url::parse(location).unwrap();
        let origin = target.origin().ascii_serialization();
        assert!(origin == APP && !target.path().starts_with("//"), "{candidate} -> {location}");
    }
    assert!(accepted > 50, "the generator reaches the redirect ({accepted})");
}

#[test]
fn review_regressions_ticket_kept_on_failed_state_write_and_limited_callback_clears_cookie() {
    let h = harness(FakeConfigure::default());
    let ticket = ticket_url(&h, "s", None);
    h.store.set_faults(Faults { put: true, ..Faults::default() });
    assert_eq!(h.call(get(&ticket, None)).status, 503);
    h.store.set_faults(Faults::default());
    start(&h, &ticket); // the ticket still works once KV is back

    let mut limited = harness(FakeConfigure::default());
    limited.limiter = Some(CountingLimiter { limit: 0, ..Default::default() });
    let response = callback(&limited, "code=c&state=s", Some("s"));
    assert_eq!(response.status, 429);
    assert!(clears_cookie(&response), "every callback answer clears the cookie, 429 included");
}

#[test]
fn concurrent_callbacks_exchange_once_and_concurrent_redeems_link_once() {
    let h = harness(FakeConfigure::default().with_code("c-race", "tok-r", "user-r", AGENT));
    let (state, _) = start(&h, &ticket_url(&h, "racer", None));
    let url = format!("https://edge.example/api/configure/callback?code=c-race&state={state}");
    let answers = h.call_all((0..100).map(|_| get(&url, Some(&state))).collect());
    let exchanges = h.calls().iter().filter(|c| c.contains("exchange")).count();
    assert_eq!(exchanges, 1, "{:?}", h.calls());
    let done: Vec<&HttpResponse> = answers.iter().filter(|a| a.status == 302).collect();
    assert_eq!(done.len(), 1);
    assert!(answers.iter().filter(|a| a.status != 302).all(|a| a.status == 400));
    let code = redeem_code(done[0]);
    let body = serde_json::json!({ "code": code, "subject": "racer" }).to_string();
    let redeems = h.call_all((0..100).map(|_| agent_post("/v1/sign-ins/redeem", &body)).collect());
    assert_eq!(redeems.iter().filter(|r| r.status == 200).count(), 1);
    assert_eq!(redeems.iter().filter(|r| r.status == 404).count(), 99);
    // One ticket, used concurrently: one state.
    let ticket = ticket_url(&h, "racer-2", None);
    let starts = h.call_all((0..20).map(|_| get(&ticket, None)).collect());
    assert_eq!(starts.iter().filter(|s| s.status == 302).count(), 1);
}

#[test]
fn a_failed_exchange_gives_the_state_back() {
    let h = harness(FakeConfigure::default().with_code("c1", "tok-1", "user-1", AGENT));
    let (state, _) = start(&h, &ticket_url(&h, "retry", None));
    h.configure().fail_all(server_error());
    assert_eq!(callback(&h, &format!("code=c1&state={state}"), Some(&state)).status, 502);
    h.configure().heal();
    assert_eq!(callback(&h, &format!("code=c1&state={state}"), Some(&state)).status, 302);
    assert_eq!(callback(&h, &format!("code=c1&state={state}"), Some(&state)).status, 400, "spent");
}
