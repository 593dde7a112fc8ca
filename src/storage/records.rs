//! What the Worker keeps in KV, and under which keys. The schema:
//!
//! | key | value | expires |
//! |---|---|---|
//! | `journey:<b64url(sha256(journeyId))>` | `JourneyRecord` | KV TTL and `expiresAt` |
//! | `pending:<b64url(sha256(subject))>` | `PendingRecord` | KV TTL and `expiresAt` (its journey's) |
//! | `link:<b64url(sha256(subject))>` | `LinkRecord` | never (until deleted) |
//! | `ticket:<b64url(sha256(ticket))>` | `WebSignInRecord` | KV TTL and `expiresAt` |
//! | `state:<b64url(sha256(state))>` | `WebSignInRecord` | KV TTL and `expiresAt` |
//! | `redeem:<b64url(sha256(code))>` | `RedeemRecord` | KV TTL and `expiresAt` |
//! | `setup:<b64url(sha256(kind, url, version))>` | `SetupRecord` | never |
//!
//! Keys are fixed-length and never contain caller text. Values are versioned
//! JSON (`v`); secrets and identifiers inside them (the token, the journey's
//! subject) are sealed (seal.rs) with the KV key as associated data, so no
//! token, subject or journey id is stored in plain text. A link's plain
//! fields are part of its token's associated data (links.rs), so none can be
//! changed without the record failing to open. A record of an unknown
//! version or that does not open is treated as absent (and logged).
//!
//! A "Continue with Configure" login keeps nothing in KV before its callback:
//! its state, PKCE verifier and returnAfter travel sealed in the login cookie
//! (flows/oauth.rs).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The record version this code writes and reads (links: `LINK_VERSION`).
pub const RECORD_VERSION: u32 = 1;

/// Links are version 2: their plain fields are authenticated with the
/// token. Version 1 links (only the token bound, to the key) are still read
/// and re-sealed as version 2 on read.
pub const LINK_VERSION: u32 = 2;

fn hashed(prefix: &str, value: &str) -> String {
    format!("{prefix}:{}", URL_SAFE_NO_PAD.encode(crate::sealing::crypto::sha256(value.as_bytes())))
}

pub fn journey_key(journey_id: &str) -> String {
    hashed("journey", journey_id)
}

pub fn link_key(subject: &str) -> String {
    hashed("link", subject)
}

pub fn ticket_key(ticket: &str) -> String {
    hashed("ticket", ticket)
}

pub fn state_key(state: &str) -> String {
    hashed("state", state)
}

/// A web callback's result waiting for the app's redeem, by its one-time code.
pub fn redeem_key(code: &str) -> String {
    hashed("redeem", code)
}

/// A message completion waiting for its confirmation word, by subject.
pub fn pending_key(subject: &str) -> String {
    hashed("pending", subject)
}

/// The claim of a "Continue with Configure" login's state (the state
/// itself travels in the sealed login cookie; the ledger only spends it).
pub fn oauth_state_key(state: &str) -> String {
    hashed("oauth_state", state)
}

/// The ledger rows of one user's edge sessions share the object named by
/// this prefix (up to its `#`), so one command revokes them all.
pub fn sessions_prefix(sub: &str) -> String {
    format!("{}#", hashed("sessions", sub))
}

/// One edge session of `sub`, by its id.
pub fn session_key(sub: &str, session_id: &str) -> String {
    format!("{}{}", sessions_prefix(sub), hashed("session", session_id))
}

/// Remembers that `url` was registered with Configure as `kind` by this
/// version of the Worker, so registration runs once per deploy.
pub fn setup_key(kind: &str, url: &str, version: &str) -> String {
    hashed("setup", &format!("{kind}\n{url}\n{version}"))
}

/// A web sign-in in progress: first as a one-time ticket, then as the
/// state bound to the browser. The subject is sealed; `return_after` is an
/// allowlisted URL of the app (or none: the Worker's linked page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSignInRecord {
    pub v: u32,
    pub sealed_subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_after: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
}

