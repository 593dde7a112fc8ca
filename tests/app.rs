//! Native tests of the whole request handling (routing, errors, /healthz),
//! without a runtime: the same `App::handle` the Worker shell calls.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use configure_edge::HttpRequest;
use support::{agent_post, json, CountingLimiter, FakeConfigure, Harness, MemoryStore, SECRET};

#[test]
fn healthz_reports_version_and_presence_never_values() {
    let harness =
        Harness::with_settings(FakeConfigure::default(), &[("CONFIGURE_API_KEY", "sk_test_do_not_print")]);
    let response = harness.call(HttpRequest::new("GET", "http://127.0.0.1:8787/healthz").unwrap());
    assert_eq!(response.status, 200);
    let body = json(&response);
    assert_eq!(body["ok"], true);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["settings"]["CONFIGURE_API_KEY"], true);
    assert_eq!(body["settings"]["CONFIGURE_KV"], true);
    assert_eq!(body["settings"]["PUBLIC_URL"], false);
    // The one missing setting that is a problem: the browser flows wait for it.
    assert_eq!(body["problems"].as_array().unwrap().len(), 1);
    assert_eq!(body["problems"][0]["setting"], "PUBLIC_URL");
    let text = String::from_utf8(response.body).unwrap();
    assert!(!text.contains("sk_test_do_not_print") && !text.contains(support::SECRET));
}

#[test]
fn healthz_names_invalid_settings_without_values() {
    let harness =
        Harness::with_settings(FakeConfigure::default(), &[("CONFIGURE_EDGE_SEALING_KEYS", "k1:secretish")]);
    let body = json(&harness.call(HttpRequest::new("GET", "http://h/healthz").unwrap()));
    assert_eq!(body["problems"][0]["setting"], "CONFIGURE_EDGE_SEALING_KEYS");
    assert!(!body.to_string().contains("secretish"));
}

#[test]
fn head_healthz_has_no_body() {
    let harness = Harness::new(FakeConfigure::default());
    let response = harness.call(HttpRequest::new("HEAD", "http://h/healthz").unwrap());
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
}

#[test]
fn unknown_path_is_json_404() {
    let harness = Harness::new(FakeConfigure::default());
    let response = harness.call(HttpRequest::new("GET", "http://h/does-not-exist?x=%ZZ").unwrap());
    assert_eq!(response.status, 404);
    assert_eq!(json(&response)["error"]["code"], "not_found");
}

#[test]
fn wrong_method_is_405_with_allow() {
    let harness = Harness::new(FakeConfigure::default());
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"] {
        let response = harness.call(HttpRequest::new(method, "http://h/healthz").unwrap());
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("Allow"), Some("GET, HEAD"));
        assert_eq!(json(&response)["ok"], false);
    }
}

