use super::*;

fn builder() -> RequestBuilder {
    RequestBuilder {
        base_url: "https://api.example".into(),
        api_key: Secret::new("sk_test_1"),
        agent: "my-agent".into(),
    }
}

#[test]
fn requests_match_the_sdk() {
    let request = builder().validate("tok\"en\n");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.example/v1/auth/sign-in/validate");
    assert_eq!(
        request.headers,
        vec![
            ("Content-Type", "application/json".to_owned()),
            ("X-API-Key", "sk_test_1".to_owned()),
            ("X-Agent", "my-agent".to_owned())
        ]
    );
    assert_eq!(request.body.as_deref(), Some(r#"{"token":"tok\"en\n"}"#));
    assert_eq!(
        builder().recognize_phone(&["+1".into(), "a".into()]).body.as_deref(),
        Some(r#"{"candidates":["+1","a"]}"#)
    );
    assert_eq!(
        builder().allow_return_to("https://x/cb").body.as_deref(),
        Some(r#"{"return_to":"https://x/cb"}"#)
    );
}

#[test]
fn oauth_requests_match_better_auth_and_the_sdk() {
    let secret = Secret::new("s3cret:+/");
    let client = OAuthClient { client_id: "cfg_client_1", client_secret: &secret };
    let request = builder().oauth_token(
        client,
        TokenRequest {
            code: "c o+de",
            redirect_uri: "https://edge/auth/configure/oauth/callback",
            code_verifier: "v",
            resource: "https://api.configure.dev",
        },
    );
    assert_eq!((request.method, request.url.as_str()), ("POST", "https://api.example/oauth/token"));
    assert_eq!(
        request.body.as_deref(),
        Some("grant_type=authorization_code&code=c+o%2Bde&redirect_uri=https%3A%2F%2Fedge%2Fauth%2Fconfigure%2Foauth%2Fcallback&code_verifier=v&resource=https%3A%2F%2Fapi.configure.dev")
    );
    assert_eq!(
        request.headers,
        vec![
            ("Content-Type", "application/x-www-form-urlencoded".to_owned()),
            ("Accept", "application/json".to_owned()),
            ("Authorization", format!("Basic {}", STANDARD.encode("cfg_client_1:s3cret:+/"))),
        ]
    );
    let introspect = builder().introspect("at");
    assert_eq!(introspect.headers, vec![("Content-Type", "application/json".to_owned())]);
    assert_eq!(introspect.body.as_deref(), Some(r#"{"token":"at"}"#));
    let profile = builder().profile_identity("at");
    assert_eq!((profile.method, profile.body.as_deref()), ("GET", None));
    assert_eq!(profile.url, "https://api.example/v1/profile?sections=identity");
    let names: Vec<_> = profile.headers.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "X-API-Key",
            "Authorization",
            "X-Configure-Session-Id",
            "X-Configure-Runtime-Scope-Id",
            "X-Agent"
        ]
    );
    assert_eq!(profile.headers[2].1, "Bearer at");
    let session = &profile.headers[3].1;
    assert!(session.starts_with("session_") && session.len() == "session_".len() + 36, "{session}");
    assert_eq!(&session[8 + 14..8 + 15], "4", "UUID v4");
    assert_ne!(runtime_id("scope"), runtime_id("scope"));
    // crypto.randomUUID's shape: 8-4-4-4-12 lower-case hex, v4, RFC 4122 variant.
    for _ in 0..50 {
        let id = runtime_id("scope");
        let uuid = id.strip_prefix("scope_").unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{id}");
        assert!(groups.concat().bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{id}");
        assert!(groups[2].starts_with('4') && "89ab".contains(&groups[3][..1]), "{id}");
    }
    let patch = builder().add_oauth_redirect_uri("id with/space!*()~'", "https://e/cb");
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.url, "https://api.example/v1/developer/oauth/clients/id%20with%2Fspace!*()~'");
    assert_eq!(patch.body.as_deref(), Some(r#"{"add_redirect_uris":["https://e/cb"]}"#));
    assert_eq!(patch.headers.len(), 2, "no X-Agent, as ensureSsoCallback");
}

#[test]
fn the_refresh_grant_goes_to_the_token_endpoint_like_the_code_grant() {
    let secret = Secret::new("s3cret:+/");
    let client = OAuthClient { client_id: "cfg_client_1", client_secret: &secret };
    let request = builder().oauth_refresh(
        client,
        TokenRefresh { refresh_token: "r e+f/resh=1&x", resource: "https://api.configure.dev" },
    );
    assert_eq!((request.method, request.url.as_str()), ("POST", "https://api.example/oauth/token"));
    assert_eq!(
        request.body.as_deref(),
        Some("grant_type=refresh_token&refresh_token=r+e%2Bf%2Fresh%3D1%26x&resource=https%3A%2F%2Fapi.configure.dev")
    );
    let fields: Vec<(String, String)> =
        form_urlencoded::parse(request.body.as_deref().unwrap().as_bytes()).into_owned().collect();
    assert_eq!(
        fields,
        [
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), "r e+f/resh=1&x".to_owned()),
            ("resource".to_owned(), "https://api.configure.dev".to_owned()),
        ]
    );
    assert_eq!(
        request.headers,
        vec![
            ("Content-Type", "application/x-www-form-urlencoded".to_owned()),
            ("Accept", "application/json".to_owned()),
            ("Authorization", format!("Basic {}", STANDARD.encode("cfg_client_1:s3cret:+/"))),
        ]
    );
    let code = TokenRequest { code: "c", redirect_uri: "r", code_verifier: "v", resource: "x" };
    let code_grant = builder().oauth_token(client, code);
    assert_eq!(
        (code_grant.url, code_grant.headers),
        (request.url, request.headers),
        "same endpoint and auth"
    );
}

#[test]
fn redirect_failures_explain_like_the_sdk() {
    assert_eq!(
        redirect_failure_reason(401, r#"{"error_description":"expired"}"#, "c"),
        "Configure rejected the API key (expired). Check CONFIGURE_API_KEY."
    );
    assert_eq!(
        redirect_failure_reason(401, "", "c"),
        "Configure rejected the API key. Check CONFIGURE_API_KEY."
    );
    assert_eq!(redirect_failure_reason(403, r#"{"error":"nope"}"#, "c"), "nope");
    assert_eq!(
        redirect_failure_reason(500, "{}", "c"),
        "Configure returned 500 while registering the SSO callback."
    );
    assert_eq!(redirect_failure_reason(422, r#"{"error":{"message":"bad uri"}}"#, "c"), "bad uri");
}

#[test]
fn token_and_introspection_answers() {
    let ok = |body: &str| answer_object(&ApiResponse { status: 200, body: body.into() }).unwrap();
    let tokens = parse_tokens(&ok(r#"{"access_token":"a","refresh_token":"r","expires_in":60}"#)).unwrap();
    assert_eq!(
        tokens,
        OAuthTokens { access_token: "a".into(), refresh_token: Some("r".into()), expires_in: Some(60) }
    );
    assert!(parse_tokens(&ok(r#"{"token_type":"Bearer"}"#)).is_err());
    assert_eq!(parse_introspection(&ok(r#"{"active":true,"sub":"s"}"#)).sub.as_deref(), Some("s"));
    assert!(!parse_introspection(&ok(r#"{"active":"true","sub":"s"}"#)).active);
    assert_eq!(parse_introspection(&ok(r#"{"active":true,"sub":""}"#)).sub, None);
}

#[test]
fn structured_errors_map_by_type() {
    let e = error_from_response(
        401,
        r#"{"error":{"type":"authentication_error","code":"bad_key","message":"Bad key"}}"#,
    );
    assert_eq!((e.code, e.message.as_str(), e.status), (ErrorCode::AuthRequired, "Bad key", Some(401)));
    let e = error_from_response(
        429,
        r#"{"error":{"type":"rate_limit_error","code":"quota_exceeded","message":"q"}}"#,
    );
    assert_eq!(e.code, ErrorCode::PaymentRequired);
    let e = error_from_response(500, r#"{"error":{"type":"weird","code":"x"}}"#);
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::ServerError, "Request failed"));
}

#[test]
fn legacy_errors_map_by_status() {
    assert_eq!(error_from_response(403, "{}").code, ErrorCode::AuthRequired);
    assert_eq!(error_from_response(404, "not json").code, ErrorCode::NotFound);
    assert_eq!(error_from_response(429, r#"{"error":"slow down"}"#).message, "slow down");
    assert_eq!(error_from_response(503, "<html>").code, ErrorCode::ServerError);
    assert_eq!(
        error_from_response(400, r#"{"message":"Tool not connected"}"#).code,
        ErrorCode::ToolNotConnected
    );
    assert_eq!(error_from_response(400, "{}").code, ErrorCode::InvalidInput);
}

#[test]
fn answers_parse_like_the_sdk() {
    let ok = |body: &str| answer_object(&ApiResponse { status: 200, body: body.into() }).unwrap();
    let v = parse_validation(&ok(r#"{"valid":"true","user_id":" u1 ","token_use":"agent","agent":"a"}"#));
    assert!(!v.valid, "only exactly true is valid");
    assert_eq!(v.user_id.as_deref(), Some("u1"));
    assert_eq!(v.token_use.as_deref(), Some("agent"));
    assert_eq!(
        parse_validation(&ok(r#"{"valid":true,"tokenUse":"access"}"#)).token_use.as_deref(),
        Some("access")
    );
    assert_eq!(parse_validation(&ok(r#"{"valid":true,"tokenUse":null}"#)).token_use, None);
    assert_eq!(parse_validation(&ok(r#"{"valid":true,"token_use":5}"#)).token_use.as_deref(), Some("5"));
    let exchanged =
        parse_exchange(&ok(r#"{"token":"t","userId":"u","agent":"a","approved":false,"token_use":"x"}"#));
    assert_eq!(exchanged.as_ref().map(|e| (e.approved, e.token_use.as_deref())), Ok((false, Some("x"))));
    assert_eq!(
        parse_exchange(&ok(r#"{"token":"t","userId":"u"}"#)).unwrap_err().message,
        "Sign-in exchange response was missing token, userId, or agent"
    );
    assert!(
        parse_exchange(&ok(r#"{"token":"t","userId":"u","agent":"a","approved":null}"#)).unwrap().approved
    );
    let r = parse_recognition(&ok(r#"{"approved":true,"agent_token":"t","display_name":"D"}"#), 3);
    assert_eq!(
        (r.token.as_deref(), r.display_name.as_deref(), r.phone_candidate_count),
        (Some("t"), Some("D"), Some(3.0))
    );
    for bad in ["", "null", "[1]", "{", "\"x\""] {
        let err = answer_object(&ApiResponse { status: 200, body: bad.into() }).unwrap_err();
        assert_eq!(err.code, ErrorCode::NetworkError, "{bad}");
    }
}

#[test]
fn transport_failures_map_to_timeout_and_network() {
    assert_eq!(error_from_transport(&TransportError::Timeout).code, ErrorCode::Timeout);
    assert_eq!(
        error_from_transport(&TransportError::Network("refused".into())).code,
        ErrorCode::NetworkError
    );
}

/// A transport that answers every request with one scripted outcome and
/// keeps what it was sent: the real client's mapping, end to end.
struct Scripted {
    outcome: Result<ApiResponse, TransportError>,
    sent: std::cell::RefCell<Vec<(ApiRequest, u64)>>,
}

impl HttpTransport for Scripted {
    async fn send(&self, request: &ApiRequest, timeout_ms: u64) -> Result<ApiResponse, TransportError> {
        self.sent.borrow_mut().push((request.clone(), timeout_ms));
        self.outcome.clone()
    }
}

fn client(outcome: Result<ApiResponse, TransportError>) -> HttpConfigureApi<Scripted> {
    HttpConfigureApi {
        requests: builder(),
        transport: Scripted { outcome, sent: Default::default() },
        timeout_ms: 1234,
    }
}

fn answer(status: u16, body: &str) -> Result<ApiResponse, TransportError> {
    Ok(ApiResponse { status, body: body.into() })
}

fn structured(kind: &str, code: &str, message: &str) -> String {
    json!({ "error": { "type": kind, "code": code, "message": message }, "request_id": "req_1" }).to_string()
}

const CLIENT_SECRET: &str = "client-secret";

/// Every call of the client that reads its answer as an SDK object, each
/// run against `api`: its error when it failed.
fn every_call(api: &HttpConfigureApi<Scripted>) -> Vec<(&'static str, Option<ConfigureError>)> {
    let secret = Secret::new(CLIENT_SECRET);
    let client = OAuthClient { client_id: "cfg_client_1", client_secret: &secret };
    let token =
        TokenRequest { code: "c", redirect_uri: "https://e/cb", code_verifier: "v", resource: "https://r" };
    let refresh = TokenRefresh { refresh_token: "rt", resource: "https://r" };
    pollster::block_on(async {
        vec![
            ("validate", api.validate("tok").await.err()),
            ("exchange", api.exchange("cfgsic_1").await.err()),
            ("recognize_phone", api.recognize_phone(&["+14155550101".into()]).await.err()),
            ("allow_return_to", api.allow_return_to("https://e/cb").await.err()),
            ("oauth_token", api.oauth_token(client, token).await.err()),
            ("oauth_refresh", api.oauth_refresh(client, refresh).await.err()),
            ("profile_identity", api.profile_identity("at").await.err()),
        ]
    })
}

#[test]
fn answers_map_to_the_sdks_codes_through_every_call() {
    use ErrorCode::*;
    let cases: Vec<(u16, String, ErrorCode, &str)> = vec![
        // Configure's error JSON: by type (and code).
        (401, structured("authentication_error", "invalid_api_key", "Bad key"), AuthRequired, "Bad key"),
        (400, structured("invalid_request_error", "invalid_token", "Bad token"), InvalidInput, "Bad token"),
        (403, structured("permission_error", "forbidden", "No"), AccessDenied, "No"),
        (403, structured("permission_error", "commit_required", "Commit"), CommitRequired, "Commit"),
        (429, structured("rate_limit_error", "rate_limited", "Slow"), RateLimited, "Slow"),
        (429, structured("rate_limit_error", "quota_exceeded", "Pay"), PaymentRequired, "Pay"),
        (500, structured("api_error", "internal", "Oops"), ServerError, "Oops"),
        (424, structured("tool_error", "tool_not_connected", "Gmail"), ToolNotConnected, "Gmail"),
        (424, structured("tool_error", "tool_failed", "Tool"), ToolError, "Tool"),
        (400, structured("some_new_error", "x", "New"), ServerError, "New"),
        (
            401,
            json!({ "error": { "type": "authentication_error", "code": "k" } }).to_string(),
            AuthRequired,
            "Request failed",
        ),
        // Without both type and code it is a legacy answer: by status.
        (400, json!({ "error": { "type": "permission_error" } }).to_string(), InvalidInput, "Request failed"),
        (401, "{}".into(), AuthRequired, "Request failed"),
        (403, r#"{"error":"Forbidden"}"#.into(), AuthRequired, "Forbidden"),
        (404, "Not Found".into(), NotFound, "Request failed"),
        (409, r#"{"message":"Commit the profile first"}"#.into(), CommitRequired, "Commit the profile first"),
        (409, r#"{"message":"Conflict"}"#.into(), InvalidInput, "Conflict"),
        (429, r#"{"error":"slow down"}"#.into(), RateLimited, "slow down"),
        (500, "".into(), ServerError, "Request failed"),
        (503, "<html>Service Unavailable</html>".into(), ServerError, "Request failed"),
        (400, r#"{"message":"Tool not connected"}"#.into(), ToolNotConnected, "Tool not connected"),
        (400, r#"{"error":"Account not linked"}"#.into(), ToolNotConnected, "Account not linked"),
        (400, r#"{"error":5,"message":"bad"}"#.into(), InvalidInput, "bad"),
        (405, "bad gateway page".into(), InvalidInput, "Request failed"),
        (302, "".into(), InvalidInput, "Request failed"),
    ];
    for (status, body, code, message) in cases {
        let api = client(answer(status, &body));
        for (call, error) in every_call(&api) {
            let expected = ConfigureError::new(code, message).with_status(status);
            assert_eq!(error, Some(expected), "{call}: {status} {body}");
        }
        assert_eq!(api.transport.sent.borrow().len(), 7, "one request per call");
    }
}

#[test]
fn transport_failures_and_malformed_answers_through_every_call() {
    for (outcome, code, status) in [
        (Err(TransportError::Timeout), ErrorCode::Timeout, None),
        (Err(TransportError::Network("connection refused".into())), ErrorCode::NetworkError, None),
        (answer(200, "not json"), ErrorCode::NetworkError, Some(200)),
        (answer(200, "[]"), ErrorCode::NetworkError, Some(200)),
        (answer(201, ""), ErrorCode::NetworkError, Some(201)),
    ] {
        let api = client(outcome.clone());
        for (call, error) in every_call(&api) {
            let error = error.unwrap_or_else(|| panic!("{call} {outcome:?} succeeded"));
            assert_eq!((error.code, error.status), (code, status), "{call} {outcome:?}");
        }
    }
    let refused = client(Err(TransportError::Network("connection refused".into())));
    let error = pollster::block_on(refused.validate("t")).unwrap_err();
    assert_eq!(error.message, "connection refused");
    let late = pollster::block_on(client(Err(TransportError::Timeout)).validate("t")).unwrap_err();
    assert_eq!(late.message, "Request timed out");
}

#[test]
fn the_client_sends_the_built_request_with_its_timeout() {
    let api = client(answer(200, r#"{"valid":true,"userId":"u","agent":"my-agent","tokenUse":"agent"}"#));
    let validation = pollster::block_on(api.validate("tok")).unwrap();
    assert_eq!(
        validation,
        TokenValidation {
            valid: true,
            user_id: Some("u".into()),
            token_use: Some("agent".into()),
            approved: None,
            agent: Some("my-agent".into())
        }
    );
    assert_eq!(*api.transport.sent.borrow(), vec![(builder().validate("tok"), 1234)]);
    // Blank input is refused before any request.
    for error in [
        pollster::block_on(api.validate(" \t")).unwrap_err(),
        pollster::block_on(api.exchange("")).unwrap_err(),
        pollster::block_on(api.allow_return_to("\u{a0}")).unwrap_err(),
    ] {
        assert_eq!((error.code, error.status), (ErrorCode::InvalidInput, None), "{error}");
    }
    assert_eq!(api.transport.sent.borrow().len(), 1);
    // A 2xx answer that lacks what the SDK requires.
    let partial = client(answer(200, r#"{"token":"t","userId":"u"}"#));
    let error = pollster::block_on(partial.exchange("c")).unwrap_err();
    assert_eq!((error.code, error.status), (ErrorCode::ServerError, None));
    let no_token = client(answer(200, r#"{"token_type":"Bearer"}"#));
    let secret = Secret::new(CLIENT_SECRET);
    let oauth = OAuthClient { client_id: "id", client_secret: &secret };
    let request = TokenRequest { code: "c", redirect_uri: "r", code_verifier: "v", resource: "x" };
    assert_eq!(
        pollster::block_on(no_token.oauth_token(oauth, request)).unwrap_err().code,
        ErrorCode::ServerError
    );
    let empty = client(answer(200, r#"{"identity":"not an object"}"#));
    assert_eq!(pollster::block_on(empty.profile_identity("at")), Ok(Map::new()));
}

#[test]
fn introspection_reads_any_refusal_as_inactive_but_not_an_outage() {
    for (status, body) in [
        (401, structured("authentication_error", "invalid_token", "x")),
        (400, r#"{"error":"invalid_request"}"#.to_owned()),
        (500, "".to_owned()),
    ] {
        let api = client(answer(status, &body));
        assert_eq!(pollster::block_on(api.introspect("at")), Ok(Introspection::default()), "{status}");
    }
    let active = client(answer(200, r#"{"active":true,"sub":"sub_1"}"#));
    assert_eq!(
        pollster::block_on(active.introspect("at")),
        Ok(Introspection { active: true, sub: Some("sub_1".into()) })
    );
    let timeout = pollster::block_on(client(Err(TransportError::Timeout)).introspect("at"));
    assert_eq!(timeout.unwrap_err().code, ErrorCode::Timeout);
    let down = pollster::block_on(client(Err(TransportError::Network("reset".into()))).introspect("at"));
    assert_eq!(down.unwrap_err().code, ErrorCode::NetworkError);
    let malformed = pollster::block_on(client(answer(200, "<html>")).introspect("at"));
    assert_eq!(malformed.unwrap_err().code, ErrorCode::NetworkError);
}

#[test]
fn redirect_registration_maps_codes_and_explains_like_ensure_sso_callback() {
    let register =
        |outcome| pollster::block_on(client(outcome).add_oauth_redirect_uri("cfg_client_1", "https://e/cb"));
    for (status, body, code) in [
        (401, structured("authentication_error", "invalid_api_key", "expired"), ErrorCode::AuthRequired),
        (403, structured("permission_error", "forbidden", "not a secret key"), ErrorCode::AccessDenied),
        (403, "{}".to_owned(), ErrorCode::AuthRequired),
        (404, "{}".to_owned(), ErrorCode::NotFound),
        (422, r#"{"error":{"message":"bad uri"}}"#.to_owned(), ErrorCode::InvalidInput),
        (500, "".to_owned(), ErrorCode::ServerError),
    ] {
        let error = register(answer(status, &body)).unwrap_err();
        let reason = redirect_failure_reason(status, &body, "cfg_client_1");
        assert_eq!(error, ConfigureError::new(code, reason).with_status(status), "{status} {body}");
    }
    let late = register(Err(TransportError::Timeout)).unwrap_err();
    assert_eq!(
        (late.code, late.message.as_str()),
        (ErrorCode::Timeout, "could not reach https://api.example: Request timed out")
    );
    let refused = register(Err(TransportError::Network("refused".into()))).unwrap_err();
    assert_eq!(refused.code, ErrorCode::NetworkError);
    assert_eq!(
        register(answer(200, r#"{"redirect_uris":["https://e/cb",5],"changed":false}"#)),
        Ok(OAuthRedirects { redirect_uris: vec!["https://e/cb".into()], changed: false })
    );
    assert_eq!(
        register(answer(200, "not json")),
        Ok(OAuthRedirects { redirect_uris: vec![], changed: true }),
        "a 2xx without a readable body counts as a change"
    );
}

fn refresh_with(outcome: Result<ApiResponse, TransportError>) -> Result<OAuthTokens, ConfigureError> {
    let secret = Secret::new(CLIENT_SECRET);
    let client = OAuthClient { client_id: "cfg_client_1", client_secret: &secret };
    let refresh = TokenRefresh { refresh_token: "refresh-secret-1", resource: "https://api.configure.dev" };
    pollster::block_on(self::client(outcome).oauth_refresh(client, refresh))
}

#[test]
fn a_refresh_sends_the_built_request_and_reads_the_rotated_tokens() {
    let api = client(answer(
        200,
        r#"{"access_token":"at-2","token_type":"Bearer","expires_in":900,"refresh_token":"rt-2"}"#,
    ));
    let secret = Secret::new(CLIENT_SECRET);
    let oauth = OAuthClient { client_id: "cfg_client_1", client_secret: &secret };
    let refresh = TokenRefresh { refresh_token: "rt-1", resource: "https://api.configure.dev" };
    let tokens = pollster::block_on(api.oauth_refresh(oauth, refresh)).unwrap();
    assert_eq!(
        tokens,
        OAuthTokens {
            access_token: "at-2".into(),
            refresh_token: Some("rt-2".into()),
            expires_in: Some(900)
        }
    );
    assert_eq!(*api.transport.sent.borrow(), vec![(builder().oauth_refresh(oauth, refresh), 1234)]);
    // A server that does not rotate answers no refresh token.
    let kept = refresh_with(answer(200, r#"{"access_token":"at-3"}"#)).unwrap();
    assert_eq!((kept.refresh_token, kept.expires_in), (None, None));
    let error = refresh_with(answer(200, r#"{"refresh_token":"rt-2"}"#)).unwrap_err();
    assert_eq!((error.code, is_invalid_grant(&error)), (ErrorCode::ServerError, false));
}

#[test]
fn an_invalid_grant_is_recognised_and_nothing_else_is() {
    let refused = refresh_with(answer(
        400,
        r#"{"error":"invalid_grant","error_description":"refresh token refresh-secret-1 was already used"}"#,
    ))
    .unwrap_err();
    assert!(is_invalid_grant(&refused), "{refused:?}");
    // The mapping of OAuth error answers is kept: the `error` string is the message.
    assert_eq!(refused, ConfigureError::new(ErrorCode::InvalidInput, "invalid_grant").with_status(400));
    assert!(!refused.to_string().contains("refresh-secret-1"), "no token in the error: {refused}");
    assert!(!refused.to_string().contains(CLIENT_SECRET));
    assert!(!refused.is_transient());
    assert!(is_invalid_grant(&refresh_with(answer(400, r#"{"error":"invalid_grant"}"#)).unwrap_err()));
    // The same refusal of an authorization code is recognised too.
    let secret = Secret::new(CLIENT_SECRET);
    let oauth = OAuthClient { client_id: "cfg_client_1", client_secret: &secret };
    let code = TokenRequest { code: "c", redirect_uri: "r", code_verifier: "v", resource: "x" };
    let used_code = client(answer(400, r#"{"error":"invalid_grant"}"#));
    assert!(is_invalid_grant(&pollster::block_on(used_code.oauth_token(oauth, code)).unwrap_err()));

    for (outcome, what) in [
        (answer(500, r#"{"error":"invalid_grant"}"#), "a 5xx"),
        (answer(500, ""), "an outage"),
        (answer(503, &structured("api_error", "unavailable", "invalid_grant")), "a structured 5xx"),
        (answer(401, r#"{"error":"invalid_client"}"#), "a client refusal"),
        (answer(400, r#"{"error":"invalid_request"}"#), "another OAuth error"),
        (answer(400, r#"{"error":"unsupported_grant_type"}"#), "an unsupported grant"),
        (answer(400, r#"{"error_description":"invalid_grant"}"#), "only a description"),
        (answer(400, r#"{"message":"Invalid_Grant "}"#), "a lookalike"),
        (answer(429, r#"{"error":"invalid_grant"}"#), "a rate limit"),
        (answer(200, "not json"), "a malformed answer"),
        (Err(TransportError::Timeout), "a timeout"),
        (Err(TransportError::Network("invalid_grant".into())), "a network failure"),
    ] {
        let error = refresh_with(outcome).unwrap_err();
        assert!(!is_invalid_grant(&error), "{what}: {error:?}");
    }
    assert!(refresh_with(Err(TransportError::Timeout)).unwrap_err().is_transient());
}
