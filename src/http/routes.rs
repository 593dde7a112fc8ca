//! The route table: which paths exist and which methods each takes. Pure, so
//! that 404 versus 405 (with `Allow`) is decided and tested in one place.

use crate::error::EdgeError;
use crate::http::Method;
use percent_encoding::percent_decode_str;

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: liveness, version, settings presence.
    Healthz,
    /// `POST /v1/journeys` (agent API).
    Journeys,
    /// `POST /v1/identity/resolve` (agent API).
    IdentityResolve,
    /// `GET|DELETE /v1/links/{subject}` (agent API); the subject still
    /// percent-encoded: it is decoded (`link_subject`) after authorization,
    /// so a caller without the secret gets 401 whatever the path holds.
    Link { encoded: String },
    /// `POST|OPTIONS /auth/configure/complete`: the completion webhook.
    Complete,
    /// `POST /v1/sign-ins` (agent API): a one-time web sign-in ticket.
    SignIns,
    /// `POST /v1/sign-ins/redeem` (agent API): the app redeems a callback's
    /// code with its signed-in user's subject.
    Redeem,
    /// `POST /v1/setup` (agent API): register the callback with Configure.
    Setup,
    /// `GET /auth/configure/sign-in?ticket=…`: start a web sign-in.
    WebSignIn,
    /// `GET /api/configure/callback?code=…&state=…`: the return-code callback.
    Callback,
    /// `GET /auth/configure/linked`: the Worker's own linked page.
    Linked,
    /// `GET /auth/configure/login?returnAfter=…`: start "Continue with Configure".
    OAuthLogin,
    /// `GET /auth/configure/oauth/callback?code=…&state=…`: its OAuth callback.
    OAuthCallback,
    /// `GET|OPTIONS /auth/configure/session`: the signed-in user, or 401.
    Session,
    /// `POST|OPTIONS /auth/configure/logout`: ends the edge session.
    Logout,
}

const LINKS_PREFIX: &str = "/v1/links/";

const EXACT: &[(&str, &[Method], Route)] = &[
    ("/healthz", &[Method::Get, Method::Head], Route::Healthz),
    ("/v1/journeys", &[Method::Post], Route::Journeys),
    ("/v1/identity/resolve", &[Method::Post], Route::IdentityResolve),
    ("/auth/configure/complete", &[Method::Post, Method::Options], Route::Complete),
    ("/v1/sign-ins", &[Method::Post], Route::SignIns),
    ("/v1/sign-ins/redeem", &[Method::Post], Route::Redeem),
    ("/v1/setup", &[Method::Post], Route::Setup),
    ("/auth/configure/sign-in", &[Method::Get], Route::WebSignIn),
    ("/api/configure/callback", &[Method::Get], Route::Callback),
    ("/auth/configure/linked", &[Method::Get], Route::Linked),
    ("/auth/configure/login", &[Method::Get], Route::OAuthLogin),
    ("/auth/configure/oauth/callback", &[Method::Get], Route::OAuthCallback),
    ("/auth/configure/session", &[Method::Get, Method::Head, Method::Options], Route::Session),
    ("/auth/configure/logout", &[Method::Post, Method::Options], Route::Logout),
];

const LINK_METHODS: &[Method] = &[Method::Get, Method::Delete];

/// Body limits: the agent API's requests are small; the webhook's smaller.
pub const AGENT_API_BODY_LIMIT: usize = 64 * 1024;
pub const WEBHOOK_BODY_LIMIT: usize = 16 * 1024;

/// How many body bytes a request may bring: the Worker's entry refuses a
/// larger `Content-Length` and stops reading a larger stream before it is
/// buffered (413). Routes that read no body get none read (0).
pub fn body_limit(method: Method, path: &str) -> usize {
    resolve(method, path).map_or(0, |route| route.body_limit(method))
}

impl Route {
    /// The body this route reads with `method`, in bytes (0: none).
    pub fn body_limit(&self, method: Method) -> usize {
        match self {
            Route::Complete if method == Method::Post => WEBHOOK_BODY_LIMIT,
            Route::Journeys | Route::IdentityResolve | Route::SignIns | Route::Redeem | Route::Setup => {
                AGENT_API_BODY_LIMIT
            }
            _ => 0,
        }
    }
}

