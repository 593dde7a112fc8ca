//! Rate limiting of the public routes (the webhook, the sign-in route, the
//! callback) through the Workers Rate Limiting binding, keyed by route and
//! client address. Without the binding nothing is limited; if the binding
//! fails, the request goes through (logged): availability over strictness,
//! since the real gates are Configure's token checks and the state cookie.

use crate::http::HttpRequest;

#[allow(async_fn_in_trait)]
pub trait RateLimit {
    /// Whether one more request under `key` is allowed now. `Err` is a
    /// failure of the limiter itself.
    async fn allow(&self, key: &str) -> Result<bool, String>;
}

/// No limiter: everything is allowed.
pub struct NoLimit;

impl RateLimit for NoLimit {
    async fn allow(&self, _key: &str) -> Result<bool, String> {
        Ok(true)
    }
}

/// The limiter key: the route's name and the client address Cloudflare
/// reports (`CF-Connecting-IP`), never a caller-chosen value.
pub fn key(route: &str, request: &HttpRequest) -> String {
    let client =
        request.header("cf-connecting-ip").map(str::trim).filter(|ip| !ip.is_empty()).unwrap_or("unknown");
    format!("{route}:{client}")
}

/// Seconds a limited client is told to wait (the binding's period).
pub const RETRY_AFTER_SECONDS: u32 = 60;
