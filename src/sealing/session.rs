//! The edge session of "Continue with Configure": who is signed in, carried
//! by the browser in a signed, expiring cookie, so that answering
//! `GET /auth/configure/session` needs no storage.
//!
//! Cookie value: `v1.<keyId>.<base64url(JSON)>.<base64url(HMAC-SHA256)>`,
//! the MAC over everything before the last dot, under the key named by
//! `keyId`. Keys come from `CONFIGURE_EDGE_SESSION_KEYS` (`id:base64key,...`,
//! 32-byte keys): the first signs, every key verifies, so a key is rotated
//! by putting a new one first and dropping the old one a session lifetime
//! later. The session is stateless: logging out clears the cookie, and a
//! copied cookie stays valid until it expires (kept short by
//! `CONFIGURE_EDGE_SESSION_TTL_SECONDS`).

use crate::sealing::crypto::hmac_sha256;
use crate::sealing::seal::{parse_key_list, KeyringError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;
use subtle::ConstantTimeEq;

/// The session cookie: `__Host-` (Secure, host-only, Path=/), HttpOnly, Lax.
pub const SESSION_COOKIE: &str = "__Host-configure-edge-session";

const FORMAT: &str = "v1";

/// What is kept of a name or email: enough for any real one, and the
/// cookie stays far below browsers' 4 KB limit.
const MAX_FIELD_CHARS: usize = 256;

/// The signed-in user, shaped as the SDK's `mapProfileToUser` returns it.
/// Read back from the cookie: unknown fields ignored, `email` may be
/// missing or null, every other field required with its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionUser {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
}

impl SessionUser {
    /// `mapProfileToUser` over `{sub, ...identity, emailVerified: Boolean(email)}`.
    pub fn from_identity(sub: &str, identity: &serde_json::Map<String, serde_json::Value>) -> SessionUser {
        let text = |key: &str| {
            identity
                .get(key)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(MAX_FIELD_CHARS).collect::<String>())
        };
        let email = text("email");
        SessionUser {
            id: sub.to_owned(),
            name: text("name").unwrap_or_else(|| "Configure user".to_owned()),
            email_verified: email.is_some(),
            email,
        }
    }
}

/// A session: the user, and when it was issued and expires (seconds since
/// the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeSession {
    pub user: SessionUser,
    pub iat: u64,
    pub exp: u64,
    /// The session's id, recorded in the ledger (flows/sessions.rs);
    /// missing in cookies signed before sessions were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The HMAC keys of the session cookie. `Debug` shows the ids only.
pub struct SessionKeys {
    keys: Vec<(String, Vec<u8>)>,
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("SessionKeys").field("ids", &ids).finish_non_exhaustive()
    }
}

impl SessionKeys {
    /// Parses `id:base64key[,id:base64key...]`, 32-byte keys.
    pub fn parse(setting: &str) -> Result<SessionKeys, KeyringError> {
        Ok(SessionKeys { keys: parse_key_list(setting)? })
    }

