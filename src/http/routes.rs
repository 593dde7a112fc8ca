//! The route table: which paths exist, which methods each takes, how each
//! answers (its surface), its rate limiter and its body limit. Pure, so that
//! 404 versus 405 (with `Allow`) and everything decided before a route runs
//! is decided and tested in one place.

use crate::error::EdgeError;
use crate::http::cookies::{OAUTH_STATE_COOKIE, STATE_COOKIE};
use crate::http::Method;
use percent_encoding::percent_decode_str;

/// A route, as the table below names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: liveness, version, settings presence.
    Healthz,
    /// `POST /v1/journeys` (agent API).
    Journeys,
    /// `POST /v1/identity/resolve` (agent API).
    IdentityResolve,
    /// `GET|DELETE /v1/links/{subject}` (agent API); the subject stays
    /// percent-encoded in `Matched::encoded_subject`: it is decoded
    /// (`link_subject`) after authorization, so a caller without the secret
    /// gets 401 whatever the path holds.
    Link,
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

/// How a route answers, failures included (`http::answer::render`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// JSON, failures as `{ok:false, error:{code, message, field?}}`.
    Json,
    /// The completion webhook: JSON, every answer with `linked`, CORS for
    /// the sign-in origins on every answer.
    Webhook,
    /// A browser navigation: redirects, and failures as HTML pages.
    Page,
}

/// One row of the route table: everything `App::handle` decides before the
/// route's own code runs.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub route: Route,
    /// The path, or for `Link` the prefix before `{subject}`.
    pub path: &'static str,
    pub methods: &'static [Method],
    pub surface: Surface,
    /// The rate limiter's name for this public route (`CONFIGURE_RATE_LIMITER`,
    /// keyed with the client address); None: not limited.
    pub limiter: Option<&'static str>,
    /// The body this route reads (POST), in bytes; 0: none is read.
    pub body_limit: usize,
    /// A cookie every answer of the route clears (a used login state).
    pub clears_cookie: Option<&'static str>,
}

/// Body limits: the agent API's requests are small; the webhook's smaller.
pub const AGENT_API_BODY_LIMIT: usize = 64 * 1024;
pub const WEBHOOK_BODY_LIMIT: usize = 16 * 1024;

const GET: &[Method] = &[Method::Get];
const POST: &[Method] = &[Method::Post];

const fn spec(route: Route, path: &'static str, methods: &'static [Method], surface: Surface) -> RouteSpec {
    RouteSpec { route, path, methods, surface, limiter: None, body_limit: 0, clears_cookie: None }
}

const fn agent_api(route: Route, path: &'static str) -> RouteSpec {
    RouteSpec { body_limit: AGENT_API_BODY_LIMIT, ..spec(route, path, POST, Surface::Json) }
}

const fn page(route: Route, path: &'static str, limiter: &'static str) -> RouteSpec {
    RouteSpec { limiter: Some(limiter), ..spec(route, path, GET, Surface::Page) }
}

/// Every route: exact paths, then the one prefix (`/v1/links/`).
pub const ROUTES: &[RouteSpec] = &[
    spec(Route::Healthz, "/healthz", &[Method::Get, Method::Head], Surface::Json),
    agent_api(Route::Journeys, "/v1/journeys"),
    agent_api(Route::IdentityResolve, "/v1/identity/resolve"),
    RouteSpec {
        limiter: Some("complete"),
        body_limit: WEBHOOK_BODY_LIMIT,
        ..spec(
            Route::Complete,
            "/auth/configure/complete",
            &[Method::Post, Method::Options],
            Surface::Webhook,
        )
    },
    agent_api(Route::SignIns, "/v1/sign-ins"),
    agent_api(Route::Redeem, "/v1/sign-ins/redeem"),
    agent_api(Route::Setup, "/v1/setup"),
    page(Route::WebSignIn, "/auth/configure/sign-in", "sign-in"),
    RouteSpec {
        clears_cookie: Some(STATE_COOKIE),
        ..page(Route::Callback, "/api/configure/callback", "callback")
    },
    spec(Route::Linked, "/auth/configure/linked", GET, Surface::Page),
    page(Route::OAuthLogin, "/auth/configure/login", "login"),
    RouteSpec {
        clears_cookie: Some(OAUTH_STATE_COOKIE),
        ..page(Route::OAuthCallback, "/auth/configure/oauth/callback", "oauth-callback")
    },
    spec(
        Route::Session,
        "/auth/configure/session",
        &[Method::Get, Method::Head, Method::Options],
        Surface::Json,
    ),
    spec(Route::Logout, "/auth/configure/logout", &[Method::Post, Method::Options], Surface::Json),
    spec(Route::Link, "/v1/links/", &[Method::Get, Method::Delete], Surface::Json),
];

/// A request's row of the table, with the encoded subject of a link path.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    pub spec: &'static RouteSpec,
    pub encoded_subject: Option<String>,
}