/// A one-time item whose whole content is one sealed JSON payload (bound
/// to its KV key): a web callback's result waiting for the app's redeem
/// (`redeem:`), or a message completion waiting for its confirmation word
/// (`pending:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedItemRecord {
    pub v: u32,
    pub sealed: String,
    pub created_at: u64,
    pub expires_at: u64,
}

/// A registration done with Configure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetupRecord {
    pub v: u32,
    pub kind: String,
    pub registered_at: String,
}

/// How a message journey's completion is tied to the conversation that
/// asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// Configure must recognize the conversation's phone as the token's user
    /// (unrecognized phones fall back to the confirmation word).
    Phone,
    /// The completion waits until the conversation sends back the word.
    Confirmation,
    /// Whoever completes is linked (forwardable; the agent's choice).
    None,
    /// Configure minted a sender-bound URL for the conversation's sender
    /// (a verified `messageSenderProof`): the completion links at once, no
    /// confirmation word.
    Sender,
}

impl Binding {
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Phone => "phone",
            Binding::Confirmation => "confirmation",
            Binding::None => "none",
            Binding::Sender => "sender",
        }
    }

    /// A binding an agent may ask for: `sender` is never asked for, only
    /// earned (Configure verified the sender's proof and minted the URL).
    pub fn parse_requested(text: &str) -> Option<Binding> {
        [Binding::Phone, Binding::Confirmation, Binding::None].into_iter().find(|b| b.as_str() == text)
    }
}

/// A pending message sign-in: which subject the completion links, and how
/// it is bound to the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyRecord {
    pub v: u32,
    /// The subject, sealed; the binding is part of its associated data.
    pub sealed_subject: String,
    /// Absent in journeys made before bindings existed: read as `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<Binding>,
    /// The conversation's phone candidates (JSON list), sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_candidates: Option<String>,
    /// The confirmation word, sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_confirmation: Option<String>,
    pub created_at: u64,
    /// Milliseconds since the epoch; past it the journey is gone, whatever KV says.
    pub expires_at: u64,
}

/// How a link came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkSource {
    /// The completion webhook of a message journey.
    Webhook,
    /// Phone recognition during identity resolution.
    PhoneRecognition,
    /// The return-code callback of the web flow.
    Callback,
    /// "Continue with Configure" (OAuth 2): the subject is `configure:<sub>`.
    #[serde(rename = "oauth")]
    OAuth,
}

impl LinkSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkSource::Webhook => "webhook",
            LinkSource::PhoneRecognition => "phone_recognition",
            LinkSource::Callback => "callback",
            LinkSource::OAuth => "oauth",
        }
    }
}

/// A subject's linked Configure token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkRecord {
    /// `LINK_VERSION` when written; 1 for links written before it.
    pub v: u32,
    pub user_id: String,
    pub agent: String,
    /// The agent token (or OAuth access token), sealed.
    pub sealed_token: String,
    /// RFC 3339.
    pub linked_at: String,
    pub source: LinkSource,
    /// OAuth links: the refresh token, sealed (bound to the link key + `#refresh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_refresh_token: Option<String>,
    /// OAuth links: when the access token expires (RFC 3339), if the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// OAuth links: Configure refused the refresh token (`invalid_grant`);
    /// the user must sign in again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconnect_required: bool,
}

/// A record read back from its stored JSON by its derived `Deserialize`:
/// unknown fields are ignored, a missing or mistyped required field rejects
/// the whole record, an optional field may be missing or null. `v` is
/// checked by `parse_record` before the rest is read.
pub trait Record: DeserializeOwned {
    /// The versions this code reads.
    const VERSIONS: &'static [u32] = &[RECORD_VERSION];
}

/// A record that carries its own expiry (KV's TTL floor is 60 s, so
/// shorter lives are checked against this on every read).
pub trait Expiring {
    /// Milliseconds since the epoch.
    fn expires_at(&self) -> u64;
}

