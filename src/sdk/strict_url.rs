//! Absolute http(s) URLs the Worker decides on: settings origins,
//! `returnAfter`, the OAuth redirect URI, request origins. Parsed by the
//! `url` crate (WHATWG URL, what browsers run), then held to strict rules,
//! so that the URL the Worker checks is the one a browser will open:
//!
//! - `http://` or `https://` (any case), then the host;
//! - printable ASCII only, without a backslash, a backtick or any of
//!   `< > " { } | ^` (no spaces, tabs, newlines or control characters,
//!   nothing a browser reads as a slash, nothing that breaks out of an HTML
//!   attribute);
//! - nothing WHATWG rewrites: the input must be the parser's serialization,
//!   up to the spellings every origin comparison normalizes anyway (the case
//!   of the scheme and host, an explicit default port, and the `/` of an
//!   empty path). So no dot segments, no `%2e`, no IPv4 in other notations,
//!   no uncompressed IPv6, no characters WHATWG percent-encodes;
//! - a host of dot-separated labels of ASCII letters, digits and hyphens
//!   (punycode `xn--` labels included, Unicode refused), or a bracketed IPv6
//!   address, or a loopback IPv4 address (`127.x.x.x`, for local
//!   development); no other host whose last label is a number. (With the
//!   IDNA stub back end, idna_adapter 1.0, an `xn--` label is not checked
//!   against UTS 46: one a browser refuses may pass here, but none is read
//!   as another host);
//! - no path starting with `//` (another host to some readers);
//! - no username or password.
//!
//! Anything else is refused rather than normalized: what an allowlist wants.

use url::{Host, Position, Url};

/// Why [`StrictUrl::parse`] refused an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictUrlError {
    /// Not `http://` or `https://` (any case) in front.
    NotHttp,
    /// A character outside printable ASCII, a backslash, a backtick or one
    /// of `< > " { } | ^`.
    Character,
    /// WHATWG URL does not parse it.
    NotAUrl,
    /// WHATWG URL reads it as another text than the one given.
    Rewritten,
    /// A host that is not labels of ASCII letters, digits and hyphens (at
    /// most 63 each, 253 in all) or a bracketed IPv6 address.
    Host,
    /// A host whose last label is a number: an IPv4 address other than a
    /// loopback one.
    NumericHost,
    /// A path starting with `//`.
    DoubleSlashPath,
    /// A username or a password. Checked last: a URL refused for this alone
    /// meets every other rule.
    Credentials,
}

impl std::fmt::Display for StrictUrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StrictUrlError::NotHttp => "not an http(s) URL",
            StrictUrlError::Character => "a character a browser would rewrite",
            StrictUrlError::NotAUrl => "not a URL",
            StrictUrlError::Rewritten => "a URL a browser would read differently",
            StrictUrlError::Host => "a host that is not ASCII labels or an IPv6 address",
            StrictUrlError::NumericHost => "a numeric host other than loopback",
            StrictUrlError::DoubleSlashPath => "a path starting with //",
            StrictUrlError::Credentials => "credentials in the URL",
        })
    }
}

impl std::error::Error for StrictUrlError {}

/// An absolute http(s) URL that passed every rule of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictUrl(Url);

/// Characters allowed anywhere in the input: printable ASCII without the
/// ones browsers rewrite or that break out of an attribute.
fn allowed_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '\\' | '<' | '>' | '"' | '`' | '{' | '}' | '|' | '^')
}

/// The host and port WHATWG reads in `input` (of allowed characters only):
/// after the scheme's `:`, any number of slashes and any `userinfo@`, up to
/// the path, query or fragment.
fn whatwg_host_port(input: &str) -> &str {
    let after = input.split_once(':').map_or("", |(_, after)| after).trim_start_matches('/');
    let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port)
}

/// What WHATWG URL makes of `input` if it rewrites nothing but the case of
/// the scheme and host, an explicit default port and an empty path: `None`
/// when `input` has no `scheme://`.
fn expected_serialization(input: &str) -> Option<String> {
    let (scheme, after) = input.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    let (host, port) = match host_port.strip_prefix('[').and_then(|h| h.split_once(']')) {
        Some((inner, after)) => (&host_port[..inner.len() + 2], after.strip_prefix(':')),
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => "",
    };
    let mut expected = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        expected.push_str(userinfo);
        expected.push('@');
    }
    expected.push_str(&host.to_ascii_lowercase());
    // Whatever follows the host in a bracketed one (`[::1]x`) is kept, so
    // that it differs from the serialization.
    if host_port.len() > host.len() && port.is_none() {
        expected.push_str(&host_port[host.len()..]);
    }
    match port {
        Some(port) if port == default_port => {}
        Some(port) => {
            expected.push(':');
            expected.push_str(port);
        }
        None => {}
    }
    if !rest.starts_with('/') {
        expected.push('/');
    }
    expected.push_str(rest);
    Some(expected)
}

