//! The Configure API client's `HttpTransport` over workers-rs `Fetch`, with
//! a timeout that also covers reading the answer's body.

use crate::api::{ApiRequest, ApiResponse, HttpConfigureApi, HttpTransport, RequestBuilder, TransportError};
use crate::settings::config::{Config, Required};
use futures_util::future::{select, Either};
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

pub struct FetchTransport;

/// Whether a header value could add headers or end the request head:
/// refused before anything is sent (an access token from an API answer goes
/// into `Authorization`).
fn breaks_header(value: &str) -> bool {
    value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

impl HttpTransport for FetchTransport {
    async fn send(&self, request: &ApiRequest, timeout_ms: u64) -> Result<ApiResponse, TransportError> {
        let headers = Headers::new();
        for (name, value) in &request.headers {
            if breaks_header(value) {
                return Err(TransportError::Network("a request header held a line break".to_owned()));
            }
            headers.append(name, value).map_err(|e| TransportError::Network(e.to_string()))?;
        }
        let controller = AbortController::default();
        let signal = controller.signal();
        let mut init = RequestInit::new();
        init.with_method(Method::from(request.method.to_owned())).with_headers(headers);
        if let Some(body) = &request.body {
            init.with_body(Some(JsValue::from_str(body)));
        }
        let outgoing = Request::new_with_init(&request.url, &init)
            .map_err(|e| TransportError::Network(e.to_string()))?;
        let exchange = async {
            let mut response = Fetch::Request(outgoing).send_with_signal(&signal).await?;
            let status = response.status_code();
            let body = response.text().await?;
            Ok::<_, worker::Error>(ApiResponse { status, body })
        };
        let timeout = Delay::from(Duration::from_millis(timeout_ms));
        let outcome = match select(std::pin::pin!(exchange), timeout).await {
            Either::Left((Ok(answer), _)) => Ok(answer),
            Either::Left((Err(error), _)) => Err(TransportError::Network(error.to_string())),
            Either::Right(_) => {
                controller.abort();
                Err(TransportError::Timeout)
            }
        };
        outcome
    }
}

/// The API client, when the agent and the API key are set.
pub fn api_for(config: &Config) -> Option<HttpConfigureApi<FetchTransport>> {
    let (Ok(agent), Ok(api_key)): (&Required<_>, &Required<_>) = (&config.agent, &config.api_key) else {
        return None;
    };
    Some(HttpConfigureApi {
        requests: RequestBuilder {
            base_url: config.base_url.clone(),
            api_key: api_key.clone(),
            agent: agent.as_str().to_owned(),
        },
        transport: FetchTransport,
        timeout_ms: config.api_timeout_ms,
    })
}
