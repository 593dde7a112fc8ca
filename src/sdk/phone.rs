//! Phone candidates and E.164 validation, as the official SDK does them.

use crate::sdk::configure_error::ConfigureError;
use crate::sdk::js_text;
use std::collections::{BTreeSet, HashSet};

/// The SDK's `normalizeCandidates` on strings already stringified: trim
/// each, drop empties and exact duplicates (after trimming), keep order. No
/// E.164 rewriting: the server decides.
pub fn normalize_candidates<S: AsRef<str>>(items: &[S]) -> Vec<String> {
    // A BTreeSet, not a HashSet: the Worker's wasm has B-tree code already,
    // and a HashSet brings SipHash and hashbrown in (about 1 KB gzip).
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for item in items {
        let candidate = js_text::trim(item.as_ref());
        if !candidate.is_empty() && seen.insert(candidate) {
            out.push(candidate.to_owned());
        }
    }
    out
}

/// The same on UTF-16 code units, for the JS shell: JS strings may hold lone
/// surrogates, which must be kept (and compared) as they are. Returns, for
/// each kept candidate, the item's index and the trimmed range of its units,
/// so the shell can slice the original string instead of rebuilding it.
pub fn normalize_candidates_utf16(items: &[Vec<u16>]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let candidate = js_text::trim_utf16(item);
        if candidate.is_empty() || !seen.insert(candidate) {
            continue;
        }
        let start = candidate.as_ptr() as usize - item.as_ptr() as usize;
        let start = start / std::mem::size_of::<u16>();
        out.push((index, start..start + candidate.len()));
    }
    out
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    /// Empty or blank: "phone is required".
    Required,
    /// Not E.164 after clean-up; the message quotes the input as given.
    NotE164,
}

impl PhoneError {
    /// The SDK's error for this failure, quoting `input`.
    pub fn to_configure_error(&self, input: &str) -> ConfigureError {
        match self {
            PhoneError::Required => ConfigureError::invalid_input("phone is required"),
            PhoneError::NotE164 => {
                ConfigureError::invalid_input(format!("Invalid phone number \"{input}\". {E164_HINT}"))
            }
        }
    }
}

/// The tail of the SDK's E.164 message, after the quoted input.
pub const E164_HINT: &str = "Must be in E.164 format (e.g., \"+14155551234\").";

/// Characters the SDK strips before checking: JS whitespace (which covers
/// U+00A0), `-`, `.`, `(` and `)`.
fn is_separator(c: char) -> bool {
    js_text::is_js_whitespace(c as u32) || matches!(c, '-' | '.' | '(' | ')')
}

/// The SDK's `validatePhone` without the message: the E.164 form
/// (`+` then 7 to 15 digits, the first not 0), or why not.
pub fn normalize_e164(phone: &str) -> Result<String, PhoneError> {
    if js_text::trim(phone).is_empty() {
        return Err(PhoneError::Required);
    }
    let mut cleaned: String = phone.chars().filter(|&c| !is_separator(c)).collect();
    if !cleaned.starts_with('+') {
        cleaned.insert(0, '+');
    }
    let digits = &cleaned.as_bytes()[1..];
    let valid =
        (7..=15).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) && digits[0] != b'0';
    if valid {
        Ok(cleaned)
    } else {
        Err(PhoneError::NotE164)
    }
}

/// `validatePhone` with the SDK's errors.
pub fn validate_phone(phone: &str) -> Result<String, ConfigureError> {
    normalize_e164(phone).map_err(|err| err.to_configure_error(phone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_candidates_like_the_sdk() {
        let items = [" +1 555 ", "", "   ", "+1 555", "a", "a ", "\u{FEFF}b\u{3000}"];
        assert_eq!(normalize_candidates(&items), vec!["+1 555", "a", "b"]);
        let none: [&str; 0] = [];
        assert!(normalize_candidates(&none).is_empty());
    }

    #[test]
    fn utf16_keeps_lone_surrogates_distinct() {
        let items = vec![vec![0x20, 0xD800], vec![0xDC00], vec![0xD800, 0x20], vec![], vec![0x20]];
        let out = normalize_candidates_utf16(&items);
        assert_eq!(out, vec![(0, 1..2), (1, 0..1)]);
    }

    #[test]
    fn validates_e164() {
        assert_eq!(validate_phone("(415) 555-1234").unwrap(), "+4155551234");
        assert_eq!(validate_phone(" +1 415.555.1234 ").unwrap(), "+14155551234");
        assert_eq!(validate_phone("+1\u{A0}415\u{2003}5551234").unwrap(), "+14155551234");
        assert_eq!(validate_phone("1234567").unwrap(), "+1234567");
        assert_eq!(validate_phone("  ").unwrap_err().message, "phone is required");
        assert_eq!(validate_phone("").unwrap_err().message, "phone is required");
        let err = validate_phone("0123456789").unwrap_err();
        assert_eq!(
            err.message,
            "Invalid phone number \"0123456789\". Must be in E.164 format (e.g., \"+14155551234\")."
        );
        for bad in ["123456", "++14155551234", "+1415555123456789", "+1a4155551234", "+١٢٣٤٥٦٧٨"] {
            assert!(validate_phone(bad).is_err(), "{bad}");
        }
    }
}
