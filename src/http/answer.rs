//! The one place a failure becomes an answer, for each surface a route has
//! (`routes::Surface`): the agent API's JSON error, the completion webhook's
//! JSON error (the same shape plus `linked: false`), or an HTML error page.
//! Every answer is built from the error's public parts only (status, code,
//! public message, the field it names): never an upstream body, a detail or
//! a secret.

use crate::error::{EdgeError, Failure, PageError};
use crate::http::pages;
use crate::http::ratelimit::RETRY_AFTER_SECONDS;
use crate::http::routes::Surface;
use crate::http::HttpResponse;
use serde::Serialize;

/// `{"error":{"code","field"?,"message"},"linked"?:false,"ok":false}`: the
/// keys in the order serde_json wrote them before (sorted), so answers stay
/// byte for byte what clients saw.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    linked: Option<bool>,
    ok: bool,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    message: String,
}

/// `failure` on `surface`.
pub fn render(surface: Surface, failure: Failure) -> HttpResponse {
    match (surface, failure) {
        (Surface::Page, Failure::Page(error)) => page(error),
        (Surface::Page, Failure::Edge(error)) => page(PageError::from(error)),
        (Surface::Webhook, Failure::Edge(error)) => json(&error, Some(false)),
        (Surface::Json, Failure::Edge(error)) => json(&error, None),
        // A page failure on a JSON route is a bug; still answered in the
        // route's shape, with the page's status.
        (Surface::Json | Surface::Webhook, Failure::Page(error)) => {
            let linked = (surface == Surface::Webhook).then_some(false);
            let status = error.status;
            let mut response = json(&EdgeError::Internal { detail: error.message }, linked);
            response.status = status;
            response
        }
    }
}

/// The agent API's JSON error (also 404 and 405 on any path).
pub fn json_error(error: &EdgeError) -> HttpResponse {
    json(error, None)
}

fn json(error: &EdgeError, linked: Option<bool>) -> HttpResponse {
    let field = match error {
        EdgeError::BadRequest { field, .. } => field.as_deref(),
        _ => None,
    };
    let body = ErrorBody {
        error: ErrorDetail { code: error.code(), field, message: error.public_message() },
        linked,
        ok: false,
    };
    let mut response = HttpResponse::json(error.status(), &body);
    match error {
        EdgeError::MethodNotAllowed { allow } => response = response.with_header("Allow", allow),
        EdgeError::Unauthorized => response = response.with_header("WWW-Authenticate", "Bearer"),
        EdgeError::Upstream { .. } | EdgeError::StoreUnavailable { .. } => {
            response = response.with_header("Retry-After", "5")
        }
        EdgeError::RateLimited => {
            response = response.with_header("Retry-After", &RETRY_AFTER_SECONDS.to_string())
        }
        _ => {}
    }
    response
}

fn page(error: PageError) -> HttpResponse {
    let response = pages::error(error.status, error.title, &error.message);
    if error.status == 429 {
        return response.with_header("Retry-After", &RETRY_AFTER_SECONDS.to_string());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn body(response: &HttpResponse) -> serde_json::Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    #[test]
    fn method_not_allowed_lists_allow_header() {
        let allow = Method::join(&[Method::Get, Method::Head]);
        let response = json_error(&EdgeError::MethodNotAllowed { allow });
        assert_eq!(response.status, 405);
        assert_eq!(response.header("allow"), Some("GET, HEAD"));
        assert_eq!(body(&response)["error"]["code"], "method_not_allowed");
    }

    #[test]
    fn bad_request_names_the_field_in_the_byte_order_clients_saw() {
        let response = json_error(&EdgeError::bad_request("subject", "subject is required"));
        assert_eq!(response.status, 400);
        assert_eq!(
            String::from_utf8(response.body).unwrap(),
            r#"{"error":{"code":"bad_request","field":"subject","message":"subject is required"},"ok":false}"#
        );
    }

    #[test]
    fn internal_detail_never_reaches_the_client() {
        for surface in [Surface::Json, Surface::Webhook, Surface::Page] {
            let error = EdgeError::Internal { detail: "kv put failed: sk_live_secret".into() };
            let response = render(surface, error.into());
            assert_eq!(response.status, 500);
            let text = String::from_utf8(response.body.clone()).unwrap();
            assert!(!text.contains("sk_live_secret"));
            assert!(!text.contains("kv put"));
        }
    }

    #[test]
    fn every_json_error_is_json_with_content_type() {
        for err in [
            EdgeError::NotFound,
            EdgeError::UnsupportedMediaType,
            EdgeError::PayloadTooLarge { limit: 10 },
            EdgeError::NotConfigured { setting: "CONFIGURE_KV" },
            EdgeError::malformed("bad"),
        ] {
            let status = err.status();
            let response = json_error(&err);
            assert_eq!(response.status, status);
            assert_eq!(response.header("content-type"), Some("application/json; charset=utf-8"));
            assert_eq!(body(&response)["ok"], false);
        }
    }

    #[test]
    fn the_webhook_adds_linked_false_without_reparsing() {
        let response = render(Surface::Webhook, EdgeError::JourneyNotFound.into());
        assert_eq!(response.status, 404);
        let body = body(&response);
        assert_eq!((body["ok"].clone(), body["linked"].clone()), (false.into(), false.into()));
        assert_eq!(body["error"]["code"], "journey_not_found");
    }

    #[test]
    fn pages_are_html_and_a_rate_limited_page_says_when_to_retry() {
        let response = render(Surface::Page, EdgeError::RateLimited.into());
        assert_eq!(response.status, 429);
        assert!(response.header("content-type").unwrap().starts_with("text/html"));
        assert_eq!(response.header("retry-after"), Some("60"));
    }
}
