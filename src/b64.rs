//! Base64 as the Worker uses it (RFC 4648): URL-safe without padding for
//! ids, KV keys, sealed values and cookies; standard with padding for HTTP
//! Basic credentials; either alphabet with optional padding for key
//! settings.
//!
//! Hand-written rather than the `base64` crate because that crate's general
//! engine is about 6 KB of the Worker's wasm for four small functions. The
//! crate stays as the oracle: tests/fuzz.rs checks these functions against
//! it (same output, same inputs accepted and refused). Decoding is strict:
//! no whitespace, no mixed alphabets, and the unused bits of the last
//! character must be zero (one encoding per byte string).

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Character → 6-bit value, 0xff for characters outside the alphabet.
const fn decode_table(alphabet: &[u8; 64]) -> [u8; 256] {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
}

const STANDARD_VALUES: [u8; 256] = decode_table(STANDARD);
const URL_SAFE_VALUES: [u8; 256] = decode_table(URL_SAFE);

fn encode_with(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// URL-safe alphabet, no padding.
pub fn encode_url(bytes: impl AsRef<[u8]>) -> String {
    encode_with(bytes.as_ref(), URL_SAFE, false)
}

/// Standard alphabet, padded.
pub fn encode_standard(bytes: impl AsRef<[u8]>) -> String {
    encode_with(bytes.as_ref(), STANDARD, true)
}

fn decode_with(text: &str, values: &[u8; 256]) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for &c in chunk {
            let value = values[usize::from(c)];
            if value == 0xff {
                return None;
            }
            n = (n << 6) | u32::from(value);
        }
        // A short last chunk: its unused low bits must be zero.
        let (bytes, spare_bits) = match chunk.len() {
            4 => (3, 0),
            3 => (2, 2),
            _ => (1, 4),
        };
        if n & ((1 << spare_bits) - 1) != 0 {
            return None;
        }
        n >>= spare_bits;
        for i in (0..bytes).rev() {
            out.push((n >> (8 * i)) as u8);
        }
    }
    Some(out)
}

/// URL-safe alphabet, no padding.
pub fn decode_url(text: &str) -> Option<Vec<u8>> {
    decode_with(text, &URL_SAFE_VALUES)
}

/// Either alphabet (not mixed), with or without trailing `=`: what key
/// settings may hold, whichever tool made them.
pub fn decode_any(text: &str) -> Option<Vec<u8>> {
    let unpadded = text.trim_end_matches('=');
    decode_with(unpadded, &URL_SAFE_VALUES).or_else(|| decode_with(unpadded, &STANDARD_VALUES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        for (plain, padded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode_standard(plain), padded);
            assert_eq!(encode_url(plain), padded.trim_end_matches('='));
            assert_eq!(decode_url(padded.trim_end_matches('=')).as_deref(), Some(plain.as_bytes()));
            assert_eq!(decode_any(padded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(encode_standard([0xfb, 0xff]), "+/8=");
        assert_eq!(encode_url([0xfb, 0xff]), "-_8");
    }

    #[test]
    fn strict_decoding_refuses_what_the_crate_refuses() {
        for bad in ["Zg=", "Z", "Zh", "Zm9=", "Zm 9v", "+/8", "-/8", "Zm9v\n"] {
            assert_eq!(decode_url(bad), None, "{bad:?}");
        }
        // Non-zero unused bits ("Zh" would be "f" with a stray bit).
        assert_eq!(decode_any("Zh=="), None);
        assert_eq!(decode_any("-+8"), None, "mixed alphabets");
        assert_eq!(decode_any("+/8").as_deref(), Some(&[0xfb, 0xff][..]));
    }
}
