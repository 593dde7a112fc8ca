//! configure-edge: Configure's hosted sign-in (sign-in.me) at the edge.
//!
//! The core folders are plain Rust with no Workers or JS types and are
//! tested natively; `worker` (the Cloudflare Worker) and `npm` (the npm
//! helpers) are thin shells compiled only for wasm32. Each module uses only
//! the ones declared above it (tests/layout.rs holds that; README: Layout).

/// The crate version, reported by /healthz.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// Ports with no dependencies: the clock's formats and the log.
pub mod clock;
pub mod log;

// The official SDK's rules (sign-in URL, agent, phone, redirect, its error
// shape) and the strict URL checks: the npm helpers and the Worker alike.
pub mod sdk;

// The Worker's failures (a leaf: rendered by `http::answer`).
pub mod error;

// Sealing (AES-GCM keyrings, hashing, HMAC) and the edge session.
pub mod sealing;

// Settings: names, parsing, validation, the presence report.
pub mod settings;

// HTTP plumbing: plain request/response values, the route table, bodies,
// cookies, CORS, the bearer check, pages, the rate-limit port, and the one
// place failures become answers.
pub mod http;

// Storage: the key-value port, the record schema, the shared repository.
pub mod storage;

// The Configure API client over its `HttpTransport` seam.
pub mod api;

// The flows, one file each, over the ports and one `Flow` per request.
pub mod flows;

// The app: one match over the route table.
pub mod app;

// The two shells, wasm32 only: the Cloudflare Worker on workers-rs, and the
// npm helpers' exports.
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
pub mod worker;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
mod npm;

pub use app::App;
pub use error::EdgeError;
pub use http::{HttpRequest, HttpResponse, Method};
