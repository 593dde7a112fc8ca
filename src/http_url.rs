//! Absolute http(s) URLs, parsed strictly, for the Worker's own checks:
//! settings origins, `returnAfter`, request origins. Stricter than WHATWG
//! URL on purpose (and without its IDNA tables, most of the `url` crate's
//! weight in wasm): ASCII only, no backslashes, spaces or control
//! characters, hosts of letters, digits, hyphens and dots (or a bracketed
//! IPv6 address). Anything else is refused rather than normalized, which is
//! what an allowlist check wants.

/// A parsed absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    scheme: &'static str,
    /// Lower-cased; an IPv6 address keeps its brackets.
    host: String,
    /// `None` when absent or the scheme's default.
    port: Option<u16>,
    has_credentials: bool,
    /// Path (always starting with `/`), query and fragment, as given.
    rest: String,
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty()
            && inner.contains(':')
            && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Characters allowed in the path, query and fragment: printable ASCII
/// without the ones browsers rewrite or that break out of an attribute.
fn valid_rest_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '\\' | '<' | '>' | '"' | '`' | '{' | '}' | '|' | '^')
}

impl HttpUrl {
    pub fn parse(input: &str) -> Option<HttpUrl> {
        let at = input.find("://")?;
        let (scheme, after) = (&input[..at], &input[at + 3..]);
        let scheme = if scheme.eq_ignore_ascii_case("https") {
            "https"
        } else if scheme.eq_ignore_ascii_case("http") {
            "http"
        } else {
            return None;
        };
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        // WHATWG reads a backslash as a slash in http(s) URLs: refuse it
        // rather than guess which host a browser would see.
        if !authority.chars().all(valid_rest_char) {
            return None;
        }
        let (has_credentials, host_port) = match authority.rsplit_once('@') {
            Some((_, host_port)) => (true, host_port),
            None => (false, authority),
        };
        let (host, port) = match host_port.rfind(':') {
            Some(at) if !host_port[at..].contains(']') => (&host_port[..at], Some(&host_port[at + 1..])),
            _ => (host_port, None),
        };
        if !valid_host(host) || !rest.chars().all(valid_rest_char) {
            return None;
        }
        let port = match port {
            None | Some("") => None,
            Some(digits) if digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                let number: u32 = digits.parse().ok()?;
                let number = u16::try_from(number).ok()?;
                let default = if scheme == "https" { 443 } else { 80 };
                (number != default).then_some(number)
            }
            Some(_) => return None,
        };
        let rest = if rest.starts_with('/') { rest.to_owned() } else { format!("/{rest}") };
        Some(HttpUrl { scheme, host: host.to_ascii_lowercase(), port, has_credentials, rest })
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    pub fn has_credentials(&self) -> bool {
        self.has_credentials
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// The host, lower-cased (an IPv6 address in brackets, as WHATWG's `hostname`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Path, query and fragment.
    pub fn rest(&self) -> &str {
        &self.rest
    }

    /// Whether the host is this machine: `localhost`, `127.x.x.x` or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.as_str();
        host == "localhost"
            || host == "[::1]"
            || host.strip_prefix("127.").is_some_and(|rest| {
                let parts: Vec<&str> = rest.split('.').collect();
                parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.parse::<u8>().is_ok())
            })
    }

    /// https, or http on loopback only (local development): what every
    /// setting URL and origin must be, so no secret or token crosses the
    /// network in clear.
    pub fn is_secure_or_loopback(&self) -> bool {
        self.scheme == "https" || self.is_loopback()
    }

    /// The URL with the credentials dropped.
    pub fn href(&self) -> String {
        format!("{}{}", self.origin(), self.rest)
    }

    /// The URL with `name=value` (already encoded) added to the query,
    /// before any fragment.
    pub fn with_query_pair(&self, pair: &str) -> String {
        let (before_fragment, fragment) = match self.rest.find('#') {
            Some(at) => self.rest.split_at(at),
            None => (self.rest.as_str(), ""),
        };
        let separator = if !before_fragment.contains('?') {
            "?"
        } else if before_fragment.ends_with('?') || before_fragment.ends_with('&') {
            ""
        } else {
            "&"
        };
        format!("{}{before_fragment}{separator}{pair}{fragment}", self.origin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes_the_origin() {
        let url = HttpUrl::parse("HTTPS://App.Example:443/settings?tab=ai#top").unwrap();
        assert_eq!(url.origin(), "https://app.example");
        assert_eq!(url.href(), "https://app.example/settings?tab=ai#top");
        assert_eq!(HttpUrl::parse("http://127.0.0.1:8787").unwrap().href(), "http://127.0.0.1:8787/");
        assert_eq!(HttpUrl::parse("http://[::1]:3000/x").unwrap().origin(), "http://[::1]:3000");
        assert_eq!(HttpUrl::parse("https://a.example?q").unwrap().rest(), "/?q");
        assert!(HttpUrl::parse("https://u:p@a.example/").unwrap().has_credentials());
    }

    #[test]
    fn refuses_what_browsers_would_rewrite() {
        for bad in [
            "javascript:alert(1)",
            "//a.example/x",
            "/x",
            "ftp://a.example/",
            "https://",
            "https://a..b/",
            "https://a.example\\@evil.example/",
            "https://a.example/ x",
            "https://bücher.example/",
            "https://a.example:99999/",
            "https://a.example:8a/",
            "https://a.example/\u{0}",
            "https://-a.example.evil.example\u{3002}x/",
            "https://[zz]/",
            " https://a.example/",
            "https://a.example/<script>",
        ] {
            assert_eq!(HttpUrl::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn loopback_hosts_may_use_http() {
        for local in ["http://127.0.0.1:8787", "http://localhost:3000", "http://[::1]/", "http://127.9.0.1/"]
        {
            assert!(HttpUrl::parse(local).unwrap().is_secure_or_loopback(), "{local}");
        }
        for remote in ["http://edge.example", "http://127.0.0.1.evil.example/", "http://localhost.example/"] {
            assert!(!HttpUrl::parse(remote).unwrap().is_secure_or_loopback(), "{remote}");
        }
        assert!(HttpUrl::parse("https://edge.example").unwrap().is_secure_or_loopback());
    }

    #[test]
    fn appends_query_pairs_before_the_fragment() {
        let add = |u: &str| HttpUrl::parse(u).unwrap().with_query_pair("configure=linked");
        assert_eq!(add("https://a.example"), "https://a.example/?configure=linked");
        assert_eq!(add("https://a.example/s?x=1#f"), "https://a.example/s?x=1&configure=linked#f");
        assert_eq!(add("https://a.example/s?"), "https://a.example/s?configure=linked");
        assert_eq!(add("https://a.example/s#f?x"), "https://a.example/s?configure=linked#f?x");
    }
}