#[test]
fn browser_flows_and_setup_need_public_url_and_never_use_the_request_host() {
    let harness = Harness::with_settings(
        FakeConfigure::default(),
        &[("ALLOWED_RETURN_ORIGINS", "https://app.example")],
    );
    let sign_ins = agent_post("/v1/sign-ins", r#"{"subject":"u1","returnAfter":"https://app.example/x"}"#);
    let answers = [
        harness.call(sign_ins),
        harness.call(agent_post("/v1/setup", "{}")),
        harness
            .call(HttpRequest::new("GET", "https://edge.example/auth/configure/sign-in?ticket=t").unwrap()),
        harness.call(
            HttpRequest::new("GET", "https://edge.example/api/configure/callback?code=c&state=s").unwrap(),
        ),
        harness.call(HttpRequest::new("GET", "https://edge.example/auth/configure/login").unwrap()),
    ];
    for response in &answers {
        assert_eq!(response.status, 503, "{}", String::from_utf8_lossy(&response.body));
        assert!(String::from_utf8_lossy(&response.body).contains("PUBLIC_URL"));
    }
    assert!(harness.calls().is_empty(), "nothing registered: {:?}", harness.calls());
    assert!(harness.store.entries().is_empty());

    // With PUBLIC_URL, setup registers it, whatever host the request came to.
    let harness = Harness::with_settings(FakeConfigure::default(), &[("PUBLIC_URL", "https://edge.example")]);
    let request = HttpRequest::new("POST", "https://preview.evil.example/v1/setup")
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"))
        .with_header("Content-Type", "application/json")
        .with_body("{}");
    assert_eq!(harness.call(request).status, 200);
    assert_eq!(
        harness.calls(),
        vec![
            r#"POST /v1/auth/sign-in/return-destinations {"return_to":"https://edge.example/api/configure/callback"}"#
        ]
    );
}

#[test]
fn a_weak_api_secret_is_refused() {
    for weak in ["0123456789abcdef", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] {
        let harness =
            Harness::with_settings(FakeConfigure::default(), &[("CONFIGURE_EDGE_API_SECRET", weak)]);
        let request = HttpRequest::new("POST", "https://edge.example/v1/journeys")
            .unwrap()
            .with_header("Authorization", &format!("Bearer {weak}"))
            .with_header("Content-Type", "application/json")
            .with_body(r#"{"subject":"s"}"#);
        let response = harness.call(request);
        assert_eq!(response.status, 503, "{weak}");
        assert_eq!(json(&response)["error"]["code"], "not_configured");
        let health = json(&harness.call(HttpRequest::new("GET", "https://edge.example/healthz").unwrap()));
        assert!(health["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["setting"] == "CONFIGURE_EDGE_API_SECRET"));
    }
}

#[test]
fn failed_bearer_checks_are_rate_limited() {
    let mut harness = Harness::new(FakeConfigure::default());
    harness.limiter = Some(CountingLimiter { limit: 2, ..CountingLimiter::default() });
    let wrong = || {
        HttpRequest::new("POST", "https://edge.example/v1/journeys")
            .unwrap()
            .with_header("Authorization", "Bearer not-the-secret-not-the-secret-xyz")
            .with_header("CF-Connecting-IP", "203.0.113.9")
            .with_header("Content-Type", "application/json")
            .with_body(r#"{"subject":"s"}"#)
    };
    assert_eq!(harness.call(wrong()).status, 401);
    assert_eq!(harness.call(wrong()).status, 401);
    let limited = harness.call(wrong());
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(harness.limiter.as_ref().unwrap().counts.borrow().get("agent-auth:203.0.113.9"), Some(&3));
    // The right secret is never counted against the limit.
    for _ in 0..5 {
        assert_eq!(harness.call(agent_post("/v1/journeys", r#"{"subject":"s"}"#)).status, 201);
    }
}

#[test]
fn agent_writes_refuse_oauth_subjects() {
    let harness = Harness::with_settings(
        FakeConfigure::default(),
        &[("PUBLIC_URL", "https://edge.example"), ("ALLOWED_RETURN_ORIGINS", "https://app.example")],
    );
    for (path, body) in [
        ("/v1/journeys", r#"{"subject":"configure:sub_1"}"#),
        ("/v1/sign-ins", r#"{"subject":"configure:sub_1","returnAfter":"https://app.example/"}"#),
        ("/v1/identity/resolve", r#"{"subject":"configure:sub_1","phoneCandidates":["+14155550101"]}"#),
        ("/v1/sign-ins/redeem", r#"{"subject":"configure:sub_1","code":"c"}"#),
    ] {
        let response = harness.call(agent_post(path, body));
        assert_eq!(response.status, 400, "{path}");
        assert_eq!(json(&response)["error"]["field"], "subject", "{path}");
    }
    assert!(harness.store.entries().is_empty());
    assert!(harness.calls().is_empty());
}

#[test]
fn a_body_cut_off_by_the_entry_is_413_before_any_other_check() {
    let harness = Harness::new(FakeConfigure::default());
    let cut = |method: &str, path: &str| {
        let mut request = HttpRequest::new(method, &format!("https://edge.example{path}"))
            .unwrap()
            .with_header("Content-Type", "text/plain")
            .with_header("Origin", "https://evil.example");
        request.body_too_large = true;
        request
    };
    for path in ["/v1/journeys", "/v1/sign-ins/redeem", "/auth/configure/complete"] {
        let response = harness.call(cut("POST", path));
        assert_eq!(response.status, 413, "{path}: not 401, 403 or 415");
        assert_eq!(json(&response)["error"]["code"], "payload_too_large");
    }
    assert_eq!(json(&harness.call(cut("POST", "/auth/configure/complete")))["linked"], false);
    // Routes that read no body never see the flag matter.
    assert_eq!(harness.call(cut("GET", "/healthz")).status, 200);
}

#[test]
fn a_body_the_shell_could_not_read_whole_is_400_on_the_routes_surface() {
    let harness = Harness::new(FakeConfigure::default());
    // Bodies that would be accepted if they were whole: the flag alone refuses them.
    let broken = |path: &str| {
        let body = r#"{"subject":"s","token":"t","userId":"u","agent":"my-agent","journeyId":"j"}"#;
        let mut request = agent_post(path, body).with_header("Origin", "https://sign-in.me");
        request.body_unreadable = true;
        request
    };
    let journeys = harness.call(broken("/v1/journeys"));
    assert_eq!(journeys.status, 400);
    assert_eq!(json(&journeys)["error"]["code"], "bad_request");
    // The webhook's shape: linked:false and the sign-in origin's CORS.
    let webhook = harness.call(broken("/auth/configure/complete"));
    assert_eq!(webhook.status, 400);
    assert_eq!(json(&webhook)["linked"], false);
    assert_eq!(webhook.header("access-control-allow-origin"), Some("https://sign-in.me"));
    assert!(harness.store.entries().is_empty());
    assert!(harness.calls().is_empty());
}

#[test]
fn a_journey_without_public_url_on_a_host_with_no_origin_is_503_naming_public_url() {
    let harness = Harness::new(FakeConfigure::default());
    // A LAN IPv4 host: the strict URL rules give it no origin to name the
    // webhook by, so the journey would carry a relative completion URL.
    let request = HttpRequest::new("POST", "http://192.168.1.20:8787/v1/journeys")
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"))
        .with_header("Content-Type", "application/json")
        .with_body(r#"{"subject":"lan"}"#);
    assert_eq!(request.origin, "");
    let response = harness.call(request);
    assert_eq!(response.status, 503);
    assert!(json(&response)["error"]["message"].as_str().unwrap().contains("PUBLIC_URL"));
    assert!(harness.store.entries().is_empty());
}

#[test]
fn the_memory_store_expires_at_the_kv_minimum_ttl_and_fails_on_demand() {
    use configure_edge::storage::store::Store;
    use pollster::block_on;
    use support::Faults;
    let store = MemoryStore::new();
    store.set_now(1_000);
    block_on(store.put("a", "1", Some(1))).unwrap();
    block_on(store.put("b", "2", None)).unwrap();
    assert_eq!(block_on(store.get("a")).unwrap().as_deref(), Some("1"));
    store.set_now(1_000 + 60_000);
    assert_eq!(block_on(store.get("a")).unwrap(), None, "expired at the KV minimum TTL");
    assert_eq!(block_on(store.get("b")).unwrap().as_deref(), Some("2"));
    store.set_faults(Faults { get: true, ..Faults::default() });
    assert!(block_on(store.get("b")).is_err());
    store.set_faults(Faults::default());
    block_on(store.delete("b")).unwrap();
    assert!(store.entries().is_empty());
}

/// The ledger commands (each a round trip to a Durable Object in the
/// Worker) one request of each benchmarked route sends, asserted here and
/// printed as one `LEDGER_ROUND_TRIPS {json}` line, which `make bench`
/// reads beside its measured milliseconds.
#[test]
fn ledger_round_trips_per_route() {
    use configure_edge::HttpResponse;
    let edge = "https://edge.example";
    let h = Harness::with_settings(
        FakeConfigure::default()
            .with_token("tok-1", "user-1", "my-agent")
            .with_phone("+14155550100", "tok-p", "user-p", "my-agent")
            .with_code("code-1", "tok-w", "user-w", "my-agent"),
        &[("PUBLIC_URL", edge), ("ALLOWED_RETURN_ORIGINS", "https://app.example")],
    );
    let sent = |h: &Harness| h.ledger().sent.borrow().len();
    let measure = |h: &Harness, request: HttpRequest, status: u16| -> (usize, HttpResponse) {
        let before = sent(h);
        let response = h.call(request);
        assert_eq!(response.status, status, "{}", String::from_utf8_lossy(&response.body));
        (sent(h) - before, response)
    };
    let journey = json(&h.call(agent_post("/v1/journeys", r#"{"subject":"cost-1","binding":"none"}"#)));
    let body = format!(
        r#"{{"token":"tok-1","userId":"user-1","agent":"my-agent","journeyId":"{}"}}"#,
        journey["journeyId"].as_str().unwrap()
    );
    let (completion, _) = measure(&h, support::webhook(&body), 200);
    let (stored, _) = measure(&h, agent_post("/v1/identity/resolve", r#"{"subject":"cost-1"}"#), 200);
    let phone = r#"{"subject":"cost-2","phoneCandidates":["+14155550100"]}"#;
    let (recognized, _) = measure(&h, agent_post("/v1/identity/resolve", phone), 200);
    let ticket = json(&h.call(agent_post(
        "/v1/sign-ins",
        r#"{"subject":"cost-3","returnAfter":"https://app.example/done"}"#,
    )));
    let (start, started) =
        measure(&h, HttpRequest::new("GET", ticket["url"].as_str().unwrap()).unwrap(), 302);
    let state = started
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let callback =
        HttpRequest::new("GET", &format!("{edge}/api/configure/callback?code=code-1&state={state}"))
            .unwrap()
            .with_header("Cookie", &format!("__Host-configure-edge-state={state}"));
    let (callback, done) = measure(&h, callback, 302);
    let location = done.header("location").unwrap().to_owned();
    let code = location.split("configure_code=").nth(1).unwrap();
    let redeem_body = format!(r#"{{"code":"{code}","subject":"cost-3"}}"#);
    let (redeem, _) = measure(&h, agent_post("/v1/sign-ins/redeem", &redeem_body), 200);
    let (link, _) = measure(&h, support::agent_get("/v1/links/cost-1"), 200);
    // Completion (binding none): claim, read of the subject's link (never
    // over another user's), link write, spend. Stored link: read. Phone:
    // read (no link yet), link write. Start: claim, spend. Callback: claim, spend. Redeem:
    // claim, link write, spend. GET: read.
    let counts = [
        ("completion webhook", completion, 4),
        ("identity: stored link", stored, 1),
        ("identity: phone recognition", recognized, 2),
        ("web sign-in start", start, 2),
        ("return-code callback", callback, 2),
        ("redeem", redeem, 3),
        ("GET /v1/links", link, 1),
    ];
    let measured: Vec<(&str, usize)> = counts.iter().map(|(route, n, _)| (*route, *n)).collect();
    let expected: Vec<(&str, usize)> = counts.iter().map(|(route, _, n)| (*route, *n)).collect();
    assert_eq!(measured, expected);
    let report: serde_json::Map<String, serde_json::Value> =
        counts.iter().map(|(route, n, _)| (route.to_string(), (*n).into())).collect();
    println!("LEDGER_ROUND_TRIPS {}", serde_json::Value::Object(report));
}
