//! Sealing secrets at rest: AES-256-GCM, a fresh 96-bit nonce per write, the
//! KV key as associated data (a sealed value moved to another key does not
//! open), and the key id in front so keys can be rotated.
//!
//! Sealed form: `<keyId>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
//! Keyring setting: `id:base64key[,id:base64key...]`, 32-byte keys; the
//! first key seals new writes, every key opens.

use crate::sealing::crypto::{aes256gcm_open, aes256gcm_seal, TAG_LEN};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::fmt;

const NONCE_LEN: usize = 12;

/// Why a keyring setting was refused. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    Empty,
    /// Entry number `index` (from 1) is not `id:base64key`.
    Malformed {
        index: usize,
    },
    /// The id is empty or has characters other than `[A-Za-z0-9_-]`.
    BadId {
        index: usize,
    },
    /// The key is not base64 of exactly 32 bytes.
    BadKey {
        index: usize,
    },
    DuplicateId {
        index: usize,
    },
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::Empty => write!(f, "no keys; expected id:base64key[,id:base64key...]"),
            KeyringError::Malformed { index } => write!(f, "entry {index} is not id:base64key"),
            KeyringError::BadId { index } => {
                write!(f, "entry {index}: the id must be letters, digits, '-' or '_'")
            }
            KeyringError::BadKey { index } => {
                write!(f, "entry {index}: the key must be base64 of exactly 32 bytes")
            }
            KeyringError::DuplicateId { index } => write!(f, "entry {index}: the id is used twice"),
        }
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not `<keyId>.<base64url>` or too short to hold a nonce and a tag.
    Malformed,
    /// Sealed under a key id the keyring does not hold (retired key).
    UnknownKey,
    /// The tag does not verify: wrong key, another KV key, or tampering.
    Forged,
}

struct SealingKey {
    id: String,
    key: [u8; 32],
}

/// The sealing keys. `Debug` shows the ids only.
pub struct Keyring {
    keys: Vec<SealingKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("ids", &ids).finish_non_exhaustive()
    }
}

/// The entries of a key-list setting, `id:base64key[,id:base64key...]`, in
/// order, each key exactly 32 bytes: shared by the sealing keys and the
/// session keys (session.rs), so both settings read the same way.
pub fn parse_key_list(setting: &str) -> Result<Vec<(String, Vec<u8>)>, KeyringError> {
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, entry) in setting.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
        let index = i + 1;
        let (id, key) = entry.split_once(':').ok_or(KeyringError::Malformed { index })?;
        let (id, key) = (id.trim(), key.trim());
        if !valid_id(id) {
            return Err(KeyringError::BadId { index });
        }
        if keys.iter().any(|(known, _)| known == id) {
            return Err(KeyringError::DuplicateId { index });
        }
        let bytes = decode_key(key).filter(|b| b.len() == 32).ok_or(KeyringError::BadKey { index })?;
        keys.push((id.to_owned(), bytes));
    }
    if keys.is_empty() {
        return Err(KeyringError::Empty);
    }
    Ok(keys)
}

