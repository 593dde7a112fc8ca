//! The official SDK's rules, kept in parity with `configure@1.7.4`: the
//! hosted sign-in URL, agent handles, phone candidates, redirect URIs, and
//! the SDK's error shape. Used by the npm helpers and the Worker alike.

pub mod agent;
pub mod configure_error;
pub mod js_text;
pub mod phone;
pub mod redirect;
pub mod sign_in_url;
