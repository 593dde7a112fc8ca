//! The SDK's message sign-in methods through the agent API, natively:
//! minted, sender-bound URLs (`POST /v1/journeys` with `messageSenderProof`,
//! Configure's `createMessageSignInUrl`) and the agent's message line
//! (`POST /v1/setup` with `CONFIGURE_EDGE_MESSAGE_LINE_PHONE`).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use configure_edge::flows::journeys::JourneyRequest;
use serde_json::{json, Value};
use support::*;

const PROOF: &str = "provider-signed-proof-1";
const MESSAGE_URL: &str = "POST /v1/auth/sign-in/message-url";

const SENDER: &str = "+14155550100";

/// Configure verifies `PROOF` on imessage, and knows `SENDER` as user-1.
fn harness() -> Harness {
    Harness::with_settings(
        FakeConfigure::default().with_sender_proof(PROOF, "imessage").with_phone(
            SENDER,
            "tok-recognized",
            "user-1",
            AGENT,
        ),
        &[("PUBLIC_URL", "https://agent-edge.example")],
    )
}

fn with_token(h: &Harness, token: &str, user: &str) {
    h.configure().tokens.borrow_mut().insert(token.into(), (user.into(), AGENT.into()));
}

fn journey(h: &Harness, body: Value) -> (u16, Value) {
    let response = h.call(agent_post("/v1/journeys", &body.to_string()));
    (response.status, json(&response))
}

