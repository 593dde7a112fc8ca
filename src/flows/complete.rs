//! `POST /auth/configure/complete`: the hosted page's completion webhook.
//!
//! Order of effects, so that nothing is lost on a fault: read the journey
//! (without deleting it) and validate the token, concurrently; then write the
//! link; then delete the journey. A Configure or KV failure leaves the
//! journey in place for a retry.

use crate::api::ConfigureApi;
use crate::body::{optional_string, required_string};
use crate::configure_error::ErrorCode;
use crate::error::EdgeError;
use crate::log::Log;
use crate::records::{journey_key, parse_record, JourneyRecord, LinkSource};
use crate::seal::Keyring;
use crate::store::Store;
use futures_util::future::join;
use serde_json::{Map, Value};

use super::links::{store_link, NewLink};

/// What the hosted page posts: `{token, userId, agent, journeyId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub token: String,
    pub user_id: String,
    pub agent: Option<String>,
    pub journey_id: String,
}

impl Completion {
    pub fn from_json(body: &Map<String, Value>) -> Result<Completion, EdgeError> {
        Ok(Completion {
            token: required_string(body, "token", 8192)?,
            user_id: required_string(body, "userId", 256)?,
            agent: optional_string(body, "agent", 64)?,
            journey_id: required_string(body, "journeyId", 256)?,
        })
    }
}

/// Completes a journey: links its subject to the validated token.
pub async fn complete<S: Store, A: ConfigureApi>(
    store: &S,
    api: &A,
    keyring: &Keyring,
    agent: &str,
    completion: &Completion,
    now_ms: u64,
    log: &dyn Log,
) -> Result<(), EdgeError> {
    let key = journey_key(&completion.journey_id);
    let (journey, validation) = join(store.get(&key), api.validate(&completion.token)).await;

    let journey = journey?;
    let validation = match validation {
        Ok(validation) => validation,
        // The API refused the token itself (400): it is not a valid token.
        // Any other refusal (404 from a wrong base URL, 401 for our key, ...)
        // is ours to fix: 502, and the journey stays usable.
        Err(error) if error.code == ErrorCode::InvalidInput && error.status == Some(400) => {
            return Err(EdgeError::InvalidToken)
        }
        Err(error) => return Err(EdgeError::Upstream { step: "token validation", error }),
    };
    let user_id = validation.user_id.as_deref().unwrap_or("");
    let trusted = validation.valid
        && validation.agent.as_deref() == Some(agent)
        && user_id == completion.user_id
        && completion.agent.as_deref().is_none_or(|posted| posted == agent);
    if !trusted {
        return Err(EdgeError::InvalidToken);
    }

    let record = journey.and_then(|text| {
        let record = parse_record::<JourneyRecord>(&text);
        if record.is_none() {
            log.warn(&format!("unreadable journey record at {key}"));
        }
        record
    });
    let Some(record) = record.filter(|r| now_ms < r.expires_at) else {
        return Err(EdgeError::JourneyNotFound);
    };
    let subject = keyring.open_text(&record.sealed_subject, &key).map_err(|error| {
        log.warn(&format!("journey record at {key} does not open ({error:?})"));
        EdgeError::JourneyNotFound
    })?;

    store_link(
        store,
        keyring,
        NewLink {
            subject: &subject,
            token: &completion.token,
            user_id,
            agent,
            source: LinkSource::Webhook,
            refresh_token: None,
            expires_at: None,
        },
        now_ms,
    )
    .await?;

    // The link is written: the completion has succeeded. A failed delete
    // leaves the journey usable until its TTL (a replay rewrites the same
    // link after validating the token again); it is logged, not an error.
    if let Err(error) = store.delete(&key).await {
        log.warn(&format!("journey {key} completed but not deleted: {error}"));
    }
    Ok(())
}
