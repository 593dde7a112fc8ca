//! CORS for the completion webhook: the hosted sign-in page calls it from
//! the user's browser on the sign-in origin. Only the configured origins are
//! answered, one at a time, always with `Vary: Origin`.

use crate::error::EdgeError;
use crate::http::{HttpRequest, HttpResponse};

/// The request's `Origin`, checked against the allowed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginCheck {
    /// No `Origin` header: not a browser CORS call (the token is still the gate).
    Absent,
    Allowed(String),
    Refused,
}

pub fn check(request: &HttpRequest, allowed: &[String]) -> OriginCheck {
    match request.header("origin") {
        None => OriginCheck::Absent,
        Some(origin) => {
            let origin = origin.trim();
            match allowed.iter().find(|a| a.eq_ignore_ascii_case(origin)) {
                Some(found) => OriginCheck::Allowed(found.clone()),
                None => OriginCheck::Refused,
            }
        }
    }
}

/// Adds the CORS answer headers for an allowed origin, and `Vary: Origin` always.
pub fn decorate(mut response: HttpResponse, origin: &OriginCheck) -> HttpResponse {
    if let OriginCheck::Allowed(origin) = origin {
        response = response.with_header("Access-Control-Allow-Origin", origin);
    }
    response.with_header("Vary", "Origin")
}

/// The preflight answer: 204 for an allowed origin asking for POST with
/// JSON, 403 otherwise. The caller adds the origin headers (`decorate`).
pub fn preflight(request: &HttpRequest, allowed: &[String]) -> Result<HttpResponse, EdgeError> {
    let origin = check(request, allowed);
    let method_ok =
        request.header("access-control-request-method").is_none_or(|m| m.trim().eq_ignore_ascii_case("POST"));
    match origin {
        OriginCheck::Allowed(_) if method_ok => Ok(HttpResponse::empty(204)
            .with_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            .with_header("Access-Control-Allow-Headers", "Content-Type")
            .with_header("Access-Control-Max-Age", "600")),
        _ => Err(EdgeError::OriginNotAllowed),
    }
}

/// CORS for the session routes, called with credentials from the app's
/// own pages: the origins of `ALLOWED_RETURN_ORIGINS`, one at a time.
pub fn decorate_with_credentials(response: HttpResponse, origin: &OriginCheck) -> HttpResponse {
    let response = match origin {
        OriginCheck::Allowed(_) => response.with_header("Access-Control-Allow-Credentials", "true"),
        _ => response,
    };
    decorate(response, origin)
}

/// The session routes' preflight: 204 for an allowed origin asking for one
/// of `methods`, 403 otherwise.
pub fn preflight_with_credentials(
    request: &HttpRequest,
    allowed: &[String],
    methods: &str,
) -> Result<HttpResponse, EdgeError> {
    let asked = request.header("access-control-request-method").map(str::trim);
    let method_ok =
        asked.is_none_or(|m| methods.split(',').any(|allowed| allowed.trim().eq_ignore_ascii_case(m)));
    match check(request, allowed) {
        OriginCheck::Allowed(_) if method_ok => Ok(HttpResponse::empty(204)
            .with_header("Access-Control-Allow-Methods", methods)
            .with_header("Access-Control-Max-Age", "600")),
        _ => Err(EdgeError::OriginNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(origin: &str) -> HttpRequest {
        HttpRequest::new("OPTIONS", "https://edge/auth/configure/complete")
            .unwrap()
            .with_header("Origin", origin)
    }

    #[test]
    fn answers_one_allowed_origin_at_a_time() {
        let allowed = vec!["https://sign-in.me".to_owned(), "http://127.0.0.1:9999".to_owned()];
        let answer = |request: HttpRequest| {
            let origin = check(&request, &allowed);
            preflight(&request, &allowed).map(|r| decorate(r, &origin))
        };
        let ok = answer(from("https://sign-in.me")).unwrap();
        assert_eq!(ok.status, 204);
        assert_eq!(ok.header("access-control-allow-origin"), Some("https://sign-in.me"));
        assert_eq!(ok.header("vary"), Some("Origin"));
        let other = answer(from("http://127.0.0.1:9999")).unwrap();
        assert_eq!(other.header("access-control-allow-origin"), Some("http://127.0.0.1:9999"));
        assert_eq!(preflight(&from("https://evil.example"), &allowed), Err(EdgeError::OriginNotAllowed));
        assert_eq!(
            preflight(&from("https://sign-in.me.evil.example"), &allowed),
            Err(EdgeError::OriginNotAllowed)
        );
        assert_eq!(check(&HttpRequest::new("POST", "https://e/x").unwrap(), &allowed), OriginCheck::Absent);
    }
}
