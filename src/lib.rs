//! configure-edge: Configure's hosted sign-in (sign-in.me) at the edge.
//!
//! The core modules are plain Rust with no Workers or JS types and are tested
//! natively; `worker` (the Cloudflare Worker) and `js` (the npm helpers) are
//! thin shells compiled only for wasm32.

pub mod app;
pub mod error;
pub mod http;
pub mod routes;
pub mod settings;

#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod worker;

pub use app::App;
pub use error::EdgeError;
pub use http::{HttpRequest, HttpResponse, Method};
