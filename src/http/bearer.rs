//! The agent API's bearer check: `Authorization: Bearer <secret>`, compared
//! in constant time (over SHA-256 digests, so the length does not leak either).

use crate::error::EdgeError;
use crate::http::HttpRequest;
use crate::sealing::crypto::same_secret;
use crate::settings::Secret;

pub fn authorize(request: &HttpRequest, secret: &Secret) -> Result<(), EdgeError> {
    let presented = request
        .header("authorization")
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or(EdgeError::Unauthorized)?;
    if same_secret(presented, secret.expose()) {
        Ok(())
    } else {
        Err(EdgeError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(header: Option<&str>) -> HttpRequest {
        let request = HttpRequest::new("POST", "http://h/v1/journeys").unwrap();
        match header {
            Some(value) => request.with_header("Authorization", value),
            None => request,
        }
    }

    #[test]
    fn accepts_only_the_exact_secret() {
        let secret = Secret::new("0123456789abcdef-secret");
        assert!(authorize(&with(Some("Bearer 0123456789abcdef-secret")), &secret).is_ok());
        assert!(authorize(&with(Some("bearer   0123456789abcdef-secret ")), &secret).is_ok());
        for bad in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic 0123456789abcdef-secret"),
            Some("Bearer 0123456789abcdef-secreT"),
            Some("Bearer 0123456789abcdef-secre"),
            Some("Bearer 0123456789abcdef-secrett"),
            Some("0123456789abcdef-secret"),
        ] {
            assert_eq!(authorize(&with(bad), &secret), Err(EdgeError::Unauthorized), "{bad:?}");
        }
    }
}