impl Matched {
    pub fn route(&self) -> Route {
        self.spec.route
    }

    /// The body this request may bring, in bytes (0: none is read).
    pub fn body_limit(&self, method: Method) -> usize {
        if method == Method::Post {
            self.spec.body_limit
        } else {
            0
        }
    }
}

/// How many body bytes a request may bring: the Worker's shell refuses a
/// larger `Content-Length` and stops reading a larger stream before it is
/// buffered (413). Routes that read no body get none read (0).
pub fn body_limit(method: Method, path: &str) -> usize {
    resolve(method, path).map_or(0, |matched| matched.body_limit(method))
}

/// Resolves a method and a (percent-encoded) path to its row: 404 when no
/// path matches, 405 listing the allowed methods when only the method is wrong.
pub fn resolve(method: Method, path: &str) -> Result<Matched, EdgeError> {
    let (spec, encoded_subject) =
        match ROUTES.iter().find(|spec| spec.route != Route::Link && spec.path == path) {
            Some(spec) => (spec, None),
            None => {
                let links =
                    ROUTES.iter().find(|spec| spec.route == Route::Link).ok_or(EdgeError::NotFound)?;
                let encoded = path.strip_prefix(links.path).ok_or(EdgeError::NotFound)?;
                if encoded.is_empty() || encoded.contains('/') {
                    return Err(EdgeError::NotFound);
                }
                (links, Some(encoded.to_owned()))
            }
        };
    if !spec.methods.contains(&method) {
        return Err(EdgeError::MethodNotAllowed { allow: Method::join(spec.methods) });
    }
    Ok(Matched { spec, encoded_subject })
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
    if subject.len() > crate::http::body::MAX_SUBJECT_LEN {
        return Err(EdgeError::bad_request("subject", "subject is too long"));
    }
    Ok(subject.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_takes_get_and_head() {
        assert_eq!(resolve(Method::Get, "/healthz").unwrap().route(), Route::Healthz);
        assert_eq!(resolve(Method::Head, "/healthz").unwrap().route(), Route::Healthz);
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        for method in [Method::Post, Method::Delete, Method::Options, Method::Other] {
            assert_eq!(
                resolve(method, "/healthz"),
                Err(EdgeError::MethodNotAllowed { allow: "GET, HEAD".into() })
            );
        }
        assert_eq!(
            resolve(Method::Get, "/v1/journeys"),
            Err(EdgeError::MethodNotAllowed { allow: "POST".into() })
        );
        assert_eq!(
            resolve(Method::Post, "/v1/links/a"),
            Err(EdgeError::MethodNotAllowed { allow: "GET, DELETE".into() })
        );
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in
            ["/", "/healthz/", "/HEALTHZ", "/healthz%2F", "//healthz", "/nope", "/v1/links/", "/v1/links/a/b"]
        {
            assert_eq!(resolve(Method::Get, path).map(|m| m.route()), Err(EdgeError::NotFound), "{path}");
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
    fn the_public_routes_are_limited_and_answer_on_their_surface() {
        let limited: Vec<(&str, Option<&str>)> =
            ROUTES.iter().filter(|s| s.limiter.is_some()).map(|s| (s.path, s.limiter)).collect();
        assert_eq!(
            limited,
            [
                ("/auth/configure/complete", Some("complete")),
                ("/auth/configure/sign-in", Some("sign-in")),
                ("/api/configure/callback", Some("callback")),
                ("/auth/configure/login", Some("login")),
                ("/auth/configure/oauth/callback", Some("oauth-callback")),
            ]
        );
        let surface = |path: &str| resolve(Method::Get, path).map(|m| m.spec.surface);
        assert_eq!(surface("/api/configure/callback"), Ok(Surface::Page));
        assert_eq!(surface("/v1/links/x"), Ok(Surface::Json));
        assert_eq!(resolve(Method::Post, "/auth/configure/complete").unwrap().spec.surface, Surface::Webhook);
        // Paths are unique: the first match is the only one.
        for (i, spec) in ROUTES.iter().enumerate() {
            assert!(ROUTES[i + 1..].iter().all(|other| other.path != spec.path), "{}", spec.path);
        }
    }

    #[test]
    fn link_subjects_are_decoded_and_trimmed() {
        let matched = resolve(Method::Get, "/v1/links/a%20b").unwrap();
        assert_eq!((matched.route(), matched.encoded_subject.as_deref()), (Route::Link, Some("a%20b")));
        assert_eq!(link_subject("spectrum%3A%2B1%20415%2Fx").unwrap(), "spectrum:+1 415/x");
        assert_eq!(link_subject("%C3%A9%20").unwrap(), "é");
        assert_eq!(link_subject("%FF").unwrap_err().status(), 400);
        assert_eq!(link_subject("%20").unwrap_err().status(), 400);
    }
}
