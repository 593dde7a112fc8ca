//! The four primitives the Worker uses: SHA-256 (KV keys, PKCE, bearer
//! comparison), HMAC-SHA256 (the session cookie) and AES-256-GCM sealing
//! and opening (secrets at rest, seal.rs), all synchronous.
//!
//! One implementation on every target, the RustCrypto crates (`sha2`,
//! `hmac`, `aes-gcm`): the Worker, the npm build, native tests and fuzzing
//! run the same code, with no hand-made JS boundary to keep in step and no
//! `nodejs_compat` needed for crypto. Standard AES-256-GCM (96-bit nonce,
//! 128-bit tag appended to the ciphertext) and HMAC/SHA-256, held to
//! published test vectors below.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Sealed output: `ciphertext ‖ tag`.
pub const TAG_LEN: usize = 16;

/// Equality of two secrets (bearer secrets, states, subjects, words) in
/// constant time, over SHA-256 digests so that the length does not leak
/// either.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    sha256(a.as_bytes())[..].ct_eq(&sha256(b.as_bytes())[..]).into()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `ciphertext ‖ tag` of `plaintext` under `key` and `nonce`, `aad` authenticated.
pub fn aes256gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
    Aes256Gcm::new(key.into()).encrypt(nonce.into(), Payload { msg: plaintext, aad }).ok()
}

/// The plaintext of `sealed` (`ciphertext ‖ tag`); None unless the tag verifies.
pub fn aes256gcm_open(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    Aes256Gcm::new(key.into()).decrypt(nonce.into(), Payload { msg: sealed, aad }).ok()
}

#[cfg(test)]
mod tests {

    //! Published vectors (this module runs natively and, under
    //! `cargo test --target wasm32-unknown-unknown`, in wasm).
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn sha256_and_hmac_match_the_standard_vectors() {
        // FIPS 180-2 "abc"; RFC 4231 test case 2.
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn aes256gcm_matches_the_standard_vector_and_refuses_tampering() {
        // NIST GCM test case 16 (AES-256, 96-bit IV, with AAD).
        let key: [u8; 32] =
            unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308").try_into().unwrap();
        let nonce: [u8; 12] = unhex("cafebabefacedbaddecaf888").try_into().unwrap();
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let plaintext = unhex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let sealed = aes256gcm_seal(&key, &nonce, &aad, &plaintext).unwrap();
        assert_eq!(
            hex(&sealed),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662\
             76fc6ece0f4e1768cddf8853bb2d551b"
        );
        assert_eq!(aes256gcm_open(&key, &nonce, &aad, &sealed).as_deref(), Some(plaintext.as_slice()));
        let mut forged = sealed.clone();
        forged[0] ^= 1;
        assert_eq!(aes256gcm_open(&key, &nonce, &aad, &forged), None);
        assert_eq!(aes256gcm_open(&key, &nonce, b"other context", &sealed), None);
        assert_eq!(aes256gcm_open(&key, &nonce, &aad, &sealed[..TAG_LEN - 1]), None);
    }

    #[test]
    fn same_secret_compares_whole_values() {
        assert!(super::same_secret("user:1", "user:1"));
        assert!(!super::same_secret("user:1", "user:10"));
        assert!(!super::same_secret("", "x"));
    }
}