/// A key as key settings may hold it, whichever tool made it: either
/// alphabet (not mixed), with or without trailing `=`. Strict otherwise:
/// the crate's `NO_PAD` engines refuse `=`, whitespace and any character
/// outside the alphabet, and (`decode_allow_trailing_bits` false) non-zero
/// unused bits in the last character, so each key has one encoding.
fn decode_key(text: &str) -> Option<Vec<u8>> {
    let unpadded = text.trim_end_matches('=');
    URL_SAFE_NO_PAD.decode(unpadded).or_else(|_| STANDARD_NO_PAD.decode(unpadded)).ok()
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Keyring {
    /// Parses `id:base64key[,id:base64key...]` (standard or URL-safe base64,
    /// padding optional). Whitespace around entries is ignored.
    pub fn parse(setting: &str) -> Result<Keyring, KeyringError> {
        let mut keys = Vec::new();
        for (index, (id, bytes)) in parse_key_list(setting)?.into_iter().enumerate() {
            let key = bytes.try_into().map_err(|_| KeyringError::BadKey { index: index + 1 })?;
            keys.push(SealingKey { id, key });
        }
        Ok(Keyring { keys })
    }

    /// A keyring for one purpose, derived from this one: each key becomes
    /// HMAC-SHA256(key, purpose) under the same id. What is sealed for
    /// anonymous callers (the login cookie) then never uses the keys that
    /// seal tokens at rest, and rotation still works the same way.
    pub fn derived(&self, purpose: &str) -> Keyring {
        let keys = self
            .keys
            .iter()
            .map(|k| SealingKey {
                id: k.id.clone(),
                key: crate::sealing::crypto::hmac_sha256(&k.key, purpose.as_bytes()),
            })
            .collect();
        Keyring { keys }
    }

    /// The id of the key that seals new writes.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` under the current key, bound to `context` (the KV key).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, SealError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Randomness)?;
        let sealed =
            aes256gcm_seal(&key.key, &nonce, context.as_bytes(), plaintext).ok_or(SealError::Cipher)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(format!("{}.{}", key.id, URL_SAFE_NO_PAD.encode(blob)))
    }

    /// Opens a value sealed by any key of the ring, bound to `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, OpenError> {
        let (id, body) = sealed.split_once('.').ok_or(OpenError::Malformed)?;
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError::Malformed)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let key = self.keys.iter().find(|k| k.id == id).ok_or(OpenError::UnknownKey)?;
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Malformed)?;
        aes256gcm_open(&key.key, &nonce, context.as_bytes(), ciphertext).ok_or(OpenError::Forged)
    }

    /// Opens a sealed UTF-8 string.
    pub fn open_text(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        String::from_utf8(self.open(sealed, context)?).map_err(|_| OpenError::Malformed)
    }
}

/// Why sealing failed (the runtime, never the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    Randomness,
    Cipher,
}

impl From<SealError> for crate::error::EdgeError {
    /// Sealing fails only when the runtime does (no randomness, the cipher).
    fn from(error: SealError) -> Self {
        crate::error::EdgeError::Internal { detail: format!("sealing failed: {error:?}") }
    }
}