/// Whether `label` is all digits or `0x` and hex digits: WHATWG reads a host
/// ending in such a label as an IPv4 address.
fn numeric_label(label: &str) -> bool {
    let hex = label.strip_prefix("0x").or_else(|| label.strip_prefix("0X"));
    match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn check_domain(domain: &str) -> Result<(), StrictUrlError> {
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(StrictUrlError::Host);
    }
    if domain.rsplit('.').next().is_some_and(numeric_label) {
        return Err(StrictUrlError::NumericHost);
    }
    Ok(())
}

impl StrictUrl {
    /// Parses `input` and checks every rule of this module, in order:
    /// `http(s)://`, characters, WHATWG parse, no rewrite, host, path,
    /// credentials.
    pub fn parse(input: &str) -> Result<StrictUrl, StrictUrlError> {
        let scheme = input.split_once("://").map(|(scheme, _)| scheme).ok_or(StrictUrlError::NotHttp)?;
        if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
            return Err(StrictUrlError::NotHttp);
        }
        if !input.chars().all(allowed_char) {
            return Err(StrictUrlError::Character);
        }
        // WHATWG percent-decodes the host, so an escape there is always a
        // rewrite. Refused before parsing: a host decoded to non-ASCII is
        // where the IDNA stub back end (idna_adapter 1.0) debug-asserts.
        if whatwg_host_port(input).contains('%') {
            return Err(StrictUrlError::Rewritten);
        }
        let url = Url::parse(input).map_err(|_| StrictUrlError::NotAUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(StrictUrlError::NotHttp);
        }
        if expected_serialization(input).as_deref() != Some(url.as_str()) {
            return Err(StrictUrlError::Rewritten);
        }
        match url.host() {
            Some(Host::Domain(domain)) => check_domain(domain)?,
            Some(Host::Ipv4(address)) if address.is_loopback() => {}
            Some(Host::Ipv4(_)) => return Err(StrictUrlError::NumericHost),
            Some(Host::Ipv6(_)) => {}
            None => return Err(StrictUrlError::Host),
        }
        if url.path().starts_with("//") {
            return Err(StrictUrlError::DoubleSlashPath);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(StrictUrlError::Credentials);
        }
        Ok(StrictUrl(url))
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn into_url(self) -> Url {
        self.0
    }

