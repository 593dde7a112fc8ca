//! The Cloudflare Worker shell (wasm32 only): translate a `worker::Request`
//! into the core's `HttpRequest`, run `App::handle`, translate the answer
//! back. No routing or rules live here.

use crate::app::App;
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::settings::SettingSource;
use worker::{event, Context, Env, Headers, Request, Response};

/// Settings read from the Worker's bindings, vars and secrets.
struct EnvSettings<'a>(&'a Env);

impl SettingSource for EnvSettings<'_> {
    fn text(&self, name: &str) -> Option<String> {
        // Vars and secrets are both plain string bindings at runtime.
        self.0.var(name).ok().map(|value| value.to_string())
    }

    fn has_binding(&self, name: &str) -> bool {
        self.0.kv(name).is_ok()
    }
}

#[event(fetch)]
pub async fn fetch(request: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let settings = EnvSettings(&env);
    let app = App { settings: &settings };
    let response = match into_core_request(request).await {
        Ok(core_request) => app.handle(&core_request).await,
        Err(error) => error.into_response(),
    };
    into_worker_response(response)
}

async fn into_core_request(mut request: Request) -> Result<HttpRequest, crate::EdgeError> {
    let method = request.inner().method();
    let url = request.inner().url();
    let mut core = HttpRequest::new(&method, &url)
        .ok_or_else(|| crate::EdgeError::malformed("The request URL could not be read."))?;
    for (name, value) in request.headers().entries() {
        core.headers.push((name, value));
    }
    // Only methods that carry a body are read; a body that cannot be read is
    // the client's fault (a broken upload), never a panic.
    if matches!(core.method, Method::Post | Method::Put | Method::Patch | Method::Delete) {
        core.body = request
            .bytes()
            .await
            .map_err(|_| crate::EdgeError::malformed("The request body could not be read."))?;
    }
    Ok(core)
}

fn into_worker_response(response: HttpResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    let body = if response.body.is_empty() {
        Response::empty()?
    } else {
        Response::from_bytes(response.body)?
    };
    Ok(body.with_status(response.status).with_headers(headers))
}

#[cfg(test)]
mod tests {
    //! Run by `cargo test --target wasm32-unknown-unknown` in Node
    //! (wasm-bindgen-test): the translation both ways, with real
    //! `Request`/`Response` objects.
    use super::*;
    use crate::error::EdgeError;
    use wasm_bindgen_test::wasm_bindgen_test;
    use worker::{Method as WorkerMethod, RequestInit};

    #[wasm_bindgen_test]
    async fn error_answer_keeps_status_headers_and_json_body() {
        let answer = EdgeError::MethodNotAllowed { allow: vec![Method::Get, Method::Head] }
            .into_response();
        let mut response = into_worker_response(answer).unwrap();
        assert_eq!(response.status_code(), 405);
        assert_eq!(response.headers().get("allow").unwrap().as_deref(), Some("GET, HEAD"));
        assert_eq!(
            response.headers().get("content-type").unwrap().as_deref(),
            Some("application/json; charset=utf-8")
        );
        let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }

    #[wasm_bindgen_test]
    async fn empty_answer_has_no_body() {
        let mut response = into_worker_response(HttpResponse::empty(204)).unwrap();
        assert_eq!(response.status_code(), 204);
        assert_eq!(response.text().await.unwrap(), "");
    }

    #[wasm_bindgen_test]
    async fn request_translation_keeps_method_path_query_headers_and_body() {
        let headers = Headers::new();
        headers.set("Content-Type", "application/json").unwrap();
        headers.set("X-Custom", "v").unwrap();
        let mut init = RequestInit::new();
        init.with_method(WorkerMethod::Post)
            .with_headers(headers)
            .with_body(Some(wasm_bindgen::JsValue::from_str("{\"a\":1}")));
        let request =
            Request::new_with_init("https://edge.example/v1/x%20y?q=1&r=%ZZ", &init).unwrap();
        let core = into_core_request(request).await.unwrap();
        assert_eq!(core.method, Method::Post);
        assert_eq!(core.path, "/v1/x%20y");
        assert_eq!(core.query, "q=1&r=%ZZ");
        assert_eq!(core.header("content-type"), Some("application/json"));
        assert_eq!(core.header("X-CUSTOM"), Some("v"));
        assert_eq!(core.body, b"{\"a\":1}");
    }

    #[wasm_bindgen_test]
    async fn core_answers_the_same_under_wasm() {
        let settings = std::collections::BTreeMap::<String, String>::new();
        let app = App { settings: &settings };
        let request = HttpRequest::new("DELETE", "https://edge.example/healthz").unwrap();
        let response = app.handle(&request).await;
        assert_eq!(response.status, 405);
        assert_eq!(response.header("Allow"), Some("GET, HEAD"));
    }
}
