//! The flows: one file each, async functions over the `Store` and
//! `ConfigureApi` ports, so the order of effects and every failure path is
//! tested natively with fault injection.

pub mod complete;
pub mod identity;
pub mod journeys;
pub mod links;
pub mod oauth;
pub mod redeem;
pub mod refresh;
pub mod sessions;
pub mod setup;
pub mod web;

use crate::api::ConfigureApi;
use crate::error::EdgeError;
use crate::http::body::{required_string, MAX_SUBJECT_LEN};
use crate::log::Log;
use crate::sdk::agent::AgentHandle;
use crate::sealing::seal::Keyring;
use crate::settings::config::{require, Config};
use crate::storage::ledger::Ledger;
use crate::storage::links::Links;
use crate::storage::store::Store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// The prefix of the subjects "Continue with Configure" links OAuth tokens
/// under (`configure:<sub>`): reserved, so no agent can choose one.
pub const OAUTH_SUBJECT_PREFIX: &str = "configure:";

/// What every flow runs with, one per request: the ports (absent when
/// their binding or settings are), the parsed settings, the clock and the
/// log. The accessors name the missing setting (503) when a flow needs
/// what is not there.
pub struct Flow<'a, S: Store, A: ConfigureApi> {
    pub store: Option<&'a S>,
    pub api: Option<&'a A>,
    /// The ledger, if bound (storage/ledger.rs); without it single use is
    /// best effort on KV.
    pub ledger: Option<Ledger<'a>>,
    pub config: &'a Config,
    pub now_ms: u64,
    pub log: &'a dyn Log,
}

impl<'a, S: Store, A: ConfigureApi> Flow<'a, S, A> {
    pub fn store(&self) -> Result<&'a S, EdgeError> {
        self.store.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_KV" })
    }

    /// The Configure API client: needs the agent and the API key.
    pub fn api(&self) -> Result<&'a A, EdgeError> {
        self.api.ok_or(EdgeError::NotConfigured { setting: "CONFIGURE_API_KEY" })
    }

    pub fn keyring(&self) -> Result<&'a Keyring, EdgeError> {
        require(&self.config.sealing_keys)
    }

    pub fn agent(&self) -> Result<&'a AgentHandle, EdgeError> {
        require(&self.config.agent)
    }

    /// The links, where they live (storage/links.rs).
    pub fn links(&self) -> Result<Links<'a, S>, EdgeError> {
        Ok(Links::new(
            self.store()?,
            self.ledger,
            self.keyring()?,
            self.agent()?.as_str(),
            self.now_ms,
            self.log,
        ))
    }

    /// `PUBLIC_URL`: every URL of a browser flow and every registration is
    /// built from it alone, never from the Host a request came to.
    pub fn public_url(&self) -> Result<&'a str, EdgeError> {
        self.config.public_url.as_deref().ok_or(EdgeError::NotConfigured { setting: "PUBLIC_URL" })
    }
}

/// An unguessable identifier: 32 random bytes, base64url (43 characters).
pub fn random_id() -> Result<String, EdgeError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| EdgeError::Internal { detail: "no randomness".to_owned() })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Six random decimal digits (uniform: rejection sampling, no modulo bias).
pub fn random_digits() -> Result<String, EdgeError> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes)
            .map_err(|_| EdgeError::Internal { detail: "no randomness".to_owned() })?;
        let n = u32::from_le_bytes(bytes);
        // The largest multiple of 10^6 that fits: draws above it are redrawn.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// The subject of an agent-API write: required, at most `MAX_SUBJECT_LEN`
/// bytes, and not one of the reserved OAuth subjects (those are written by
/// the OAuth callback alone; agents read them with `GET /v1/links`).
pub fn agent_subject(body: &Map<String, Value>) -> Result<String, EdgeError> {
    let subject = required_string(body, "subject", MAX_SUBJECT_LEN)?;
    if subject.starts_with(OAUTH_SUBJECT_PREFIX) {
        return Err(EdgeError::bad_request(
            "subject",
            format!(
                "subjects starting with \"{OAUTH_SUBJECT_PREFIX}\" are reserved for Continue with Configure"
            ),
        ));
    }
    Ok(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_six_and_vary() {
        let words: std::collections::BTreeSet<String> = (0..50).map(|_| random_digits().unwrap()).collect();
        assert!(words.iter().all(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit())));
        assert!(words.len() > 40);
    }

    #[test]
    fn oauth_subjects_are_reserved() {
        let body = |s: &str| serde_json::json!({ "subject": s }).as_object().unwrap().clone();
        assert_eq!(agent_subject(&body("configure:u1")).unwrap_err().status(), 400);
        assert_eq!(agent_subject(&body("  configure:u1")).unwrap_err().status(), 400);
        assert_eq!(agent_subject(&body("spectrum:configure:u1")).unwrap(), "spectrum:configure:u1");
    }
}
