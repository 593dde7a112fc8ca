//! "Continue with Configure" natively: login → authorize redirect (PKCE) →
//! callback → link + session cookie → /auth/configure/session → logout, and
//! every failure: state or cookie mismatch, replay, token errors, inactive
//! introspection, returnAfter off the allowlist, tampered or expired
//! sessions, cross-site logout, and the redirect-URI registration's reasons.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use configure_edge::{HttpRequest, HttpResponse};
use serde_json::json;
use std::collections::BTreeMap;
use support::*;

const APP: &str = "https://app.example";
const EDGE: &str = "https://edge.example";
const CLIENT_ID: &str = OAUTH_CLIENT_ID;
const SESSION_KEYS: &str = "s1:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
const REDIRECT_URI: &str = "https://edge.example/auth/configure/oauth/callback";
/// The redirect-URI registration and the token request, as request lines begin.
const REGISTER: &str = "PATCH /v1/developer/oauth/clients/cfg_client_1 ";
const TOKEN: &str = "POST /oauth/token ";

fn harness_with(api: FakeConfigure, extra: &[(&str, &str)]) -> Harness {
    let mut settings = vec![
        ("ALLOWED_RETURN_ORIGINS", APP),
        ("PUBLIC_URL", EDGE),
        ("CONFIGURE_OAUTH_CLIENT_ID", CLIENT_ID),
        ("CONFIGURE_OAUTH_CLIENT_SECRET", OAUTH_CLIENT_SECRET),
        ("CONFIGURE_EDGE_SESSION_KEYS", SESSION_KEYS),
    ];
    settings.extend_from_slice(extra);
    Harness::with_settings(api, &settings)
}

fn harness() -> Harness {
    harness_with(FakeConfigure::default(), &[])
}

fn get(url: &str, cookies: &[(&str, &str)]) -> HttpRequest {
    let request = HttpRequest::new("GET", url).unwrap();
    if cookies.is_empty() {
        return request;
    }
    let header = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    request.with_header("Cookie", &header)
}

fn set_cookies(response: &HttpResponse) -> Vec<String> {
    response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.clone())
        .collect()
}

/// The value a `Set-Cookie` of `name` sets (None when absent or cleared).
fn cookie_set(response: &HttpResponse, name: &str) -> Option<String> {
    set_cookies(response).into_iter().filter(|c| !c.contains("Max-Age=0")).find_map(|c| {
        c.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap().to_owned())
    })
}

fn clears(response: &HttpResponse, name: &str) -> bool {
    set_cookies(response).iter().any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
}

