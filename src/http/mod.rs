//! Plain HTTP values for the core: what the Worker shell translates a
//! request into and its answer out of (src/worker.rs). Keeping them free of
//! Workers types lets every route be tested natively.

pub mod answer;
pub mod bearer;
pub mod body;
pub mod cookies;
pub mod cors;
pub mod pages;
pub mod ratelimit;
pub mod routes;

use serde::Serialize;

/// The methods the Worker routes on. Anything else is `Other` and gets a 405
/// (on a known path) or a 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }

    /// `GET, HEAD`: the form of an `Allow` header.
    pub fn join(methods: &[Method]) -> String {
        methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// A request as the core sees it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    /// The full URL the Worker was called with (scheme, host, path, query).
    pub url: String,
    /// The path, still percent-encoded, as it appeared in the URL.
    pub path: String,
    /// The query string without `?`, empty when there is none.
    pub query: String,
    /// `scheme://host[:port]` of `url`, lower-cased as a WHATWG origin.
    pub origin: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was larger than the route's limit: the entry stopped reading
    /// it (and `body` is empty); `App::handle` answers 413 before the route runs.
    pub body_too_large: bool,
    /// The body could not be read whole (a broken or cut-off upload): the
    /// shell stopped, and `App::handle` answers 400 on the route's surface.
    pub body_unreadable: bool,
}

