//! configure-edge: Configure's hosted sign-in (sign-in.me) at the edge.
//!
//! The core folders are plain Rust with no Workers or JS types and are
//! tested natively; `worker` (the Cloudflare Worker) and `npm` (the npm
//! helpers) are thin shells compiled only for wasm32. Each folder uses only
//! the ones listed above it (README: Layout).

/// The crate version, reported by /healthz.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod clock;
pub mod error;
pub mod log;

// The official SDK's URL and validation rules (npm helpers and Worker alike).
pub mod sdk;

// The Worker's request handling, one role a folder.
pub mod api;
pub mod app;
pub mod flows;
pub mod http;
pub mod sealing;
pub mod settings;
pub mod storage;

#[cfg(all(target_arch = "wasm32", feature = "worker"))]
pub mod worker;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
mod npm;

pub use app::App;
pub use error::EdgeError;
pub use http::{HttpRequest, HttpResponse, Method};