/// Resolves a method and a (percent-encoded) path to a route: 404 when no
/// path matches, 405 listing the allowed methods when only the method is wrong.
pub fn resolve(method: Method, path: &str) -> Result<Route, EdgeError> {
    if let Some((_, methods, route)) = EXACT.iter().find(|(p, _, _)| *p == path) {
        return if methods.contains(&method) {
            Ok(route.clone())
        } else {
            Err(EdgeError::MethodNotAllowed { allow: methods.to_vec() })
        };
    }
    if let Some(encoded) = path.strip_prefix(LINKS_PREFIX) {
        if encoded.is_empty() || encoded.contains('/') {
            return Err(EdgeError::NotFound);
        }
        if !LINK_METHODS.contains(&method) {
            return Err(EdgeError::MethodNotAllowed { allow: LINK_METHODS.to_vec() });
        }
        return Ok(Route::Link { encoded: encoded.to_owned() });
    }
    Err(EdgeError::NotFound)
}

/// The subject of a `/v1/links/{subject}` path: percent-decoded UTF-8,
/// trimmed as body subjects are, non-empty and at most 1 KiB.
pub fn link_subject(encoded: &str) -> Result<String, EdgeError> {
    let subject = percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|_| EdgeError::bad_request("subject", "subject must be percent-encoded UTF-8"))?;
    let subject = crate::sdk::js_text::trim(&subject);
    if subject.is_empty() {
        return Err(EdgeError::bad_request("subject", "subject is required"));
    }
    if subject.len() > crate::flows::MAX_SUBJECT_LEN {
        return Err(EdgeError::bad_request("subject", "subject is too long"));
    }
    Ok(subject.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_takes_get_and_head() {
        assert_eq!(resolve(Method::Get, "/healthz"), Ok(Route::Healthz));
        assert_eq!(resolve(Method::Head, "/healthz"), Ok(Route::Healthz));
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        for method in [Method::Post, Method::Delete, Method::Options, Method::Other] {
            assert_eq!(
                resolve(method, "/healthz"),
                Err(EdgeError::MethodNotAllowed { allow: vec![Method::Get, Method::Head] })
            );
        }
        assert_eq!(
            resolve(Method::Get, "/v1/journeys"),
            Err(EdgeError::MethodNotAllowed { allow: vec![Method::Post] })
        );
        assert_eq!(
            resolve(Method::Post, "/v1/links/a"),
            Err(EdgeError::MethodNotAllowed { allow: vec![Method::Get, Method::Delete] })
        );
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in
            ["/", "/healthz/", "/HEALTHZ", "/healthz%2F", "//healthz", "/nope", "/v1/links/", "/v1/links/a/b"]
        {
            assert_eq!(resolve(Method::Get, path), Err(EdgeError::NotFound), "{path}");
        }
    }

    #[test]
    fn body_limits_follow_the_route() {
        assert_eq!(body_limit(Method::Post, "/auth/configure/complete"), WEBHOOK_BODY_LIMIT);
        assert_eq!(body_limit(Method::Options, "/auth/configure/complete"), 0);
        assert_eq!(body_limit(Method::Post, "/v1/journeys"), AGENT_API_BODY_LIMIT);
        assert_eq!(body_limit(Method::Post, "/v1/sign-ins/redeem"), AGENT_API_BODY_LIMIT);
        assert_eq!(body_limit(Method::Post, "/auth/configure/logout"), 0);
        assert_eq!(body_limit(Method::Post, "/nope"), 0);
        assert_eq!(body_limit(Method::Delete, "/v1/links/a"), 0);
    }

    #[test]
    fn link_subjects_are_decoded_and_trimmed() {
        assert_eq!(resolve(Method::Get, "/v1/links/a%20b"), Ok(Route::Link { encoded: "a%20b".into() }));
        assert_eq!(link_subject("spectrum%3A%2B1%20415%2Fx").unwrap(), "spectrum:+1 415/x");
        assert_eq!(link_subject("%C3%A9%20").unwrap(), "é");
        assert_eq!(link_subject("%FF").unwrap_err().status(), 400);
        assert_eq!(link_subject("%20").unwrap_err().status(), 400);
    }
}
