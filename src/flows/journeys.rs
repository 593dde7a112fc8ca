//! `POST /v1/journeys`: a message sign-in for a subject. Keeps an
//! unguessable journey id in KV with a TTL and answers the hosted URL with
//! delivery "message", the journey, and this Worker's completion webhook.

use crate::agent::AgentHandle;
use crate::body::{optional_string, optional_string_list, required_string};
use crate::clock::iso8601;
use crate::config::Config;
use crate::error::EdgeError;
use crate::phone;
use crate::records::{journey_key, JourneyRecord, RECORD_VERSION};
use crate::seal::Keyring;
use crate::sign_in_url::{sign_in_url, SignInUrlOptions};
use crate::store::Store;
use serde::Serialize;
use serde_json::{Map, Value};

pub const MAX_SUBJECT_LEN: usize = 1024;
/// Where the hosted page posts the completion, under this Worker's origin.
pub const COMPLETE_PATH: &str = "/auth/configure/complete";

/// The body of `POST /v1/journeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyRequest {
    pub subject: String,
    pub connectors: Vec<String>,
    pub display_name: Option<String>,
    pub message_line_phone: Option<String>,
    pub message_body: Option<String>,
    pub theme: Option<String>,
}

impl JourneyRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<JourneyRequest, EdgeError> {
        let subject = required_string(body, "subject", MAX_SUBJECT_LEN)?;
        let connectors = optional_string_list(body, "connectors", 16, 64)?;
        let display_name = optional_string(body, "displayName", 200)?;
        let message_line_phone = optional_string(body, "messageLinePhone", 64)?
            .map(|p| {
                phone::validate_phone(&p).map_err(|e| EdgeError::bad_request("messageLinePhone", e.message))
            })
            .transpose()?;
        let message_body = optional_string(body, "messageBody", 500)?;
        let theme = optional_string(body, "theme", 16)?;
        if let Some(theme) = &theme {
            if theme != "light" && theme != "dark" {
                return Err(EdgeError::bad_request("theme", "theme must be \"light\" or \"dark\""));
            }
        }
        Ok(JourneyRequest { subject, connectors, display_name, message_line_phone, message_body, theme })
    }
}

/// The answer of `POST /v1/journeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyCreated {
    pub journey_id: String,
    pub url: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// Creates the journey: the record is written before the URL is handed out,
/// so a user who follows the link always finds it.
pub async fn create_journey<S: Store>(
    store: &S,
    keyring: &Keyring,
    agent: &AgentHandle,
    config: &Config,
    request: &JourneyRequest,
    worker_origin: &str,
    now_ms: u64,
) -> Result<JourneyCreated, EdgeError> {
    let journey_id = super::random_id()?;
    let key = journey_key(&journey_id);
    let ttl = config.journey_ttl_seconds;
    let expires_at = now_ms + ttl * 1000;
    let sealed_subject = keyring.seal(request.subject.as_bytes(), &key)?;
    let record = JourneyRecord { v: RECORD_VERSION, sealed_subject, created_at: now_ms, expires_at };

    let options = SignInUrlOptions {
        sign_in_origin: config.sign_in_origins.first().cloned(),
        publishable_key: config.publishable_key.clone(),
        delivery: Some("message".to_owned()),
        journey_id: Some(journey_id.clone()),
        display_name: request.display_name.clone(),
        message_line_phone: request.message_line_phone.clone(),
        message_body: request.message_body.clone(),
        message_complete_url: Some(format!("{worker_origin}{COMPLETE_PATH}")),
        connectors: request.connectors.clone(),
        theme: request.theme.clone(),
        ..SignInUrlOptions::default()
    };
    let url = sign_in_url(agent, &options).map_err(|e| EdgeError::Internal { detail: e.to_string() })?;

    store.put(&key, &serde_json::to_string(&record)?, Some(ttl)).await?;
    Ok(JourneyCreated { journey_id, url, expires_at: iso8601(expires_at) })
}