    /// `scheme://host[:port]`, lower-cased, without a default port.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// The whole URL, as WHATWG serializes it.
    pub fn href(&self) -> &str {
        self.0.as_str()
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// The host, lower-cased (an IPv6 address in brackets, as WHATWG's `hostname`).
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Path (always starting with `/`), query and fragment.
    pub fn rest(&self) -> &str {
        &self.0[Position::BeforePath..]
    }

    /// Whether the host is this machine: `localhost`, `127.x.x.x` or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        match self.0.host() {
            Some(Host::Domain(domain)) => domain == "localhost",
            Some(Host::Ipv4(address)) => address.is_loopback(),
            Some(Host::Ipv6(address)) => address.is_loopback(),
            None => false,
        }
    }

    /// https, or http on loopback only (local development): what every
    /// setting URL and origin must be, so no secret or token crosses the
    /// network in clear.
    pub fn is_secure_or_loopback(&self) -> bool {
        self.0.scheme() == "https" || self.is_loopback()
    }

    /// The URL with `name=value` (already encoded) added to the query,
    /// before any fragment.
    pub fn with_query_pair(&self, pair: &str) -> String {
        let mut out = self.0[..Position::AfterPath].to_owned();
        match self.0.query() {
            None => out.push('?'),
            Some(query) => {
                out.push('?');
                out.push_str(query);
                if !query.is_empty() && !query.ends_with('&') {
                    out.push('&');
                }
            }
        }
        out.push_str(pair);
        out.push_str(&self.0[Position::AfterQuery..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Option<StrictUrl> {
        StrictUrl::parse(input).ok()
    }

    #[test]
    fn parses_and_normalizes_the_origin() {
        let url = parse("HTTPS://App.Example:443/settings?tab=ai#top").unwrap();
        assert_eq!(url.origin(), "https://app.example");
        assert_eq!(url.href(), "https://app.example/settings?tab=ai#top");
        assert_eq!(parse("http://127.0.0.1:8787").unwrap().href(), "http://127.0.0.1:8787/");
        assert_eq!(parse("http://[::1]:3000/x").unwrap().origin(), "http://[::1]:3000");
        assert_eq!(parse("https://a.example?q").unwrap().rest(), "/?q");
        assert_eq!(parse("http://A.example:80").unwrap().href(), "http://a.example/");
        assert_eq!(parse("https://a.example:8443/").unwrap().origin(), "https://a.example:8443");
        assert_eq!(parse("https://xn--bcher-kva.example/").unwrap().host(), "xn--bcher-kva.example");
        assert_eq!(parse("https://a.example/%7e?%zz").unwrap().rest(), "/%7e?%zz");
        // Credentials were a flag before; they are refused now, last.
        assert_eq!(StrictUrl::parse("https://u:p@a.example/"), Err(StrictUrlError::Credentials));
        assert_eq!(StrictUrl::parse("https://u@a.example/#x"), Err(StrictUrlError::Credentials));
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
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn refuses_what_whatwg_strips_or_rewrites() {
        let cases = [
            ("https://a.example/\t", StrictUrlError::Character),
            ("https://a.example/\n", StrictUrlError::Character),
            ("https://a.ex\tample/", StrictUrlError::Character),
            ("\u{1f}https://a.example/", StrictUrlError::NotHttp),
            ("https://a.example/ ", StrictUrlError::Character),
            ("https:\\\\a.example/", StrictUrlError::NotHttp),
            ("https:/a.example/", StrictUrlError::NotHttp),
            ("https:a.example/", StrictUrlError::NotHttp),
            ("https:///a.example/", StrictUrlError::Rewritten),
            ("https://a.example/a/../b", StrictUrlError::Rewritten),
            ("https://a.example/a/%2e%2E/b", StrictUrlError::Rewritten),
            ("https://a.example/./b", StrictUrlError::Rewritten),
            ("https://a.example/?q='x'", StrictUrlError::Rewritten),
            ("https://%61.example/", StrictUrlError::Rewritten),
            ("https://%C3%BCA.example/", StrictUrlError::Rewritten),
            ("https://a.example%2F/", StrictUrlError::Rewritten),
            ("https:///A%AA", StrictUrlError::Rewritten),
            ("https:////u@A%C3%BC/", StrictUrlError::Rewritten),
            ("https://a.example:/", StrictUrlError::Rewritten),
            ("https://a.example:0443/", StrictUrlError::Rewritten),
            ("https://a.example:08080/", StrictUrlError::Rewritten),
            ("https://@a.example/", StrictUrlError::Rewritten),
            ("https://u:@a.example/", StrictUrlError::Rewritten),
            ("https://a@b@a.example/", StrictUrlError::Rewritten),
            ("http://127.1/", StrictUrlError::Rewritten),
            ("http://0x7f.0.0.1/", StrictUrlError::Rewritten),
            ("http://2130706433/", StrictUrlError::Rewritten),
            ("http://127.000.0.1/", StrictUrlError::Rewritten),
            ("http://[0:0:0:0:0:0:0:1]/", StrictUrlError::Rewritten),
            ("http://[::ffff:1.2.3.4]/", StrictUrlError::Rewritten),
            ("https://a.example./", StrictUrlError::Host),
            ("https://a_b.example/", StrictUrlError::Host),
            ("https://a.example//evil.example/", StrictUrlError::DoubleSlashPath),
            ("https://a.example//", StrictUrlError::DoubleSlashPath),
            ("https://10.0.0.1/", StrictUrlError::NumericHost),
            ("https://0.0.0.0/", StrictUrlError::NumericHost),
            ("https://a.123/", StrictUrlError::NotAUrl),
            ("https://a.0x1f/", StrictUrlError::NotAUrl),
            ("https://999.1.1.1/", StrictUrlError::NotAUrl),
        ];
        for (bad, why) in cases {
            assert_eq!(StrictUrl::parse(bad), Err(why), "{bad:?}");
        }
        assert_eq!(check_domain("a.123"), Err(StrictUrlError::NumericHost));
        assert_eq!(check_domain("a.0x1F"), Err(StrictUrlError::NumericHost));
        assert_eq!(check_domain("a.1e"), Ok(()));
        assert_eq!(check_domain(&format!("{}.example", "a".repeat(64))), Err(StrictUrlError::Host));
    }

    #[test]
    fn loopback_hosts_may_use_http() {
        for local in ["http://127.0.0.1:8787", "http://localhost:3000", "http://[::1]/", "http://127.9.0.1/"]
        {
            assert!(parse(local).unwrap().is_secure_or_loopback(), "{local}");
        }
        for remote in ["http://edge.example", "http://127.0.0.1.evil.example/", "http://localhost.example/"] {
            assert!(!parse(remote).unwrap().is_secure_or_loopback(), "{remote}");
        }
        assert!(parse("https://edge.example").unwrap().is_secure_or_loopback());
        assert!(!parse("http://[::2]/").unwrap().is_secure_or_loopback());
    }

    #[test]
    fn appends_query_pairs_before_the_fragment() {
        let add = |u: &str| parse(u).unwrap().with_query_pair("configure=linked");
        assert_eq!(add("https://a.example"), "https://a.example/?configure=linked");
        assert_eq!(add("https://a.example/s?x=1#f"), "https://a.example/s?x=1&configure=linked#f");
        assert_eq!(add("https://a.example/s?"), "https://a.example/s?configure=linked");
        assert_eq!(add("https://a.example/s?x&"), "https://a.example/s?x&configure=linked");
        assert_eq!(add("https://a.example/s#f?x"), "https://a.example/s?configure=linked#f?x");
        assert_eq!(add("https://a.example/s#"), "https://a.example/s?configure=linked#");
    }

    #[test]
    fn the_serialization_parses_to_the_same_url() {
        for input in ["HTTPS://App.Example:443", "http://[::1]:3000/x?y#z", "https://a.example?q"] {
            let url = parse(input).unwrap();
            assert_eq!(parse(url.href()).as_ref(), Some(&url), "{input}");
        }
    }
}
