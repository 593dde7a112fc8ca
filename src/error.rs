//! The Worker's failures: `EdgeError` (what went wrong, its status, code
//! and public message) and `PageError` (a browser step's failure, shown as a
//! page). A leaf: the errors know nothing of HTTP values, so every layer can
//! return them; `http::answer` is the one place a failure becomes an answer,
//! for its route's surface (JSON, webhook or page), so a failure can never
//! leak internals (stack traces, upstream bodies, secrets) and never becomes
//! a panic.

use crate::sdk::configure_error::ConfigureError;
use std::fmt;

/// What went wrong while answering a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeError {
    /// No route has this path.
    NotFound,
    /// The path exists but not for this method; `allow` lists the methods it
    /// takes, as the `Allow` header writes them (`GET, HEAD`).
    MethodNotAllowed { allow: String },
    /// The request is malformed; `field` names the offending part when there is one.
    BadRequest { field: Option<String>, message: String },
    /// The body is not `application/json` where JSON is required.
    UnsupportedMediaType,
    /// The body is larger than the route accepts.
    PayloadTooLarge { limit: usize },
    /// A setting the route needs is missing or invalid. The name is safe to show;
    /// the value never is.
    NotConfigured { setting: &'static str },
    /// The agent API's bearer secret is missing or wrong.
    Unauthorized,
    /// A browser request from an origin the route does not allow (CORS).
    OriginNotAllowed,
    /// The completion token did not validate, belongs to another agent, or
    /// does not match the posted userId.
    InvalidToken,
    /// The journey is unknown, expired or already used.
    JourneyNotFound,
    /// The subject has no link.
    LinkNotFound,
    /// A web sign-in's redeem code is unknown, expired or already used.
    RedeemCodeNotFound,
    /// The app redeemed a code for another subject than the ticket's: the
    /// result is discarded.
    SubjectMismatch,
    /// Configure recognizes the journey's phone as another user than the
    /// token's: nothing is stored.
    PhoneMismatch,
    /// A sender-bound (minted) journey completed by a user Configure does
    /// not recognize as the sender's phone: nothing is stored.
    SenderNotVerified,
    /// The subject is already linked to another Configure user (`binding:
    /// "none"` never replaces it silently).
    LinkConflict,
    /// Two different users completed the same confirmation journey: both
    /// completions are discarded, the conversation starts again.
    CompletionConflict,
    /// No valid edge session cookie (absent, tampered with, or expired).
    NotSignedIn,
    /// The Configure API failed or refused us (outage, timeout, 5xx, bad
    /// answer, our key refused): 502, and nothing was lost.
    Upstream { step: &'static str, error: ConfigureError },
    /// Too many requests from this client on a public route.
    RateLimited,
    /// Workers KV failed: 503, and nothing was lost.
    StoreUnavailable { detail: String },
    /// Something inside the Worker failed (the runtime). The detail goes to
    /// the log through `Display`, never to the client.
    Internal { detail: String },
}

impl EdgeError {
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        EdgeError::BadRequest { field: Some(field.into()), message: message.into() }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        EdgeError::BadRequest { field: None, message: message.into() }
    }

    pub fn status(&self) -> u16 {
        match self {
            EdgeError::NotFound => 404,
            EdgeError::MethodNotAllowed { .. } => 405,
            EdgeError::BadRequest { .. } => 400,
            EdgeError::UnsupportedMediaType => 415,
            EdgeError::PayloadTooLarge { .. } => 413,
            EdgeError::NotConfigured { .. } => 503,
            EdgeError::Unauthorized | EdgeError::InvalidToken | EdgeError::NotSignedIn => 401,
            EdgeError::OriginNotAllowed => 403,
            EdgeError::JourneyNotFound | EdgeError::LinkNotFound | EdgeError::RedeemCodeNotFound => 404,
            EdgeError::SubjectMismatch
            | EdgeError::PhoneMismatch
            | EdgeError::SenderNotVerified
            | EdgeError::LinkConflict
            | EdgeError::CompletionConflict => 409,
            EdgeError::Upstream { .. } => 502,
            EdgeError::RateLimited => 429,
            EdgeError::StoreUnavailable { .. } => 503,
            EdgeError::Internal { .. } => 500,
        }
    }

    /// A stable, machine-readable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            EdgeError::NotFound => "not_found",
            EdgeError::MethodNotAllowed { .. } => "method_not_allowed",
            EdgeError::BadRequest { .. } => "bad_request",
            EdgeError::UnsupportedMediaType => "unsupported_media_type",
            EdgeError::PayloadTooLarge { .. } => "payload_too_large",
            EdgeError::NotConfigured { .. } => "not_configured",
            EdgeError::Unauthorized => "unauthorized",
            EdgeError::OriginNotAllowed => "origin_not_allowed",
            EdgeError::InvalidToken => "invalid_token",
            EdgeError::JourneyNotFound => "journey_not_found",
            EdgeError::LinkNotFound => "link_not_found",
            EdgeError::RedeemCodeNotFound => "code_not_found",
            EdgeError::SubjectMismatch => "subject_mismatch",
            EdgeError::PhoneMismatch => "phone_mismatch",
            EdgeError::SenderNotVerified => "sender_not_verified",
            EdgeError::LinkConflict => "link_conflict",
            EdgeError::CompletionConflict => "completion_conflict",
            EdgeError::NotSignedIn => "not_signed_in",
            EdgeError::Upstream { .. } => "configure_unavailable",
            EdgeError::RateLimited => "rate_limited",
            EdgeError::StoreUnavailable { .. } => "store_unavailable",
            EdgeError::Internal { .. } => "internal_error",
        }
    }

    /// The message shown to the client: written here, never copied from a
    /// lower layer's error text.
    pub fn public_message(&self) -> String {
        match self {
            EdgeError::NotFound => "No such route.".to_owned(),
            EdgeError::MethodNotAllowed { allow } => {
                format!("Method not allowed here; use {allow}.")
            }
            EdgeError::BadRequest { message, .. } => message.clone(),
            EdgeError::UnsupportedMediaType => {
                "The body must be JSON (Content-Type: application/json).".to_owned()
            }
            EdgeError::PayloadTooLarge { limit } => {
                format!("The body is larger than {limit} bytes.")
            }
            EdgeError::NotConfigured { setting } => {
                format!("The Worker's setting {setting} is missing or invalid; see /healthz.")
            }
            EdgeError::Unauthorized => {
                "Missing or wrong bearer secret (Authorization: Bearer <CONFIGURE_EDGE_API_SECRET>)."
                    .to_owned()
            }
            EdgeError::OriginNotAllowed => "This origin may not call this route.".to_owned(),
            EdgeError::InvalidToken => {
                "The sign-in token did not validate for this agent and user.".to_owned()
            }
            EdgeError::JourneyNotFound => "The journey is unknown, expired or already used.".to_owned(),
            EdgeError::LinkNotFound => "No link for this subject.".to_owned(),
            EdgeError::RedeemCodeNotFound => "The code is unknown, expired or already used.".to_owned(),
            EdgeError::SubjectMismatch => {
                "The code belongs to another subject; its sign-in was discarded.".to_owned()
            }
            EdgeError::PhoneMismatch => {
                "Configure knows this conversation's phone as another user; nothing was linked.".to_owned()
            }
            EdgeError::SenderNotVerified => {
                "Configure does not recognize the sender's phone as the user who signed in; nothing was linked."
                    .to_owned()
            }
            EdgeError::LinkConflict => {
                "The subject is already linked to another Configure user; delete that link first.".to_owned()
            }
            EdgeError::CompletionConflict => {
                "Two different users completed this journey; both were discarded. Start again.".to_owned()
            }
            EdgeError::NotSignedIn => {
                "Not signed in (no valid session; start at /auth/configure/login).".to_owned()
            }
            EdgeError::Upstream { step, error } => format!(
                "The Configure API failed during {step} ({}); nothing was lost, try again.",
                error.code.as_str()
            ),
            EdgeError::StoreUnavailable { .. } => {
                "Storage is unavailable; nothing was lost, try again.".to_owned()
            }
            EdgeError::RateLimited => "Too many requests; try again later.".to_owned(),
            EdgeError::Internal { .. } => "The Worker failed to answer; try again.".to_owned(),
        }
    }
}