fn complete(h: &Harness, token: &str, user: &str, journey_id: &str) -> u16 {
    let body =
        format!(r#"{{"token":"{token}","userId":"{user}","agent":"{AGENT}","journeyId":"{journey_id}"}}"#);
    h.call(webhook(&body)).status
}

fn link_of(h: &Harness, subject: &str) -> Value {
    let response = h.call(agent_get(&format!("/v1/links/{subject}")));
    if response.status == 404 {
        return Value::Null;
    }
    json(&response)
}

fn message_url_calls(h: &Harness) -> Vec<String> {
    h.calls().into_iter().filter(|line| line.starts_with(MESSAGE_URL)).collect()
}

#[test]
fn a_verified_proof_mints_a_sender_bound_journey_that_links_at_once() {
    let h = harness();
    let (status, body) = journey(
        &h,
        json!({
            "subject": "spectrum:space-1",
            "messageSenderProof": PROOF,
            "channel": "imessage",
            "reason": "signin",
            "senderId": "+14155550100",
            "externalId": "spectrum:space-1",
            "thread": { "spaceId": "space-1", "messageId": "m-9" },
            "connectors": ["gmail", "calendar"],
            "displayName": "Your Agent",
            "messageLinePhone": "+14155551234",
            "messageBody": "done",
            "theme": "dark",
        }),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["journeyId"].as_str().unwrap().to_owned();
    // The SDK's request, field for field and in its order.
    assert_eq!(
        message_url_calls(&h),
        vec![format!(
            r#"{MESSAGE_URL} {{"reason":"signin","channel":"imessage","subject":{{"key":"spectrum:space-1","externalId":"spectrum:space-1","senderId":"+14155550100"}},"thread":{{"spaceId":"space-1","messageId":"m-9"}},"messageSenderProof":"{PROOF}","connectors":["gmail","calendar"],"displayName":"Your Agent","theme":"dark","messageLinePhone":"+14155551234","messageBody":"done","messageCompleteUrl":"https://agent-edge.example/auth/configure/complete","journeyId":"{id}","returnMode":"message"}}"#
        )]
    );
    // Configure's URL and code; bound to the sender, so no word.
    assert_eq!(body["mode"], "minted");
    assert_eq!(body["binding"], "sender");
    assert!(body["code"].as_str().unwrap().starts_with("cfgmsu_"));
    assert_eq!(body["url"], format!("https://sign-in.me/{AGENT}?code={}", body["code"].as_str().unwrap()));
    assert!(body.get("confirmation").is_none() && body.get("fallbackReason").is_none(), "{body}");
    // The journey's own TTL is sooner than the code's (2099).
    assert_eq!(body["expiresAt"], "2026-11-28T13:35:54.000Z");

    // A forwarded URL shows the journey; someone else's completion is
    // refused, as Configure knows the sender's phone as user-1.
    with_token(&h, "tok-intruder", "user-9");
    let refused = h.call(webhook(&format!(
        r#"{{"token":"tok-intruder","userId":"user-9","agent":"{AGENT}","journeyId":"{id}"}}"#
    )));
    assert_eq!((refused.status, json(&refused)["error"]["code"].as_str()), (409, Some("phone_mismatch")));
    assert_eq!(link_of(&h, "spectrum:space-1"), Value::Null);
    // The sender's completion links at once, with no word from the thread.
    with_token(&h, "tok-1", "user-1");
    assert_eq!(complete(&h, "tok-1", "user-1", &id), 200);
    let link = link_of(&h, "spectrum:space-1");
    assert_eq!((link["userId"].as_str(), link["source"].as_str()), (Some("user-1"), Some("webhook")));
    assert_eq!(complete(&h, "tok-1", "user-1", &id), 404, "single use");
}

#[test]
fn a_sender_configure_does_not_recognize_links_nothing() {
    let h = harness();
    let body = json!({ "subject": "s-unknown", "messageSenderProof": PROOF, "channel": "imessage", "senderId": "+14155550177" });
    let (_, created) = journey(&h, body);
    with_token(&h, "tok-2", "user-2");
    let id = created["journeyId"].as_str().unwrap();
    let refused = h.call(webhook(&format!(
        r#"{{"token":"tok-2","userId":"user-2","agent":"{AGENT}","journeyId":"{id}"}}"#
    )));
    assert_eq!(
        (refused.status, json(&refused)["error"]["code"].as_str()),
        (409, Some("sender_not_verified"))
    );
    assert_eq!(json(&refused)["linked"], false);
    assert_eq!(link_of(&h, "s-unknown"), Value::Null);
    // Without a sender id the conversation's phone candidates are the sender's.
    let body = json!({ "subject": "s-cands", "messageSenderProof": PROOF, "channel": "imessage", "phoneCandidates": [SENDER] });
    let (_, created) = journey(&h, body);
    assert_eq!(created["binding"], "sender");
    with_token(&h, "tok-1", "user-1");
    assert_eq!(complete(&h, "tok-1", "user-1", created["journeyId"].as_str().unwrap()), 200);
}

#[test]
fn a_minted_journey_ends_with_its_code_when_that_is_sooner() {
    let h = harness();
    *h.configure().minted_expires_at.borrow_mut() = "2026-11-28T14:25:54+01:00".to_owned(); // NOW + 5 min
    let (status, body) =
        journey(&h, json!({ "subject": "s-exp", "messageSenderProof": PROOF, "channel": "imessage" }));
    assert_eq!(status, 201);
    assert_eq!(body["expiresAt"], "2026-11-28T13:25:54.000Z");
    // Defaults: reason "signin", externalId edge:<subject>, no sender id.
    assert!(message_url_calls(&h)[0].contains(
        r#""reason":"signin","channel":"imessage","subject":{"key":"s-exp","externalId":"edge:s-exp"},"messageSenderProof""#
    ));
    with_token(&h, "tok-2", "user-2");
    h.advance(5 * 60 * 1000);
    let id = body["journeyId"].as_str().unwrap();
    assert_eq!(complete(&h, "tok-2", "user-2", id), 404, "expired with the code");
}

#[test]
fn without_a_sender_phone_a_minted_journey_never_replaces_another_users_link() {
    let h = harness();
    let minted = |subject: &str| {
        let (status, body) =
            journey(&h, json!({ "subject": subject, "messageSenderProof": PROOF, "channel": "imessage" }));
        assert_eq!((status, body["binding"].as_str()), (201, Some("sender")));
        body["journeyId"].as_str().unwrap().to_owned()
    };
    with_token(&h, "tok-a", "user-a");
    with_token(&h, "tok-b", "user-b");
    assert_eq!(complete(&h, "tok-a", "user-a", &minted("s-none")), 200, "Configure's sender binding alone");
    let second = minted("s-none");
    assert_eq!(complete(&h, "tok-b", "user-b", &second), 409);
    assert_eq!(link_of(&h, "s-none")["userId"], "user-a");
    // The same user signing in again is fine.
    assert_eq!(complete(&h, "tok-a", "user-a", &second), 200);
}

#[test]
fn a_minted_url_that_is_not_https_or_already_expired_is_never_handed_out() {
    let h = harness();
    for url in [
        "http://sign-in.me/my-agent?code=c",
        "javascript:alert(1)",
        "https://user:pw@sign-in.me/x",
        "//sign-in.me/x",
    ] {
        let answer = json!({ "mode": "minted", "url": url, "code": "c", "reason": "signin", "expiresAt": "2099-01-01T00:00:00Z" });
        h.configure().fail(MESSAGE_URL, Injected::Answer(200, answer.to_string()));
        let (status, body) =
            journey(&h, json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage" }));
        assert_eq!((status, body["error"]["code"].as_str()), (502, Some("configure_unavailable")), "{url}");
    }
    let answer = json!({ "mode": "minted", "url": "https://sign-in.me/my-agent?code=c", "code": "c", "reason": "signin", "expiresAt": "2026-11-28T13:20:54Z" });
    h.configure().fail(MESSAGE_URL, Injected::Answer(200, answer.to_string()));
    let (status, _) =
        journey(&h, json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage" }));
    assert_eq!(status, 502, "expired at NOW");
    assert!(h.store.entries().is_empty());
}

#[test]
fn an_unverified_proof_falls_back_to_the_plain_url_and_its_binding() {
    let h = harness();
    for (proof, channel, why) in [
        ("forged", "imessage", "sender_proof_invalid"),
        (PROOF, "sms", "sender_proof_invalid"),
        (PROOF, "carrier-pigeon", "sender_proof_unsupported"),
    ] {
        let subject = format!("plain-{why}-{channel}");
        let (status, body) = journey(
            &h,
            json!({ "subject": subject, "messageSenderProof": proof, "channel": channel, "reason": "reconnect" }),
        );
        assert_eq!(status, 201, "{body}");
        assert_eq!((body["mode"].as_str(), body["fallbackReason"].as_str()), (Some("plain"), Some(why)));
        assert!(body.get("code").is_none());
        // The Worker's own URL, bound by the confirmation word as without a proof.
        assert_eq!(body["binding"], "confirmation");
        let word = body["confirmation"].as_str().unwrap();
        let url = body["url"].as_str().unwrap();
        assert!(url.contains(&format!("journey={}", body["journeyId"].as_str().unwrap())), "{url}");
        assert!(url.contains(&format!("message_body=done+{word}")), "{url}");
    }
    // With phone candidates the fallback is phone-bound.
    let (_, body) = journey(
        &h,
        json!({ "subject": "plain-phone", "messageSenderProof": "forged", "channel": "imessage", "phoneCandidates": ["+14155550111"] }),
    );
    assert_eq!((body["binding"].as_str(), body["mode"].as_str()), (Some("phone"), Some("plain")));
    // Without a proof Configure is not asked, and the answer has no mode.
    let before = message_url_calls(&h).len();
    let (_, body) = journey(&h, json!({ "subject": "no-proof", "channel": "imessage", "reason": "signin" }));
    assert_eq!(message_url_calls(&h).len(), before);
    assert!(body.get("mode").is_none() && body.get("fallbackReason").is_none(), "{body}");
}

#[test]
fn minted_journey_input_errors_name_the_field_and_ask_nothing() {
    let h = harness();
    for (body, field) in [
        (json!({ "subject": "s", "messageSenderProof": PROOF }), "channel"),
        (
            json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage", "reason": "later" }),
            "reason",
        ),
        (
            json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage", "thread": "t" }),
            "thread",
        ),
        (json!({ "subject": "s", "messageSenderProof": 7, "channel": "imessage" }), "messageSenderProof"),
        (
            json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage", "binding": "sender" }),
            "binding",
        ),
    ] {
        let (status, answer) = journey(&h, body.clone());
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    assert!(h.calls().is_empty());
    assert!(h.store.entries().is_empty());
}

#[test]
fn configure_failing_to_mint_is_502_and_writes_nothing() {
    let h = harness();
    h.configure().fail(MESSAGE_URL, server_error());
    let (status, body) =
        journey(&h, json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage" }));
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("configure_unavailable")));
    assert!(h.store.entries().is_empty(), "no journey without its URL");
    // Configure refusing the request itself is the agent's 400.
    h.configure()
        .fail(MESSAGE_URL, error_answer(400, "invalid_request_error", "bad_channel", "unknown channel"));
    let (status, body) =
        journey(&h, json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage" }));
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Configure refused") && !message.contains("unknown channel"), "{message}");
    // An answer of another shape than the SDK reads is 502 too.
    h.configure().fail(
        MESSAGE_URL,
        Injected::Answer(200, r#"{"mode":"magic","url":"https://x","reason":"signin"}"#.into()),
    );
    let (status, _) =
        journey(&h, json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage" }));
    assert_eq!(status, 502);
    assert!(h.store.entries().is_empty());
}

#[test]
fn the_proof_never_reaches_debug_output_or_the_store() {
    let body = json!({ "subject": "s", "messageSenderProof": PROOF, "channel": "imessage" });
    let request = JourneyRequest::from_json(body.as_object().unwrap()).unwrap();
    assert!(!format!("{request:?}").contains(PROOF));
    let h = harness();
    assert_eq!(journey(&h, body).0, 201);
    for (key, value) in h.store.entries() {
        assert!(!key.contains(PROOF) && !value.contains(PROOF));
    }
    assert!(!h.log.0.borrow().join("\n").contains(PROOF));
}

#[test]
fn journeys_default_to_the_agents_message_line() {
    let h = Harness::with_settings(
        FakeConfigure::default(),
        &[
            ("PUBLIC_URL", "https://agent-edge.example"),
            ("CONFIGURE_EDGE_MESSAGE_LINE_PHONE", "(415) 555-0199"),
        ],
    );
    let (_, body) = journey(&h, json!({ "subject": "line-1", "binding": "none" }));
    assert!(body["url"].as_str().unwrap().contains("message_line_phone=%2B4155550199"), "{body}");
    let (_, body) =
        journey(&h, json!({ "subject": "line-2", "binding": "none", "messageLinePhone": "+14155550123" }));
    assert!(body["url"].as_str().unwrap().contains("message_line_phone=%2B14155550123"), "{body}");
}

const LINES: &str = "GET /v1/auth/sign-in/message-lines";
const REGISTER_LINE: &str = "POST /v1/auth/sign-in/message-lines";

fn setup_with_line(phone: &str) -> Harness {
    Harness::with_settings(
        FakeConfigure::default(),
        &[("PUBLIC_URL", "https://agent-edge.example"), ("CONFIGURE_EDGE_MESSAGE_LINE_PHONE", phone)],
    )
}

fn line_entries(setup: &Value, list: &str) -> Vec<Value> {
    setup[list].as_array().unwrap().iter().filter(|r| r["kind"] == "message_line").cloned().collect()
}

#[test]
fn setup_registers_the_message_line_once() {
    let h = setup_with_line("+1 (415) 555-0142");
    let setup = json(&h.call(agent_post("/v1/setup", "{}")));
    assert_eq!(setup["ok"], true, "{setup}");
    assert_eq!(
        line_entries(&setup, "registered"),
        vec![json!({ "kind": "message_line", "phone": "+14155550142", "status": "registered" })]
    );
    // Listed first, then registered with the SDK's body.
    let lines: Vec<String> = h.calls().into_iter().filter(|l| l.contains("message-lines")).collect();
    assert_eq!(lines, vec![LINES.to_owned(), format!(r#"{REGISTER_LINE} {{"phone":"+14155550142"}}"#)]);
    // Again: Configure lists it (by its last four digits), nothing is registered.
    let setup = json(&h.call(agent_post("/v1/setup", "{}")));
    assert_eq!(line_entries(&setup, "registered")[0]["status"], "already-registered");
    assert_eq!(h.calls().iter().filter(|l| l.starts_with(REGISTER_LINE)).count(), 1);
    assert_eq!(h.configure().message_lines.borrow().len(), 1);
}

#[test]
fn a_line_of_another_channel_with_the_same_last_four_digits_is_not_this_one() {
    let h = setup_with_line("+14155550142");
    h.configure().message_lines.borrow_mut().push(("+12125550142".into(), "sms".into()));
    let setup = json(&h.call(agent_post("/v1/setup", "{}")));
    assert_eq!(line_entries(&setup, "registered")[0]["status"], "registered");
    assert!(h.calls().iter().any(|l| l == &format!(r#"{REGISTER_LINE} {{"phone":"+14155550142"}}"#)));
}

#[test]
fn setup_reports_a_failed_message_line_and_the_rest_still_registers() {
    let h = setup_with_line("+14155550142");
    h.configure().fail(LINES, server_error());
    let setup = json(&h.call(agent_post("/v1/setup", "{}")));
    assert_eq!(setup["ok"], false);
    let failed = line_entries(&setup, "failed");
    assert_eq!(failed.len(), 1, "{setup}");
    assert_eq!(
        (failed[0]["phone"].as_str(), failed[0]["code"].as_str()),
        (Some("+14155550142"), Some("SERVER_ERROR"))
    );
    assert!(setup["registered"].as_array().unwrap().iter().any(|r| r["kind"] == "return_to"));
    assert!(h.calls().iter().all(|l| !l.starts_with(REGISTER_LINE)), "not registered blind");
}

#[test]
fn an_invalid_message_line_is_a_setting_problem_and_never_sent() {
    let h = setup_with_line("not a phone");
    let health =
        json(&h.call(configure_edge::HttpRequest::new("GET", "https://edge.example/healthz").unwrap()));
    let problem = health["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["setting"] == "CONFIGURE_EDGE_MESSAGE_LINE_PHONE")
        .cloned()
        .expect("a problem");
    assert!(!problem.to_string().contains("not a phone"), "never the value: {problem}");
    assert_eq!(health["settings"]["CONFIGURE_EDGE_MESSAGE_LINE_PHONE"], true);
    let setup = json(&h.call(agent_post("/v1/setup", "{}")));
    assert!(line_entries(&setup, "registered").is_empty() && line_entries(&setup, "failed").is_empty());
    assert!(h.calls().iter().all(|l| !l.contains("message-lines")));
}