impl Expiring for JourneyRecord {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl Expiring for WebSignInRecord {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl Expiring for SealedItemRecord {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// Parses a stored record of a version this code reads; anything else is `None`.
pub fn parse_record<T: Record>(text: &str) -> Option<T> {
    // Read as a JSON object first: a record is never an array (which serde's
    // derive would read field by field), and a repeated key counts once,
    // with its last value.
    let fields: Map<String, Value> = serde_json::from_str(text).ok()?;
    let v = fields.get("v")?.as_u64()?;
    if !T::VERSIONS.iter().any(|known| u64::from(*known) == v) {
        return None;
    }
    T::deserialize(Value::Object(fields)).ok()
}

impl Record for WebSignInRecord {}

impl Record for SealedItemRecord {}

impl Record for SetupRecord {}

impl Record for JourneyRecord {}

impl Record for LinkRecord {
    const VERSIONS: &'static [u32] = &[1, LINK_VERSION];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_length_and_hide_the_input() {
        let a = link_key("spectrum:+14155551234");
        let b = link_key(&"x".repeat(10_000));
        assert_eq!(a.len(), b.len());
        assert!(a.starts_with("link:") && !a.contains("4155551234"));
        assert_eq!(journey_key("j").len(), "journey:".len() + 43);
        assert_ne!(link_key("a"), link_key("b"));
    }

    #[test]
    fn records_of_other_versions_are_absent() {
        let link = LinkRecord {
            v: 2,
            user_id: "u".into(),
            agent: "a".into(),
            sealed_token: "k1.x".into(),
            linked_at: "2026-01-01T00:00:00.000Z".into(),
            source: LinkSource::Webhook,
            sealed_refresh_token: None,
            expires_at: None,
            reconnect_required: false,
        };
        let text = serde_json::to_string(&link).unwrap();
        assert!(text.contains("\"sealedToken\"") && text.contains("\"source\":\"webhook\""));
        assert_eq!(parse_record::<LinkRecord>(&text), Some(link));
        assert_eq!(parse_record::<LinkRecord>(&text.replace("\"v\":2", "\"v\":3")), None);
        assert_eq!(parse_record::<LinkRecord>(&text.replace("\"v\":2", "\"v\":1")).unwrap().v, 1);
        assert_eq!(parse_record::<LinkRecord>("{}"), None);
        assert_eq!(parse_record::<LinkRecord>("not json"), None);
        assert_eq!(parse_record::<LinkRecord>("{\"v\":1}"), None);
        assert_eq!(parse_record::<LinkRecord>(&text.replace("\"webhook\"", "\"other\"")), None);
        assert_eq!(parse_record::<LinkRecord>(&text.replace("\"v\":2", "\"v\":2.0")), None);
    }

