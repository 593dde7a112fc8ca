//! The flows: one file each, async functions over the `Store` and
//! `ConfigureApi` ports, so the order of effects and every failure path is
//! tested natively with fault injection.

pub mod complete;
pub mod identity;
pub mod journeys;
pub mod links;
pub mod oauth;
pub mod web;

use crate::error::EdgeError;

/// An unguessable identifier: 32 random bytes, base64url (43 characters).
pub fn random_id() -> Result<String, EdgeError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| EdgeError::Internal { detail: "no randomness".to_owned() })?;
    Ok(crate::b64::encode_url(bytes))
}
