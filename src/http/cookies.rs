//! The browser-binding cookies of the web flow and the login: `__Host-` prefixed (so they are
//! Secure, host-only and Path=/), HttpOnly, SameSite=Lax.

use crate::http::HttpRequest;

/// The cookie that binds a sign-in state to the browser that started it.
pub const STATE_COOKIE: &str = "__Host-configure-edge-state";

/// The sealed login cookie of "Continue with Configure" (state, PKCE
/// verifier, returnAfter, expiry): no KV write at login.
pub const OAUTH_STATE_COOKIE: &str = "__Host-configure-edge-oauth";

/// The value of cookie `name` in the request's `Cookie` header(s).
pub fn read(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, value)| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
}

/// `Set-Cookie` for a value that lives `max_age` seconds.
pub fn set(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax")
}

/// `Set-Cookie` that removes the cookie.
pub fn clear(name: &str) -> String {
    format!("{name}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_among_other_cookies() {
        let request = HttpRequest::new("GET", "https://e/x")
            .unwrap()
            .with_header("Cookie", "a=1; __Host-configure-edge-state=abc ; b=2")
            .with_header("Cookie", "c=3");
        assert_eq!(read(&request, STATE_COOKIE).as_deref(), Some("abc"));
        assert_eq!(read(&request, "c").as_deref(), Some("3"));
        assert_eq!(read(&request, "missing"), None);
        assert_eq!(read(&HttpRequest::new("GET", "https://e/x").unwrap(), STATE_COOKIE), None);
    }

    #[test]
    fn host_prefix_rules() {
        let cookie = set(STATE_COOKIE, "v", 600);
        assert!(cookie.contains("Path=/") && cookie.contains("Secure") && cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Lax") && !cookie.contains("Domain"));
        assert!(clear(STATE_COOKIE).contains("Max-Age=0"));
    }
}
