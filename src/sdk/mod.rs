//! The official SDK's rules, kept in parity with `configure@1.7.4`: the
//! hosted sign-in URL, agent handles, phone candidates, redirect URIs, and
//! the SDK's error shape; and the strict http(s) URL checks every URL the
//! Worker reads goes through (`strict_url`, over the `url` crate). Used by
//! the npm helpers and the Worker alike.

pub mod agent;
pub mod configure_error;
pub mod js_text;
pub mod phone;
pub mod redirect;
pub mod sign_in_url;
pub mod strict_url;