impl From<SealError> for crate::error::PageError {
    fn from(error: SealError) -> Self {
        crate::error::PageError::from(crate::error::EdgeError::from(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn seals_and_opens_bound_to_context() {
        let ring = Keyring::parse(&format!("k1:{}", key(1))).unwrap();
        let sealed = ring.seal(b"token-value", "link:abc").unwrap();
        assert!(sealed.starts_with("k1."));
        assert!(!sealed.contains("token-value"));
        assert_eq!(ring.open(&sealed, "link:abc").unwrap(), b"token-value");
        assert_eq!(ring.open(&sealed, "link:other"), Err(OpenError::Forged));
    }

    #[test]
    fn fresh_nonce_each_seal() {
        let ring = Keyring::parse(&format!("k1:{}", key(1))).unwrap();
        assert_ne!(ring.seal(b"x", "c").unwrap(), ring.seal(b"x", "c").unwrap());
    }

    #[test]
    fn rotation_old_keys_open_first_key_seals() {
        let old = Keyring::parse(&format!("old:{}", key(1))).unwrap();
        let sealed_old = old.seal(b"v", "c").unwrap();
        let rotated = Keyring::parse(&format!("new:{}, old:{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.open(&sealed_old, "c").unwrap(), b"v");
        assert!(rotated.seal(b"v", "c").unwrap().starts_with("new."));
        let retired = Keyring::parse(&format!("new:{}", key(2))).unwrap();
        assert_eq!(retired.open(&sealed_old, "c"), Err(OpenError::UnknownKey));
    }

    #[test]
    fn derived_keyrings_do_not_open_each_others_values() {
        let ring = Keyring::parse(&format!("k1:{}", key(3))).unwrap();
        let cookie = ring.derived("login cookie");
        let sealed = cookie.seal(b"v", "c").unwrap();
        assert!(sealed.starts_with("k1."));
        assert_eq!(ring.open(&sealed, "c"), Err(OpenError::Forged));
        assert_eq!(ring.derived("other").open(&sealed, "c"), Err(OpenError::Forged));
        assert_eq!(ring.derived("login cookie").open(&sealed, "c").unwrap(), b"v");
    }

    #[test]
    fn tampering_is_detected() {
        let ring = Keyring::parse(&format!("k1:{}", key(7))).unwrap();
        let sealed = ring.seal(b"secret", "c").unwrap();
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(matches!(ring.open(&tampered, "c"), Err(OpenError::Forged | OpenError::Malformed)));
        for junk in ["", "k1", "k1.", "k1.@@@", "k1.AAAA", "nodot"] {
            assert!(ring.open(junk, "c").is_err(), "{junk}");
        }
    }

    #[test]
    fn keys_decode_in_either_alphabet_and_strictly() {
        // RFC 4648 vectors, padded, unpadded and over-padded (trailing `=` are dropped).
        for (plain, padded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(decode_key(padded).as_deref(), Some(plain.as_bytes()), "{padded}");
            let unpadded = padded.trim_end_matches('=');
            assert_eq!(decode_key(unpadded).as_deref(), Some(plain.as_bytes()), "{unpadded}");
            assert_eq!(decode_key(&format!("{unpadded}====")).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(decode_key("+/8=").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(decode_key("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        // Mixed alphabets, a stray bit in the last character ("Zh" would be
        // "f"), a lone character, whitespace or padding inside.
        for bad in ["-+8", "+_8", "Zh==", "Zh", "Z", "Zm 9v", "Zm9v\n", "Zg==Zg", "Zm9=v"] {
            assert_eq!(decode_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sealed_values_are_strict_unpadded_base64url() {
        const URL_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let ring = Keyring::parse(&format!("k1:{}", key(1))).unwrap();
        // Nonce, 1 byte, tag: 29 bytes, 39 characters, the last with 2 unused bits.
        let sealed = ring.seal(b"a", "c").unwrap();
        let body = sealed.strip_prefix("k1.").unwrap();
        assert_eq!(body.len(), 39);
        assert_eq!(ring.open(&sealed, "c").unwrap(), b"a");
        let last = URL_ALPHABET.iter().position(|&c| c == body.as_bytes()[38]).unwrap();
        let stray_bit = URL_ALPHABET[last ^ 1] as char;
        for bad in [
            format!("{sealed}="),
            format!("{sealed} "),
            format!("k1.+{}", &body[1..]),
            format!("k1.{}{stray_bit}", &body[..38]),
        ] {
            assert_eq!(ring.open(&bad, "c"), Err(OpenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn keyring_errors_name_the_entry_never_the_key() {
        assert_eq!(Keyring::parse("").unwrap_err(), KeyringError::Empty);
        assert_eq!(Keyring::parse("nocolon").unwrap_err(), KeyringError::Malformed { index: 1 });
        assert_eq!(Keyring::parse(&format!("a b:{}", key(1))).unwrap_err(), KeyringError::BadId { index: 1 });
        assert_eq!(Keyring::parse("k1:c2hvcnQ=").unwrap_err(), KeyringError::BadKey { index: 1 });
        assert_eq!(
            Keyring::parse(&format!("k1:{},k1:{}", key(1), key(2))).unwrap_err(),
            KeyringError::DuplicateId { index: 2 }
        );
        let url_safe = URL_SAFE_NO_PAD.encode([0xfb; 32]);
        assert!(Keyring::parse(&format!("k1:{url_safe}")).is_ok());
        let debug = format!("{:?}", Keyring::parse(&format!("k1:{}", key(9))).unwrap());
        assert!(debug.contains("k1") && !debug.contains(&key(9)));
    }
}