impl fmt::Display for EdgeError {
    /// The log line: may carry internal detail, never a secret (callers build
    /// `Internal` details from error kinds, not from request or setting values).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeError::Internal { detail } => write!(f, "internal error: {detail}"),
            EdgeError::StoreUnavailable { detail } => write!(f, "store unavailable: {detail}"),
            EdgeError::Upstream { step, error } => write!(f, "configure api failed during {step}: {error}"),
            other => write!(f, "{} ({})", other.code(), other.public_message()),
        }
    }
}

impl std::error::Error for EdgeError {}

impl From<serde_json::Error> for EdgeError {
    fn from(err: serde_json::Error) -> Self {
        EdgeError::Internal { detail: format!("json: {err}") }
    }
}

/// A failure of a browser-facing step: answered as an HTML error page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    pub status: u16,
    pub title: &'static str,
    pub message: String,
}

impl PageError {
    pub fn new(status: u16, title: &'static str, message: impl Into<String>) -> PageError {
        PageError { status, title, message: message.into() }
    }

    pub fn invalid_state() -> PageError {
        PageError::new(400, "Sign-in could not be completed", "Invalid sign-in state.")
    }
}

impl From<EdgeError> for PageError {
    /// An `EdgeError` on a page: a fixed sentence for each kind a person can
    /// act on, never the error's detail.
    fn from(error: EdgeError) -> PageError {
        let title = "Sign-in could not be completed";
        match error {
            EdgeError::StoreUnavailable { .. } => {
                PageError::new(503, title, "Storage is unavailable right now. Please try again in a moment.")
            }
            EdgeError::NotConfigured { setting } => {
                PageError::new(503, title, format!("This Worker is not fully configured ({setting})."))
            }
            EdgeError::RateLimited => PageError::new(
                429,
                "Too many attempts",
                "Too many sign-in attempts from here. Please wait a minute and try again.",
            ),
            other => PageError::new(other.status(), title, "Something went wrong. Please try again."),
        }
    }
}

/// What a route's handler may fail with: an `EdgeError`, or a browser
/// step's `PageError`. `http::answer::render` shows either on the route's
/// surface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Edge(EdgeError),
    Page(PageError),
}

impl Failure {
    pub fn status(&self) -> u16 {
        match self {
            Failure::Edge(error) => error.status(),
            Failure::Page(error) => error.status,
        }
    }
}

impl From<EdgeError> for Failure {
    fn from(error: EdgeError) -> Failure {
        Failure::Edge(error)
    }
}

impl From<PageError> for Failure {
    fn from(error: PageError) -> Failure {
        Failure::Page(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Edge(error) => error.fmt(f),
            Failure::Page(error) => write!(f, "page {}: {}", error.status, error.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_show_a_fixed_sentence_never_the_detail() {
        let page = PageError::from(EdgeError::Internal { detail: "kv put failed: sk_live_secret".into() });
        assert_eq!(page.status, 500);
        assert!(!page.message.contains("sk_live"));
        assert_eq!(PageError::from(EdgeError::RateLimited).status, 429);
        let page = PageError::from(EdgeError::NotConfigured { setting: "PUBLIC_URL" });
        assert_eq!((page.status, page.message.contains("PUBLIC_URL")), (503, true));
    }
}
