//! The Worker's request handling, free of Workers types: route, run the
//! handler, and map any error to its response in one place.

use crate::error::EdgeError;
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::routes::{self, Route};
use crate::settings::{self, SettingSource};
use serde_json::json;

/// The crate version, reported by /healthz.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a request is handled with.
pub struct App<'a> {
    pub settings: &'a dyn SettingSource,
}

impl App<'_> {
    /// Answers one request. Never panics on input and never fails: every
    /// error becomes its JSON answer through `EdgeError::into_response`.
    pub async fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let mut response = match self.dispatch(request).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        if request.method == Method::Head {
            response.body.clear();
        }
        response
    }

    async fn dispatch(&self, request: &HttpRequest) -> Result<HttpResponse, EdgeError> {
        match routes::resolve(request.method, &request.path)? {
            Route::Healthz => Ok(self.healthz()),
        }
    }

    fn healthz(&self) -> HttpResponse {
        HttpResponse::json(
            200,
            &json!({
                "ok": true,
                "version": VERSION,
                "settings": settings::presence(self.settings),
            }),
        )
    }
}
