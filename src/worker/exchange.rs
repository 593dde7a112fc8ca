//! The request in and the answer out: a workers-rs `Request` read into the
//! core's `HttpRequest` (its body only up to the route's limit) and the
//! core's `HttpResponse` written as a workers-rs `Response`.

use crate::error::EdgeError;
use crate::http::{routes, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use worker::{Headers, Request, Response, ResponseBuilder};

/// The core's request, with the body read up to its route's limit: a larger
/// `Content-Length` is refused before a byte is read, and a stream that goes
/// past the limit is cancelled (dropping the reader cancels the stream), so
/// a huge or endless body is never buffered; `body_too_large` then tells
/// `App::handle` to answer 413.
pub async fn read_request(req: &mut Request) -> Result<HttpRequest, EdgeError> {
    let url = req.inner().url();
    let mut request = HttpRequest::new(&req.inner().method(), &url)
        .ok_or_else(|| EdgeError::malformed("The request URL could not be read."))?;
    request.headers =
        req.headers().entries().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect();
    let limit = routes::body_limit(request.method, &request.path);
    if limit == 0 || req.inner().body().is_none() {
        return Ok(request);
    }
    let declared = request.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        drop(req.stream());
        request.body_too_large = true;
        return Ok(request);
    }
    // A body that could not be read whole is the client's fault (a broken
    // upload): flagged, and answered 400 on the route's surface.
    let Ok(mut stream) = req.stream() else {
        request.body_unreadable = true;
        return Ok(request);
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            request.body_unreadable = true;
            return Ok(request);
        };
        if body.len() + chunk.len() > limit {
            drop(stream);
            request.body_too_large = true;
            return Ok(request);
        }
        body.extend_from_slice(&chunk);
    }
    // workers-rs ends the stream quietly when the client aborts: a body
    // shorter than it said is a cut-off upload, not a request.
    if declared.is_some_and(|length| length != body.len() as u64) {
        request.body_unreadable = true;
        return Ok(request);
    }
    request.body = body;
    Ok(request)
}

/// The core's answer as a `Response`. A header the runtime refuses (only a
/// bug can make one) becomes the internal error's answer, whose headers are
/// fixed.
pub fn write_response(answer: &HttpResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &answer.headers {
        if headers.append(name, value).is_err() {
            worker::console_error!(
                "configure-edge: the runtime refused an answer header ({name}); answered 500"
            );
            let detail = format!("the runtime refused the answer header {name}");
            return write_response(&crate::http::answer::json_error(&EdgeError::Internal { detail }));
        }
    }
    let builder = ResponseBuilder::new().with_status(answer.status).with_headers(headers);
    Ok(if answer.body.is_empty() { builder.empty() } else { builder.fixed(answer.body.clone()) })
}
