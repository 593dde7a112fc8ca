//! Substring search for the Worker's few multi-character needles, without
//! core's two-way `StrSearcher` (about 2 KB of wasm). Needles here are
//! short and haystacks small (a header, an error message, a page
//! template), where a plain scan is as fast.

/// The byte offset of the first `needle` in `haystack`.
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.as_bytes().windows(needle.len()).position(|window| window == needle.as_bytes())
}

pub fn contains(haystack: &str, needle: &str) -> bool {
    find(haystack, needle).is_some()
}

/// `haystack` with every `needle` replaced by `with` (`needle` non-empty).
pub fn replace(haystack: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return haystack.to_owned();
    }
    let mut out = String::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = find(rest, needle) {
        out.push_str(&rest[..at]);
        out.push_str(with);
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// `parts` with `separator` between them (std's `join` is a generic copy
/// loop, instantiated per element type).
pub fn join<'a>(parts: impl IntoIterator<Item = &'a str>, separator: &str) -> String {
    let mut out = String::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_the_standard_library() {
        assert_eq!(find("text/html,application/xhtml+xml", "text/html"), Some(0));
        assert_eq!(find("a://b://c", "://"), Some(1));
        assert_eq!(find("ab", "abc"), None);
        assert_eq!(find("é://", "://"), Some(2));
        assert_eq!(replace("{{t}} and {{t}}", "{{t}}", "x"), "x and x");
        assert_eq!(replace("none", "{{t}}", "x"), "none");
        assert_eq!(replace("{{t}}", "{{t}}", "{{t}}{{t}}"), "{{t}}{{t}}", "no re-scan of the inserted text");
        assert_eq!(join(["GET", "HEAD"], ", "), "GET, HEAD");
        assert_eq!(join(["one"], ","), "one");
        assert_eq!(join([], ","), "");
    }

    proptest! {
        #[test]
        fn agrees_with_str_methods(haystack in "[ab:/é]{0,12}", needle in "[ab:/é]{1,3}") {
            prop_assert_eq!(find(&haystack, &needle), haystack.find(needle.as_str()));
            prop_assert_eq!(contains(&haystack, &needle), haystack.contains(needle.as_str()));
            prop_assert_eq!(replace(&haystack, &needle, "<x>"), haystack.replace(needle.as_str(), "<x>"));
            let parts: Vec<&str> = haystack.split('a').collect();
            prop_assert_eq!(join(parts.iter().copied(), &needle), parts.join(needle.as_str()));
        }
    }
}
