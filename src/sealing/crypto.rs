//! The four primitives the Worker uses: SHA-256 (KV keys, PKCE, bearer
//! comparison), HMAC-SHA256 (the session cookie) and AES-256-GCM sealing
//! and opening (secrets at rest, seal.rs).
//!
//! Two backends with one interface, all synchronous:
//! - the Worker (wasm32 with the `worker` feature): the runtime's own
//!   `node:crypto` (BoringSSL in workerd, `nodejs_compat`), so the wasm
//!   carries no cipher or hash code (about 10 KB gzip less) and sealing runs
//!   natively;
//! - everywhere else (native tests, fuzzing, the npm build): the RustCrypto
//!   crates.
//!
//! Both are standard AES-256-GCM (96-bit nonce, 128-bit tag appended to the
//! ciphertext) and HMAC/SHA-256, so values sealed by one open in the other;
//! the e2e tests run the Worker backend under workerd, the unit tests below
//! the RustCrypto one against published test vectors.

/// Sealed output: `ciphertext ‖ tag`.
pub const TAG_LEN: usize = 16;

pub use backend::{aes256gcm_open, aes256gcm_seal, hmac_sha256, sha256};

/// Equality of two secrets (bearer secrets, states, subjects, words) in
/// constant time, over SHA-256 digests so that the length does not leak
/// either.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    sha256(a.as_bytes())[..].ct_eq(&sha256(b.as_bytes())[..]).into()
}

#[cfg(not(all(target_arch = "wasm32", feature = "worker")))]
mod backend {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::Aes256Gcm;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};

    pub fn sha256(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    pub fn aes256gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
        Aes256Gcm::new(key.into()).encrypt(nonce.into(), Payload { msg: plaintext, aad }).ok()
    }

    pub fn aes256gcm_open(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        Aes256Gcm::new(key.into()).decrypt(nonce.into(), Payload { msg: sealed, aad }).ok()
    }
}

#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod backend {
    use super::TAG_LEN;
    use wasm_bindgen::prelude::*;

    // Byte slices cross as views of the wasm memory; node:crypto copies
    // them before returning, and nothing here allocates in between.
    #[wasm_bindgen(module = "node:crypto")]
    extern "C" {
        type Hash;
        #[wasm_bindgen(js_name = createHash)]
        fn create_hash(algorithm: &str) -> Hash;
        #[wasm_bindgen(js_name = createHmac)]
        fn create_hmac(algorithm: &str, key: &[u8]) -> Hash;
        #[wasm_bindgen(method)]
        fn update(this: &Hash, data: &[u8]) -> Hash;
        #[wasm_bindgen(method)]
        fn digest(this: &Hash) -> Vec<u8>;

        type Cipher;
        #[wasm_bindgen(catch, js_name = createCipheriv)]
        fn create_cipheriv(algorithm: &str, key: &[u8], iv: &[u8]) -> Result<Cipher, JsValue>;
        #[wasm_bindgen(catch, js_name = createDecipheriv)]
        fn create_decipheriv(algorithm: &str, key: &[u8], iv: &[u8]) -> Result<Cipher, JsValue>;
        #[wasm_bindgen(method, catch, js_name = setAAD)]
        fn set_aad(this: &Cipher, aad: &[u8]) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(method, catch, js_name = setAuthTag)]
        fn set_auth_tag(this: &Cipher, tag: &[u8]) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(method, catch, js_name = update)]
        fn cipher_update(this: &Cipher, data: &[u8]) -> Result<Vec<u8>, JsValue>;
        /// Throws when the tag does not verify.
        #[wasm_bindgen(method, catch, js_name = final)]
        fn finish(this: &Cipher) -> Result<Vec<u8>, JsValue>;
        #[wasm_bindgen(method, catch, js_name = getAuthTag)]
        fn auth_tag(this: &Cipher) -> Result<Vec<u8>, JsValue>;
    }

    fn array32(bytes: Vec<u8>) -> [u8; 32] {
        let mut out = [0u8; 32];
        // SHA-256 and HMAC-SHA256 digests are always 32 bytes.
        out.copy_from_slice(&bytes[..32]);
        out
    }

    pub fn sha256(data: &[u8]) -> [u8; 32] {
        array32(create_hash("sha256").update(data).digest())
    }

    pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
        array32(create_hmac("sha256", key).update(data).digest())
    }

    pub fn aes256gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
        let cipher = create_cipheriv("aes-256-gcm", key, nonce).ok()?;
        cipher.set_aad(aad).ok()?;
        let mut sealed = cipher.cipher_update(plaintext).ok()?;
        sealed.extend(cipher.finish().ok()?);
        sealed.extend(cipher.auth_tag().ok()?);
        Some(sealed)
    }

    pub fn aes256gcm_open(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (ciphertext, tag) = sealed.split_at(sealed.len().checked_sub(TAG_LEN)?);
        let decipher = create_decipheriv("aes-256-gcm", key, nonce).ok()?;
        decipher.set_aad(aad).ok()?;
        decipher.set_auth_tag(tag).ok()?;
        let mut plaintext = decipher.cipher_update(ciphertext).ok()?;
        plaintext.extend(decipher.finish().ok()?);
        Some(plaintext)
    }
}

#[cfg(test)]
mod tests {

    //! Published vectors, so both backends are held to the same answers
    //! (this module runs natively and, with the worker feature, in Node).
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[cfg_attr(all(target_arch = "wasm32", feature = "worker"), wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "worker")), test)]
    fn sha256_and_hmac_match_the_standard_vectors() {
        // FIPS 180-2 "abc"; RFC 4231 test case 2.
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[cfg_attr(all(target_arch = "wasm32", feature = "worker"), wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "worker")), test)]
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
