//! JavaScript's notion of whitespace, so that trimming and `\s` behave
//! exactly as the official SDK's `String.prototype.trim` and regexes do
//! (ECMAScript WhiteSpace and LineTerminator; differs from Rust's
//! `char::is_whitespace`, which takes U+0085 and not U+FEFF).

/// Whether a UTF-16 code unit (or a code point) is JS whitespace.
pub fn is_js_whitespace(unit: u32) -> bool {
    matches!(
        unit,
        0x09..=0x0D
            | 0x20
            | 0xA0
            | 0x1680
            | 0x2000..=0x200A
            | 0x2028
            | 0x2029
            | 0x202F
            | 0x205F
            | 0x3000
            | 0xFEFF
    )
}

/// `String.prototype.trim` on a Rust string.
pub fn trim(text: &str) -> &str {
    text.trim_matches(|c: char| is_js_whitespace(c as u32))
}

/// `String.prototype.trim` on UTF-16 code units (lone surrogates kept as is).
pub fn trim_utf16(units: &[u16]) -> &[u16] {
    let start = units.iter().position(|&u| !is_js_whitespace(u32::from(u))).unwrap_or(units.len());
    let end = units.iter().rposition(|&u| !is_js_whitespace(u32::from(u))).map_or(start, |i| i + 1);
    &units[start..end]
}

/// Whether a string contains a character JS's `\s` matches.
pub fn contains_whitespace(text: &str) -> bool {
    text.chars().any(|c| is_js_whitespace(c as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_like_javascript() {
        assert_eq!(trim("\u{FEFF}\u{3000} a b \u{2029}\n"), "a b");
        assert_eq!(trim("\u{85}x\u{85}"), "\u{85}x\u{85}", "NEL is not JS whitespace");
        assert_eq!(trim("   "), "");
    }

    #[test]
    fn trims_utf16_with_lone_surrogates() {
        let units: Vec<u16> = vec![0x20, 0xD800, 0x61, 0x20, 0xFEFF];
        assert_eq!(trim_utf16(&units), &[0xD800, 0x61]);
        assert_eq!(trim_utf16(&[0x20, 0x0A]), &[] as &[u16]);
        assert_eq!(trim_utf16(&[]), &[] as &[u16]);
    }
}