impl HttpRequest {
    /// Builds a request from a method and an absolute URL (used by tests and
    /// the shell). Fails on a URL without `scheme://host`.
    pub fn new(method: &str, url: &str) -> Option<HttpRequest> {
        let rest = &url[url.find("://")? + 3..];
        let path_start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let after_host = &rest[path_start..];
        let without_fragment = after_host.split('#').next().unwrap_or("");
        let (path, query) = match without_fragment.split_once('?') {
            Some((path, query)) => (path, query),
            None => (without_fragment, ""),
        };
        // The origin comes from the scheme and authority alone, so that odd
        // characters in the path or query cannot blank it.
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let scheme_len = url.len() - rest.len();
        let origin = crate::sdk::strict_url::StrictUrl::parse(&url[..scheme_len + authority_end])
            .map(|u| u.origin())
            .unwrap_or_default();
        Some(HttpRequest {
            method: Method::parse(method),
            origin,
            url: url.to_owned(),
            path: if path.is_empty() { "/".to_owned() } else { path.to_owned() },
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            body_too_large: false,
            body_unreadable: false,
        })
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// A response as the core builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> HttpResponse {
        // Serializing our own response types cannot fail (no maps with
        // non-string keys, no failing Serialize impls); fall back to a fixed
        // body rather than panic if that ever changes.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| {
            br#"{"ok":false,"error":{"code":"internal_error","message":"The Worker failed to answer; try again."}}"#
                .to_vec()
        });
        HttpResponse {
            status,
            headers: vec![
                ("Content-Type".to_owned(), "application/json; charset=utf-8".to_owned()),
                ("Cache-Control".to_owned(), "no-store".to_owned()),
            ],
            body,
        }
    }

    /// A 302 to `location`, never cached.
    pub fn redirect(location: &str) -> HttpResponse {
        HttpResponse {
            status: 302,
            headers: vec![
                ("Location".to_owned(), location.to_owned()),
                ("Cache-Control".to_owned(), "no-store".to_owned()),
                ("Referrer-Policy".to_owned(), "no-referrer".to_owned()),
            ],
            body: Vec::new(),
        }
    }

    pub fn empty(status: u16) -> HttpResponse {
        HttpResponse { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// The Worker shell's header encoding between its JS entry (worker/index.js)
/// and the wasm core: `name LF value LF` for each header, one string, so a
/// request's or answer's headers cross the boundary in one call.
///
/// A name or value holding a line feed, a carriage return or NUL (which no
/// HTTP header may) is refused: packed, it would shift every header after
/// it, and a value from elsewhere (a token from an API answer) could add a
/// header of its own.
pub fn pack_headers<N: AsRef<str>, V: AsRef<str>>(headers: &[(N, V)]) -> Result<String, InvalidHeader> {
    let mut packed =
        String::with_capacity(headers.iter().map(|(n, v)| n.as_ref().len() + v.as_ref().len() + 2).sum());
    for (name, value) in headers {
        let (name, value) = (name.as_ref(), value.as_ref());
        if [name, value].iter().any(|text| text.contains(['\n', '\r', '\0'])) {
            return Err(InvalidHeader);
        }
        packed.push_str(name);
        packed.push('\n');
        packed.push_str(value);
        packed.push('\n');
    }
    Ok(packed)
}

/// A header name or value with a line break or NUL in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidHeader;

/// The inverse of `pack_headers`; names are lower-cased as the core expects.
/// A trailing name without a value (not something the entry sends) is dropped.
pub fn unpack_headers(packed: &str) -> Vec<(String, String)> {
    let mut parts = packed.split('\n');
    let mut headers = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        if !name.is_empty() {
            headers.push((name.to_ascii_lowercase(), value.to_owned()));
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_pack_and_unpack_in_order_with_repeats_and_empty_values() {
        let headers = vec![
            ("set-cookie".to_owned(), "a=1; Path=/".to_owned()),
            ("set-cookie".to_owned(), "b=2".to_owned()),
            ("x-empty".to_owned(), String::new()),
            ("content-type".to_owned(), "text/html; charset=utf-8".to_owned()),
        ];
        let packed = pack_headers(&headers).unwrap();
        assert_eq!(
            packed,
            "set-cookie\na=1; Path=/\nset-cookie\nb=2\nx-empty\n\ncontent-type\ntext/html; charset=utf-8\n"
        );
        assert_eq!(unpack_headers(&packed), headers);
        assert_eq!(unpack_headers(""), vec![]);
        assert_eq!(unpack_headers("X-Mixed\nV\n"), vec![("x-mixed".to_owned(), "V".to_owned())]);
        assert_eq!(unpack_headers("dangling"), vec![]);
    }

    #[test]
    fn line_breaks_and_nul_in_headers_are_refused_not_packed() {
        for (name, value) in
            [("x-token", "a\nx-agent\nother"), ("x-token", "a\rb"), ("x-token", "a\0b"), ("x\nname", "v")]
        {
            assert_eq!(
                pack_headers(&[("ok", "fine"), (name, value)]),
                Err(InvalidHeader),
                "{name:?}: {value:?}"
            );
        }
        assert_eq!(pack_headers(&[("x-empty", "")]).as_deref(), Ok("x-empty\n\n"));
    }

    #[test]
    fn origin_ignores_the_path_and_query() {
        let req = HttpRequest::new("GET", "https://Edge.Example:443/auth?ticket=T&x=|^{}`").unwrap();
        assert_eq!(req.origin, "https://edge.example");
    }

    #[test]
    fn request_splits_path_and_query() {
        let req = HttpRequest::new("GET", "https://edge.example/v1/links/a%20b?x=1#frag").unwrap();
        assert_eq!(req.path, "/v1/links/a%20b");
        assert_eq!(req.query, "x=1");
        let bare = HttpRequest::new("GET", "http://127.0.0.1:8787").unwrap();
        assert_eq!(bare.path, "/");
        assert_eq!(bare.query, "");
        let query_only = HttpRequest::new("GET", "http://h?a=b").unwrap();
        assert_eq!((query_only.path.as_str(), query_only.query.as_str()), ("/", "a=b"));
        assert!(HttpRequest::new("GET", "not a url").is_none());
    }

    #[test]
    fn methods_round_trip() {
        for name in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            assert_eq!(Method::parse(name).as_str(), name);
        }
        assert_eq!(Method::parse("get"), Method::Other);
        assert_eq!(Method::parse("BREW"), Method::Other);
    }
}