fn query(url: &str) -> BTreeMap<String, String> {
    let query = url.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

const OAUTH_COOKIE: &str = "__Host-configure-edge-oauth";
const SESSION_COOKIE: &str = "__Host-configure-edge-session";

/// Starts a login: (the sealed login cookie, the authorize URL's parameters;
/// its `state` is what the callback must bring back).
fn login(h: &Harness, return_after: Option<&str>) -> (String, BTreeMap<String, String>) {
    let url = match return_after {
        Some(r) => format!(
            "{EDGE}/auth/configure/login?returnAfter={}",
            form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
        ),
        None => format!("{EDGE}/auth/configure/login"),
    };
    let response = h.call(get(&url, &[]));
    assert_eq!(response.status, 302, "{}", String::from_utf8_lossy(&response.body));
    let cookie = set_cookies(&response).into_iter().find(|c| c.starts_with(OAUTH_COOKIE)).unwrap();
    for part in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let sealed = cookie_set(&response, OAUTH_COOKIE).unwrap();
    let location = response.header("location").unwrap();
    assert!(location.starts_with("https://accounts.configure.dev/oauth/authorize?"), "{location}");
    let params = query(location);
    assert!(!sealed.contains(&params["state"]), "the state is sealed in the cookie");
    (sealed, params)
}

/// Plays the authorization server: a code bound to the login's
/// authorization request (client, redirect URI, challenge, resource).
fn authorize(h: &Harness, params: &BTreeMap<String, String>, code: &str, sub: &str, active: bool) {
    let identity = json!({ "name": "Pat Example", "email": "pat@example.com", "phone": "+14155550123" });
    h.configure().issue_code(code, params, &format!("at-{code}"), sub, active, identity);
}

fn callback(h: &Harness, query: &str, cookie: Option<&str>) -> HttpResponse {
    let url = format!("{EDGE}/auth/configure/oauth/callback?{query}");
    match cookie {
        Some(c) => h.call(get(&url, &[(OAUTH_COOKIE, c)])),
        None => h.call(get(&url, &[])),
    }
}

fn session(h: &Harness, cookie: Option<&str>) -> HttpResponse {
    let url = format!("{EDGE}/auth/configure/session");
    match cookie {
        Some(c) => h.call(get(&url, &[(SESSION_COOKIE, c)])),
        None => h.call(get(&url, &[])),
    }
}

fn logout(h: &Harness, cookie: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut request = HttpRequest::new("POST", &format!("{EDGE}/auth/configure/logout"))
        .unwrap()
        .with_header("Cookie", &format!("{SESSION_COOKIE}={cookie}"));
    for (k, v) in headers {
        request = request.with_header(k, v);
    }
    h.call(request)
}

fn calls(h: &Harness, prefix: &str) -> Vec<String> {
    h.calls().into_iter().filter(|c| c.starts_with(prefix)).collect()
}

/// A full login; returns the session cookie value.
fn signed_in(h: &Harness, code: &str, sub: &str) -> String {
    let (login_cookie, params) = login(h, None);
    let state = &params["state"];
    authorize(h, &params, code, sub, true);
    let response = callback(h, &format!("code={code}&state={state}"), Some(&login_cookie));
    assert_eq!(response.status, 302, "{}", String::from_utf8_lossy(&response.body));
    cookie_set(&response, SESSION_COOKIE).unwrap()
}

#[test]
fn the_whole_login() {
    let h = harness();
    let (login_cookie, params) = login(&h, Some("https://app.example/home?tab=1"));
    let state = params["state"].clone();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["redirect_uri"], REDIRECT_URI);
    assert_eq!(params["scope"], "profile.read profile.search");
    assert_eq!(state.len(), 43);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["resource"], "https://api.configure.dev");
    assert_eq!(params["code_challenge"].len(), 43);
    assert_eq!(calls(&h, REGISTER), vec![format!(r#"{REGISTER}{{"add_redirect_uris":["{REDIRECT_URI}"]}}"#)]);

    authorize(&h, &params, "code-1", "sub_42", true);
    let response = callback(&h, &format!("code=code-1&state={state}"), Some(&login_cookie));
    assert_eq!(response.status, 302, "{}", String::from_utf8_lossy(&response.body));
    assert_eq!(response.header("location"), Some("https://app.example/home?tab=1"));
    assert!(clears(&response, OAUTH_COOKIE));
    let session_cookie = set_cookies(&response).into_iter().find(|c| c.starts_with(SESSION_COOKIE)).unwrap();
    for part in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=86400"] {
        assert!(session_cookie.contains(part), "{session_cookie}");
    }
    // The token request carried the client's credentials, the code, the
    // redirect URI and the resource, and the verifier whose S256 is the
    // challenge (FakeConfigure checks them against the authorization request).
    let token_call =
        h.configure().calls.borrow().iter().rfind(|c| c.line().starts_with(TOKEN)).unwrap().clone();
    let form = token_call.form();
    let field = |name: &str| form.get(name).map(String::as_str);
    assert_eq!(
        (field("grant_type"), field("code"), field("redirect_uri"), field("resource")),
        (Some("authorization_code"), Some("code-1"), Some(REDIRECT_URI), Some("https://api.configure.dev"))
    );
    assert_eq!(field("code_verifier").map(str::len), Some(43));
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{OAUTH_CLIENT_SECRET}"));
    assert_eq!(token_call.header("Authorization"), Some(format!("Basic {basic}").as_str()));

    // The tokens are the link of configure:<sub>.
    let link = h.call(agent_get("/v1/links/configure%3Asub_42"));
    assert_eq!(link.status, 200);
    let link = json(&link);
    assert_eq!(link["token"], "at-code-1");
    assert_eq!(link["refreshToken"], "refresh-1");
    assert_eq!(link["userId"], "sub_42");
    assert_eq!(link["source"], "oauth");
    assert!(link["expiresAt"].as_str().unwrap().ends_with('Z'));
    let stored = format!("{:?}", h.store.entries());
    assert!(!stored.contains("at-code-1") && !stored.contains("refresh-1"), "tokens are sealed at rest");

    let cookie = cookie_set(&response, SESSION_COOKIE).unwrap();
    let me = session(&h, Some(&cookie));
    assert_eq!(me.status, 200);
    assert_eq!(me.header("cache-control"), Some("no-store"));
    assert_eq!(
        json(&me),
        json!({ "user": { "id": "sub_42", "name": "Pat Example", "email": "pat@example.com", "emailVerified": true } })
    );

    let out = logout(&h, &cookie, &[("Origin", EDGE)]);
    assert_eq!(out.status, 200);
    assert!(clears(&out, SESSION_COOKIE));
    assert_eq!(session(&h, None).status, 401);
    assert_eq!(json(&session(&h, None))["error"]["code"], "not_signed_in");
}

#[test]
fn without_return_after_the_login_ends_on_the_workers_root() {
    let h = harness();
    let (login_cookie, params) = login(&h, None);
    let state = params["state"].clone();
    authorize(&h, &params, "c", "s", true);
    let response = callback(&h, &format!("code=c&state={state}"), Some(&login_cookie));
    assert_eq!(response.header("location"), Some("https://edge.example/"));
}

#[test]
fn return_after_off_the_allowlist_is_refused_before_anything_is_kept() {
    let h = harness();
    for bad in
        ["https://evil.example/", "https://app.example.evil.example/", "javascript:alert(1)", "/relative"]
    {
        let url = format!(
            "{EDGE}/auth/configure/login?returnAfter={}",
            form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>()
        );
        let response = h.call(get(&url, &[]));
        assert_eq!(response.status, 400, "{bad}");
        assert!(cookie_set(&response, OAUTH_COOKIE).is_none());
        assert_eq!(response.header("location"), None);
    }
    assert!(h.store.entries().is_empty());
}

#[test]
fn a_login_writes_nothing_to_kv() {
    let h = harness();
    for _ in 0..3 {
        login(&h, Some("https://app.example/home"));
    }
    assert!(h.store.entries().is_empty(), "{:?}", h.store.entries());
    assert_eq!(calls(&h, REGISTER).len(), 3, "registered until a login earns remembering it");
    // The cookie is sealed for this purpose: another Worker's keys, or a
    // cookie value made up by hand, do not open.
    let (login_cookie, params) = login(&h, None);
    authorize(&h, &params, "c", "s", true);
    let other_keys = harness_with(
        FakeConfigure::default(),
        &[("CONFIGURE_EDGE_SEALING_KEYS", "k9:CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=")],
    );
    let state = &params["state"];
    let foreign = callback(&other_keys, &format!("code=c&state={state}"), Some(&login_cookie));
    assert_eq!(foreign.status, 400);
    let made_up = callback(&h, &format!("code=c&state={state}"), Some(state));
    assert_eq!(made_up.status, 400);
    assert!(calls(&h, TOKEN).is_empty());
}

#[test]
fn state_or_cookie_mismatch_and_replay_are_refused() {
    let h = harness();
    let (login_cookie, params) = login(&h, None);
    let state = params["state"].clone();
    authorize(&h, &params, "c1", "s", true);
    let (other_state, _) = login(&h, None);
    for (query, cookie) in [
        (format!("code=c1&state={state}"), None),
        (format!("code=c1&state={state}"), Some(other_state.as_str())),
        (format!("code=c1&state={other_state}"), Some(state.as_str())),
        ("code=c1".to_owned(), Some(state.as_str())),
        ("code=c1&state=forged".to_owned(), Some("forged")),
    ] {
        let response = callback(&h, &query, cookie);
        assert_eq!(response.status, 400, "{query} {cookie:?}");
        assert!(String::from_utf8_lossy(&response.body).contains("Invalid sign-in state."));
        assert!(clears(&response, OAUTH_COOKIE));
        assert!(cookie_set(&response, SESSION_COOKIE).is_none());
    }
    assert!(calls(&h, TOKEN).is_empty(), "no code is redeemed without the state");
    let missing = callback(&h, &format!("state={state}"), Some(&login_cookie));
    assert_eq!(missing.status, 400);
    assert!(String::from_utf8_lossy(&missing.body).contains("Missing sign-in code."));

    let ok = callback(&h, &format!("code=c1&state={state}"), Some(&login_cookie));
    assert_eq!(ok.status, 302);
    assert!(clears(&ok, OAUTH_COOKIE));
    // A replayed callback (a copied cookie): the authorization code is
    // single use at Configure, so it gives no session.
    let replay = callback(&h, &format!("code=c1&state={state}"), Some(&login_cookie));
    assert_eq!(replay.status, 400);
    assert!(cookie_set(&replay, SESSION_COOKIE).is_none());
}

#[test]
fn an_expired_state_is_refused() {
    let h = harness();
    let (login_cookie, params) = login(&h, None);
    let state = params["state"].clone();
    authorize(&h, &params, "c", "s", true);
    h.advance(601_000);
    assert_eq!(callback(&h, &format!("code=c&state={state}"), Some(&login_cookie)).status, 400);
}

#[test]
fn token_endpoint_errors_give_no_session() {
    let h = harness();
    // A code that is unknown (or was issued for another challenge).
    let (login_cookie, params) = login(&h, None);
    let state = params["state"].clone();
    let mut other_challenge = params.clone();
    other_challenge.insert("code_challenge".into(), "not-the-challenge".into());
    h.configure().issue_code("c", &other_challenge, "at", "s", true, json!({}));
    let refused = callback(&h, &format!("code=c&state={state}"), Some(&login_cookie));
    assert_eq!(refused.status, 400);
    assert!(cookie_set(&refused, SESSION_COOKIE).is_none());
    assert!(clears(&refused, OAUTH_COOKIE));

    // Configure down: 502, nothing linked.
    let (login_cookie, params) = login(&h, None);
    let state = params["state"].clone();
    authorize(&h, &params, "c2", "s2", true);
    h.configure().fail_all(server_error());
    let down = callback(&h, &format!("code=c2&state={state}"), Some(&login_cookie));
    h.configure().heal();
    assert_eq!(down.status, 502);
    assert!(cookie_set(&down, SESSION_COOKIE).is_none());
    assert_eq!(h.call(agent_get("/v1/links/configure%3As2")).status, 404);
}

#[test]
fn inactive_introspection_gives_no_user() {
    let h = harness();
    let (login_cookie, params) = login(&h, None);
    let state = params["state"].clone();
    authorize(&h, &params, "c", "sub_gone", false);
    let response = callback(&h, &format!("code=c&state={state}"), Some(&login_cookie));
    assert_eq!(response.status, 401);
    assert!(cookie_set(&response, SESSION_COOKIE).is_none());
    assert_eq!(h.call(agent_get("/v1/links/configure%3Asub_gone")).status, 404);
}

#[test]
fn an_error_return_ends_the_login() {
    let h = harness();
    let (login_cookie, params) = login(&h, None);
    let state = &params["state"];
    let response = callback(
        &h,
        &format!("error=access_denied&error_description=Call+0800-SCAM+now&state={state}"),
        Some(&login_cookie),
    );
    assert_eq!(response.status, 400);
    let page = String::from_utf8_lossy(&response.body);
    assert!(!page.contains("0800") && !page.contains("SCAM"), "no attacker text: {page}");
    assert!(page.contains("declined"));
    assert!(clears(&response, OAUTH_COOKIE));
    assert!(calls(&h, TOKEN).is_empty());
}

#[test]
fn tampered_or_expired_sessions_are_401_and_cleared() {
    let h = harness();
    let cookie = signed_in(&h, "c", "sub_1");
    assert_eq!(session(&h, Some(&cookie)).status, 200);
    let (signed, _) = cookie.rsplit_once('.').unwrap();
    let (head, _) = signed.rsplit_once('.').unwrap();
    let forged_payload =
        base64_url(br#"{"user":{"id":"admin","name":"x","emailVerified":true},"iat":0,"exp":9999999999}"#);
    for bad in [
        format!("{head}.{forged_payload}.{}", cookie.rsplit_once('.').unwrap().1),
        format!("{cookie}x"),
        "junk".to_owned(),
    ] {
        let response = session(&h, Some(&bad));
        assert_eq!(response.status, 401, "{bad}");
        assert!(clears(&response, SESSION_COOKIE));
    }
    // Signed with a key that has since been retired (on KV alone: these
    // harnesses check the cookie's keys, not the recorded session).
    let rotated = harness_with(
        FakeConfigure::default(),
        &[("CONFIGURE_EDGE_SESSION_KEYS", "s2:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=")],
    )
    .without_ledger();
    assert_eq!(session(&rotated, Some(&cookie)).status, 401);
    // Rotation: the new key first, the old one still verifies.
    let both = harness_with(
        FakeConfigure::default(),
        &[(
            "CONFIGURE_EDGE_SESSION_KEYS",
            &format!("s2:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=,{SESSION_KEYS}"),
        )],
    )
    .without_ledger();
    assert_eq!(session(&both, Some(&cookie)).status, 200);

    h.advance(86_400_000);
    let expired = session(&h, Some(&cookie));
    assert_eq!(expired.status, 401);
    assert!(clears(&expired, SESSION_COOKIE));
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn logout_is_csrf_safe() {
    let h = harness();
    let cookie = signed_in(&h, "c", "s");
    for headers in [
        vec![("Origin", "https://evil.example")],
        vec![("Origin", "null")],
        vec![("Sec-Fetch-Site", "cross-site")],
    ] {
        let response = logout(&h, &cookie, &headers);
        assert_eq!(response.status, 403, "{headers:?}");
        assert!(!clears(&response, SESSION_COOKIE));
    }
    // The app's own origin (allowlisted) may, with CORS credentials.
    let from_app = logout(&h, &cookie, &[("Origin", APP)]);
    assert_eq!(from_app.status, 200);
    assert_eq!(from_app.header("access-control-allow-origin"), Some(APP));
    assert_eq!(from_app.header("access-control-allow-credentials"), Some("true"));
    // A form post navigates: 303 to an allowlisted returnAfter, or /.
    let form = logout(&h, &cookie, &[("Origin", EDGE), ("Accept", "text/html")]);
    assert_eq!((form.status, form.header("location")), (303, Some("https://edge.example/")));
    let back = h.call(
        HttpRequest::new(
            "POST",
            &format!("{EDGE}/auth/configure/logout?returnAfter=https%3A%2F%2Fapp.example%2Fbye"),
        )
        .unwrap()
        .with_header("Origin", EDGE),
    );
    assert_eq!((back.status, back.header("location")), (303, Some("https://app.example/bye")));
    let off = h.call(
        HttpRequest::new(
            "POST",
            &format!("{EDGE}/auth/configure/logout?returnAfter=https%3A%2F%2Fevil.example%2F"),
        )
        .unwrap()
        .with_header("Origin", EDGE),
    );
    assert_eq!(off.status, 400);
    // Not from a browser (no Origin, no Sec-Fetch-Site): allowed.
    assert_eq!(logout(&h, &cookie, &[]).status, 200);
    assert_eq!(
        h.call(HttpRequest::new("GET", &format!("{EDGE}/auth/configure/logout")).unwrap()).status,
        405
    );
}

#[test]
fn session_cors_answers_allowed_origins_only() {
    let h = harness();
    let cookie = signed_in(&h, "c", "s");
    let from = |origin: &str| {
        h.call(
            get(&format!("{EDGE}/auth/configure/session"), &[(SESSION_COOKIE, &cookie)])
                .with_header("Origin", origin),
        )
    };
    let app = from(APP);
    assert_eq!(app.header("access-control-allow-origin"), Some(APP));
    assert_eq!(app.header("access-control-allow-credentials"), Some("true"));
    let evil = from("https://evil.example");
    assert_eq!(evil.header("access-control-allow-origin"), None);
    let preflight = h.call(
        HttpRequest::new("OPTIONS", &format!("{EDGE}/auth/configure/session"))
            .unwrap()
            .with_header("Origin", APP)
            .with_header("Access-Control-Request-Method", "GET"),
    );
    assert_eq!(preflight.status, 204);
}

#[test]
fn missing_settings_name_themselves() {
    for (setting, value) in [
        ("CONFIGURE_OAUTH_CLIENT_ID", ""),
        ("CONFIGURE_OAUTH_CLIENT_SECRET", ""),
        ("CONFIGURE_EDGE_SESSION_KEYS", ""),
    ] {
        let h = harness_with(FakeConfigure::default(), &[(setting, value)]);
        let response = h.call(get(&format!("{EDGE}/auth/configure/login"), &[]));
        assert_eq!(response.status, 503, "{setting}");
        assert!(String::from_utf8_lossy(&response.body).contains(setting));
    }
    let h = harness_with(FakeConfigure::default(), &[("CONFIGURE_EDGE_SESSION_KEYS", "")]);
    assert_eq!(session(&h, None).status, 503);
}

#[test]
fn the_redirect_uri_is_registered_once_and_through_setup() {
    let h = harness();
    login(&h, None);
    login(&h, None);
    assert_eq!(calls(&h, REGISTER).len(), 2, "a login registers but writes nothing");
    signed_in(&h, "c", "s");
    assert_eq!(calls(&h, REGISTER).len(), 3);
    login(&h, None);
    assert_eq!(calls(&h, REGISTER).len(), 3, "remembered by the first callback that succeeded");
    let setup = h.call(agent_post("/v1/setup", "{}"));
    assert_eq!(setup.status, 200);
    let body = json(&setup);
    assert_eq!(body["ok"], true);
    assert!(body["registered"].as_array().unwrap().contains(&json!({
        "kind": "oauth_redirect", "url": REDIRECT_URI, "status": "already-registered"
    })));
    assert_eq!(calls(&h, REGISTER).len(), 4, "setup registers again");
}

#[test]
fn registration_failures_explain_themselves() {
    for (status, body, expected) in [
        (401, r#"{"error":{"message":"bad key"}}"#, "Configure rejected the API key (bad key). Check CONFIGURE_API_KEY."),
        (403, "{}", "Configure refused this key for callback registration. CONFIGURE_API_KEY must be a server secret key (sk_)."),
        (404, "{}", "No OAuth client \"cfg_client_1\" on the account that owns this API key. Check CONFIGURE_OAUTH_CLIENT_ID."),
    ] {
        let h = harness();
        h.configure().fail(REGISTER.trim_end(), Injected::Answer(status, body.to_owned()));
        let setup = json(&h.call(agent_post("/v1/setup", "{}")));
        assert_eq!(setup["ok"], false);
        let failed = setup["failed"].as_array().unwrap().iter().find(|f| f["kind"] == "oauth_redirect").unwrap().clone();
        assert_eq!(failed["message"], expected, "{status}");
        // A failed registration does not block the login, and is retried.
        login(&h, None);
        login(&h, None);
        assert_eq!(calls(&h, REGISTER).len(), 3);
    }
    // A publishable key is refused before any request.
    let h = harness_with(FakeConfigure::default(), &[("CONFIGURE_API_KEY", "pk_test_1")]);
    let setup = json(&h.call(agent_post("/v1/setup", "{}")));
    let failed =
        setup["failed"].as_array().unwrap().iter().find(|f| f["kind"] == "oauth_redirect").unwrap().clone();
    assert_eq!(
        failed["message"],
        "CONFIGURE_API_KEY must be a server secret key (sk_...). A publishable pk_ key is browser-public and cannot manage callbacks."
    );
    assert!(calls(&h, REGISTER).is_empty());
    // Without an OAuth client there is nothing to register.
    let h = harness_with(FakeConfigure::default(), &[("CONFIGURE_OAUTH_CLIENT_ID", "")]);
    let setup = json(&h.call(agent_post("/v1/setup", "{}")));
    assert_eq!(setup["registered"].as_array().unwrap().len(), 1, "{setup}");
    assert!(calls(&h, REGISTER).is_empty());
}

#[test]
fn logout_and_unlinking_revoke_sessions_at_once() {
    let h = harness();
    let first = signed_in(&h, "c1", "sub_9");
    let second = signed_in(&h, "c2", "sub_9");
    let other = signed_in(&h, "c3", "sub_other");
    // A refused returnAfter ends nothing.
    let refused = h.call(
        HttpRequest::new(
            "POST",
            &format!("{EDGE}/auth/configure/logout?returnAfter=https%3A%2F%2Fevil.example%2F"),
        )
        .unwrap()
        .with_header("Cookie", &format!("{SESSION_COOKIE}={first}"))
        .with_header("Origin", APP),
    );
    assert_eq!(refused.status, 400);
    assert_eq!(session(&h, Some(&first)).status, 200);
    assert_eq!(logout(&h, &first, &[("Origin", APP)]).status, 200);
    let old = session(&h, Some(&first));
    assert_eq!(old.status, 401, "the same cookie, after logout");
    assert!(clears(&old, SESSION_COOKIE));
    assert_eq!(session(&h, Some(&second)).status, 200, "another session of the user lives on");
    let unlink = HttpRequest::new("DELETE", &format!("{EDGE}/v1/links/configure%3Asub_9"))
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"));
    assert_eq!(h.call(unlink).status, 204);
    assert_eq!(session(&h, Some(&second)).status, 401, "every session of the unlinked user");
    assert_eq!(session(&h, Some(&other)).status, 200, "other users keep theirs");
}

#[test]
fn sessions_slide_with_use_under_their_cap() {
    let h = harness_with(
        FakeConfigure::default(),
        &[("CONFIGURE_EDGE_SESSION_TTL_SECONDS", "3600"), ("CONFIGURE_EDGE_SESSION_IDLE_SECONDS", "600")],
    );
    let cookie = signed_in(&h, "c", "sub_1");
    for _ in 0..5 {
        h.advance(500_000);
        assert_eq!(session(&h, Some(&cookie)).status, 200, "used within the idle window");
    }
    h.advance(500_000); // 3,000 s from sign-in
    assert_eq!(session(&h, Some(&cookie)).status, 200);
    h.advance(599_000); // 3,599 s: still under the cap
    assert_eq!(session(&h, Some(&cookie)).status, 200);
    h.advance(2_000); // past the absolute cap, however active
    assert_eq!(session(&h, Some(&cookie)).status, 401);
    let idle = signed_in(&h, "c2", "sub_2");
    h.advance(601_000);
    assert_eq!(session(&h, Some(&idle)).status, 401, "idle past the window");
    // Without the ledger a session cannot be revoked (and /healthz says so).
    let kv = harness().without_ledger();
    let cookie = signed_in(&kv, "c", "sub_1");
    assert_eq!(logout(&kv, &cookie, &[("Origin", APP)]).status, 200);
    assert_eq!(session(&kv, Some(&cookie)).status, 200);
    let health = json(&kv.call(HttpRequest::new("GET", &format!("{EDGE}/healthz")).unwrap()));
    assert!(health["problems"].as_array().unwrap().iter().any(|p| p["setting"] == "CONFIGURE_LEDGER"));
    let health = json(&h.call(HttpRequest::new("GET", &format!("{EDGE}/healthz")).unwrap()));
    assert!(!health["problems"].as_array().unwrap().iter().any(|p| p["setting"] == "CONFIGURE_LEDGER"));
}

fn oauth_link(h: &Harness, sub: &str) -> HttpResponse {
    h.call(agent_get(&format!("/v1/links/configure%3A{sub}")))
}

#[test]
fn oauth_links_are_refreshed_once_near_expiry() {
    let h = harness_with(FakeConfigure::default().with_expires_in(3600), &[]);
    signed_in(&h, "c", "sub_r");
    let fresh = json(&oauth_link(&h, "sub_r"));
    assert_eq!(h.configure().refresh_requests(), 0, "an hour left: no refresh");
    h.advance(3_540_000); // 60 s left
    let reads = (0..50).map(|_| agent_get("/v1/links/configure%3Asub_r")).collect();
    let answers = h.call_all(reads);
    assert_eq!(h.configure().refresh_requests(), 1, "one refresh for 50 concurrent readers");
    let tokens: std::collections::BTreeSet<String> =
        answers.iter().map(|a| json(a)["token"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let token = tokens.into_iter().next().unwrap();
    assert_ne!(token, fresh["token"].as_str().unwrap());
    let now = json(&oauth_link(&h, "sub_r"));
    assert_eq!(now["token"], token.as_str());
    assert_ne!(now["refreshToken"], fresh["refreshToken"], "rotated");
    assert!(now["expiresAt"].as_str().unwrap() > fresh["expiresAt"].as_str().unwrap());
    assert_eq!(h.configure().refresh_requests(), 1);
    let refresh = calls(&h, "POST /oauth/token");
    assert!(refresh.iter().any(|c| c.contains("grant_type=refresh_token")), "{refresh:?}");
}

#[test]
fn a_refused_refresh_marks_the_link_reconnect_required() {
    let h = harness_with(FakeConfigure::default().with_expires_in(30), &[]);
    signed_in(&h, "c", "sub_x");
    // The refresh token is spent elsewhere (rotation): Configure refuses ours.
    let first = json(&oauth_link(&h, "sub_x"));
    assert_eq!(h.configure().refresh_requests(), 1);
    assert!(first["reconnectRequired"].is_null(), "{first}");
    h.configure().refresh_tokens.borrow_mut().clear();
    h.advance(60_000);
    let refused = json(&oauth_link(&h, "sub_x"));
    assert_eq!(refused["reconnectRequired"], true, "{refused}");
    assert_eq!(h.configure().refresh_requests(), 2);
    // Marked: no more refreshes until the user signs in again.
    assert_eq!(json(&oauth_link(&h, "sub_x"))["reconnectRequired"], true);
    assert_eq!(h.configure().refresh_requests(), 2);
    // An outage is a 502 and leaves the link as it was.
    let h = harness_with(FakeConfigure::default().with_expires_in(30), &[]);
    signed_in(&h, "c", "sub_y");
    h.configure().fail_all(server_error());
    assert_eq!(oauth_link(&h, "sub_y").status, 502);
    h.configure().heal();
    assert!(json(&oauth_link(&h, "sub_y"))["token"].as_str().unwrap().starts_with("at-refreshed"));
}

#[test]
fn concurrent_callbacks_of_one_login_spend_the_code_once() {
    let h = harness();
    let (login_cookie, params) = login(&h, None);
    authorize(&h, &params, "c-race", "sub_c", true);
    let url = format!("{EDGE}/auth/configure/oauth/callback?code=c-race&state={}", params["state"]);
    let answers = h.call_all((0..30).map(|_| get(&url, &[(OAUTH_COOKIE, &login_cookie)])).collect());
    assert_eq!(answers.iter().filter(|a| a.status == 302).count(), 1);
    assert_eq!(calls(&h, "POST /oauth/token").len(), 1);
}

/// Readers waiting for a refresh answer the new token, not the old one
/// whose stored text only changed by a re-seal under a new sealing key.
#[test]
fn refresh_waiters_get_the_new_token_after_a_key_rotation() {
    let h = harness_with(FakeConfigure::default().with_expires_in(3600), &[]);
    signed_in(&h, "c", "sub_k");
    let old = json(&oauth_link(&h, "sub_k"))["token"].as_str().unwrap().to_owned();
    let keys = format!("k2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=,{SEALING_KEYS}");
    let mut rotated = harness_with(FakeConfigure::default(), &[("CONFIGURE_EDGE_SEALING_KEYS", &keys)]);
    let Harness { store, ledger, api, now, .. } = h;
    (rotated.store, rotated.ledger, rotated.api, rotated.now) = (store, ledger, api, now);
    rotated.configure().answer_yields.set(3);
    rotated.advance(3_545_000);
    let answers = rotated.call_all((0..10).map(|_| agent_get("/v1/links/configure%3Asub_k")).collect());
    let tokens: std::collections::BTreeSet<String> =
        answers.iter().map(|a| json(a)["token"].as_str().unwrap_or("?").to_owned()).collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(!tokens.contains(&old), "{tokens:?}");
    assert_eq!(rotated.configure().refresh_requests(), 1);
}