    #[test]
    fn records_read_by_the_same_rules() {
        let journey = r#"{"v":1,"sealedSubject":"k1.s","binding":"phone","createdAt":5,"expiresAt":6}"#;
        let read = parse_record::<JourneyRecord>(journey).unwrap();
        assert_eq!((read.binding, read.sealed_candidates.as_deref()), (Some(Binding::Phone), None));
        // Unknown fields are ignored; optional fields may be null; a repeated key counts once (the last).
        let extra = journey.replace("\"v\":1,", "\"v\":1,\"other\":{\"x\":[1]},\"sealedCandidates\":null,");
        assert_eq!(parse_record::<JourneyRecord>(&extra), Some(read.clone()));
        let repeated = journey.replace("\"createdAt\":5", "\"createdAt\":\"x\",\"createdAt\":5");
        assert_eq!(parse_record::<JourneyRecord>(&repeated), Some(read));
        // A missing or mistyped required field, a mistyped optional one, an
        // unknown binding, or a record that is not an object: absent.
        for bad in [
            journey.replace("\"createdAt\":5,", ""),
            journey.replace("\"createdAt\":5", "\"createdAt\":5.5"),
            journey.replace("\"createdAt\":5", "\"createdAt\":-5"),
            journey.replace("\"createdAt\":5", "\"createdAt\":null"),
            journey.replace("\"sealedSubject\":\"k1.s\"", "\"sealedSubject\":7"),
            journey.replace("\"binding\":\"phone\"", "\"binding\":\"other\""),
            journey.replace("\"binding\":\"phone\"", "\"binding\":true"),
            journey.replace("\"v\":1", "\"v\":\"1\""),
            r#"[1,"k1.s","phone",null,null,5,6]"#.to_owned(),
        ] {
            assert_eq!(parse_record::<JourneyRecord>(&bad), None, "{bad}");
        }
        // What is written is what was written before (field names and order).
        let link = LinkRecord {
            v: 2,
            user_id: "u".into(),
            agent: "a".into(),
            sealed_token: "k1.t".into(),
            linked_at: "2026-01-01T00:00:00.000Z".into(),
            source: LinkSource::PhoneRecognition,
            sealed_refresh_token: None,
            expires_at: Some("2026-01-01T01:00:00.000Z".into()),
            reconnect_required: false,
        };
        assert_eq!(
            serde_json::to_string(&link).unwrap(),
            r#"{"v":2,"userId":"u","agent":"a","sealedToken":"k1.t","linkedAt":"2026-01-01T00:00:00.000Z","source":"phone_recognition","expiresAt":"2026-01-01T01:00:00.000Z"}"#
        );
    }

    #[test]
    fn every_record_reads_back_what_was_written() {
        fn round_trip<T: Serialize + Record + PartialEq + std::fmt::Debug>(record: T) {
            let text = serde_json::to_string(&record).unwrap();
            assert_eq!(parse_record::<T>(&text), Some(record), "{text}");
        }
        for source in
            [LinkSource::Webhook, LinkSource::PhoneRecognition, LinkSource::Callback, LinkSource::OAuth]
        {
            round_trip(LinkRecord {
                v: 2,
                user_id: "u".into(),
                agent: "a".into(),
                sealed_token: "k1.t".into(),
                linked_at: "2026-01-01T00:00:00.000Z".into(),
                source,
                sealed_refresh_token: Some("k1.r".into()),
                expires_at: Some("2026-01-01T01:00:00.000Z".into()),
                reconnect_required: source == LinkSource::OAuth,
            });
        }
        for return_after in [None, Some("https://app.example/x".to_owned())] {
            round_trip(WebSignInRecord {
                v: 1,
                sealed_subject: "k1.s".into(),
                return_after,
                created_at: 1,
                expires_at: 2,
            });
        }
        round_trip(SealedItemRecord { v: 1, sealed: "k1.p".into(), created_at: 3, expires_at: 4 });
        round_trip(SetupRecord {
            v: 1,
            kind: "sso".into(),
            registered_at: "2026-01-01T00:00:00.000Z".into(),
        });
        round_trip(JourneyRecord {
            v: 1,
            sealed_subject: "k1.s".into(),
            binding: None,
            sealed_candidates: None,
            sealed_confirmation: None,
            created_at: 5,
            expires_at: 6,
        });
        for binding in [Binding::Phone, Binding::Confirmation, Binding::None, Binding::Sender] {
            round_trip(JourneyRecord {
                v: 1,
                sealed_subject: "k1.s".into(),
                binding: Some(binding),
                sealed_candidates: Some("k1.c".into()),
                sealed_confirmation: Some("k1.w".into()),
                created_at: 5,
                expires_at: 6,
            });
        }
        // Records written with an explicit null for an optional field read as absent.
        let text = r#"{"v":1,"sealedSubject":"k1.s","returnAfter":null,"createdAt":1,"expiresAt":2}"#;
        assert_eq!(parse_record::<WebSignInRecord>(text).unwrap().return_after, None);
    }
}
