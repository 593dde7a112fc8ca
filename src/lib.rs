//! configure-edge: Configure's hosted sign-in (sign-in.me) at the edge.
//!
//! The core modules are plain Rust with no Workers or JS types and are tested
//! natively; `worker` (the Cloudflare Worker) and `js` (the npm helpers) are
//! thin shells compiled only for wasm32.

// The helpers: the official SDK's URL and validation rules.
pub mod agent;
pub mod configure_error;
pub mod js_text;
pub mod phone;
pub mod redirect;
pub mod sign_in_url;

// The Worker's request handling.
pub mod clock;
pub mod records;
pub mod seal;
pub mod session;
pub mod store;

pub mod api;
pub mod app;
pub mod b64;
pub mod bearer;
pub mod body;
pub mod config;
pub mod cookies;
pub mod cors;
pub mod crypto;
pub mod error;
pub mod flows;
pub mod http;
pub mod http_url;
pub mod json_fields;
pub mod log;
pub mod pages;
pub mod ratelimit;
pub mod routes;
pub mod settings;
pub mod text;

#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod worker;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
mod js;

pub use app::App;
pub use error::EdgeError;
pub use http::{HttpRequest, HttpResponse, Method};