    /// The cookie value of `session`, signed with the first key.
    pub fn sign(&self, session: &EdgeSession) -> String {
        let (id, key) = &self.keys[0];
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(session).unwrap_or_default());
        let signed = format!("{FORMAT}.{id}.{payload}");
        let tag = URL_SAFE_NO_PAD.encode(hmac_sha256(key, signed.as_bytes()));
        format!("{signed}.{tag}")
    }

    /// The session in a cookie value, if it was signed by one of our keys,
    /// is well formed and has not expired at `now_seconds`.
    pub fn verify(&self, value: &str, now_seconds: u64) -> Option<EdgeSession> {
        let (signed, tag) = value.rsplit_once('.')?;
        let mut parts = signed.splitn(3, '.');
        let (format, id, payload) = (parts.next()?, parts.next()?, parts.next()?);
        if format != FORMAT || payload.contains('.') {
            return None;
        }
        let (_, key) = self.keys.iter().find(|(known, _)| known == id)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // Compared in constant time.
        if !bool::from(hmac_sha256(key, signed.as_bytes())[..].ct_eq(&tag[..])) {
            return None;
        }
        let session: EdgeSession = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (now_seconds < session.exp).then_some(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn keys(setting: &str) -> SessionKeys {
        SessionKeys::parse(setting).unwrap()
    }

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    fn session(exp: u64) -> EdgeSession {
        EdgeSession {
            user: SessionUser {
                id: "sub_1".into(),
                name: "Pat".into(),
                email: Some("pat@example.com".into()),
                email_verified: true,
            },
            iat: 100,
            exp,
            sid: Some("sid_1".into()),
        }
    }

    #[test]
    fn signs_and_verifies_until_expiry() {
        let ring = keys(&format!("s1:{}", key(1)));
        let value = ring.sign(&session(200));
        assert!(value.starts_with("v1.s1."));
        assert_eq!(ring.verify(&value, 199), Some(session(200)));
        assert_eq!(ring.verify(&value, 200), None);
        let mut no_email = session(300);
        no_email.user.email = None;
        no_email.user.email_verified = false;
        assert_eq!(ring.verify(&ring.sign(&no_email), 250), Some(no_email));
    }

    #[test]
    fn tampering_and_foreign_keys_are_refused() {
        let ring = keys(&format!("s1:{}", key(1)));
        let value = ring.sign(&session(200));
        let (signed, tag) = value.rsplit_once('.').unwrap();
        let (head, payload) = signed.rsplit_once('.').unwrap();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&EdgeSession { exp: 10_000, ..session(200) }).unwrap());
        for bad in [
            format!("{head}.{forged_payload}.{tag}"),
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            format!("{signed}.x{tag}"),
            // A truncated or overlong tag (still valid base64url).
            format!("{signed}.{}", &tag[..tag.len() - 3]),
            format!("{signed}.{tag}AAAA"),
            value.replacen("v1.", "v2.", 1),
            value.replacen(".s1.", ".s9.", 1),
            format!("{head}.{payload}"),
            String::new(),
            "v1.s1..".to_owned(),
        ] {
            assert_eq!(ring.verify(&bad, 150), None, "{bad}");
        }
        let other = keys(&format!("s1:{}", key(2)));
        assert_eq!(other.verify(&value, 150), None, "same id, another key");
    }

    /// A cookie value over `payload` as given, signed with key `s1` = `key(1)`.
    fn signed_raw(payload: &str) -> String {
        let signed = format!("v1.s1.{}", URL_SAFE_NO_PAD.encode(payload));
        let tag = URL_SAFE_NO_PAD.encode(hmac_sha256(&[1; 32], signed.as_bytes()));
        format!("{signed}.{tag}")
    }

    #[test]
    fn payload_json_is_pinned_and_read_by_the_same_rules() {
        let ring = keys(&format!("s1:{}", key(1)));
        let value = ring.sign(&session(200));
        let payload = value.split('.').nth(2).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(payload).unwrap(),
            br#"{"user":{"id":"sub_1","name":"Pat","email":"pat@example.com","emailVerified":true},"iat":100,"exp":200,"sid":"sid_1"}"#
        );
        assert_eq!(
            value,
            signed_raw(std::str::from_utf8(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap())
        );
        let user = r#""id":"s","name":"N","emailVerified":false"#;
        let bare = EdgeSession {
            user: SessionUser { id: "s".into(), name: "N".into(), email: None, email_verified: false },
            iat: 1,
            exp: 200,
            sid: None,
        };
        // Unknown fields are ignored; `email` may be missing or null.
        for ok in [
            format!(r#"{{"user":{{{user}}},"iat":1,"exp":200}}"#),
            format!(r#"{{"user":{{{user},"email":null,"extra":[1]}},"iat":1,"exp":200,"more":{{}}}}"#),
        ] {
            assert_eq!(ring.verify(&signed_raw(&ok), 150), Some(bare.clone()), "{ok}");
        }
        // A missing or mistyped field rejects the whole session.
        for bad in [
            format!(r#"{{"user":{{{user}}},"iat":1}}"#),
            format!(r#"{{"user":{{{user}}},"iat":1,"exp":200.5}}"#),
            format!(r#"{{"user":{{{user}}},"iat":-1,"exp":200}}"#),
            format!(r#"{{"user":{{{user},"email":7}},"iat":1,"exp":200}}"#),
            r#"{"user":{"id":"s","name":"N","emailVerified":"no"},"iat":1,"exp":200}"#.to_owned(),
            r#"{"user":{"id":"s","emailVerified":false},"iat":1,"exp":200}"#.to_owned(),
            r#"{"user":null,"iat":1,"exp":200}"#.to_owned(),
            "[]".to_owned(),
        ] {
            assert_eq!(ring.verify(&signed_raw(&bad), 150), None, "{bad}");
        }
    }

    #[test]
    fn rotation_first_key_signs_every_key_verifies() {
        let old = keys(&format!("old:{}", key(1)));
        let value = old.sign(&session(200));
        let rotated = keys(&format!("new:{}, old:{}", key(2), key(1)));
        assert!(rotated.verify(&value, 150).is_some());
        assert!(rotated.sign(&session(200)).starts_with("v1.new."));
        assert_eq!(keys(&format!("new:{}", key(2))).verify(&value, 150), None);
    }

    #[test]
    fn user_from_identity_maps_like_the_sdk() {
        let identity = serde_json::json!({ "name": "", "email": "a@b.c", "phone": "+1" });
        let user = SessionUser::from_identity("s", identity.as_object().unwrap());
        assert_eq!(user.name, "Configure user");
        assert_eq!((user.email.as_deref(), user.email_verified), (Some("a@b.c"), true));
        let bare = SessionUser::from_identity("s", &serde_json::Map::new());
        assert_eq!((bare.email, bare.email_verified), (None, false));
        let json = serde_json::to_string(&SessionUser::from_identity("s", &serde_json::Map::new())).unwrap();
        assert_eq!(json, r#"{"id":"s","name":"Configure user","emailVerified":false}"#);
    }

    #[test]
    fn debug_never_shows_keys() {
        let debug = format!("{:?}", keys(&format!("s1:{}", key(9))));
        assert!(debug.contains("s1") && !debug.contains(&key(9)));
    }
}
