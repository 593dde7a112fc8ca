//! `POST /v1/journeys`: a message sign-in for a subject. Keeps an
//! unguessable journey id in KV with a TTL and answers the hosted URL with
//! delivery "message", the journey, and this Worker's completion webhook.
//!
//! A journey is bound to the conversation that asked for it (complete.rs):
//! to its phone (`phoneCandidates`, recognized by Configure as the token's
//! user), else to a confirmation word that the hosted page's text-back sends
//! from the user's own thread; `binding: "none"` is the agent's explicit,
//! forwardable exception.

use crate::api::ConfigureApi;
use crate::clock::iso8601;
use crate::error::EdgeError;
use crate::http::body::{optional_string, optional_string_list};
use crate::log::Log;
use crate::sdk::phone::{self, normalize_candidates};
use crate::sdk::sign_in_url::{sign_in_url, SignInUrlOptions};
use crate::sealing::seal::{Keyring, OpenError};
use crate::storage::records::{journey_key, Binding, JourneyRecord, RECORD_VERSION};
use crate::storage::store::Store;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::storage::repository::live_record;

/// Where the hosted page posts the completion, under this Worker's origin.
pub const COMPLETE_PATH: &str = "/auth/configure/complete";

/// The text-back a confirmation word follows when the agent gives none.
pub const DEFAULT_MESSAGE_BODY: &str = "done";

/// The body of `POST /v1/journeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyRequest {
    pub subject: String,
    pub connectors: Vec<String>,
    pub display_name: Option<String>,
    pub message_line_phone: Option<String>,
    pub message_body: Option<String>,
    pub theme: Option<String>,
    /// The sender's phone-like ids, normalized as the SDK does.
    pub phone_candidates: Vec<String>,
    pub binding: Binding,
}

impl JourneyRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<JourneyRequest, EdgeError> {
        let subject = super::agent_subject(body)?;
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
        let phone_candidates = normalize_candidates(&optional_string_list(body, "phoneCandidates", 16, 64)?);
        let binding = match optional_string(body, "binding", 16)? {
            None if phone_candidates.is_empty() => Binding::Confirmation,
            None => Binding::Phone,
            Some(text) => Binding::parse(&text).ok_or_else(|| {
                EdgeError::bad_request("binding", "binding must be \"phone\", \"confirmation\" or \"none\"")
            })?,
        };
        if binding == Binding::Phone && phone_candidates.is_empty() {
            return Err(EdgeError::bad_request(
                "phoneCandidates",
                "phoneCandidates is required for binding \"phone\"",
            ));
        }
        Ok(JourneyRequest {
            subject,
            connectors,
            display_name,
            message_line_phone,
            message_body,
            theme,
            phone_candidates,
            binding,
        })
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
    pub binding: Binding,
    /// The word the conversation sends back (every binding but `none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
}

/// The associated data of a journey's sealed subject: its key and binding
/// (journeys of before bindings: the key alone), so the binding cannot be
/// changed in KV.
pub fn subject_context(key: &str, binding: Option<Binding>) -> String {
    match binding {
        Some(binding) => format!("{key}#{}", binding.as_str()),
        None => key.to_owned(),
    }
}

fn candidates_context(key: &str) -> String {
    format!("{key}#candidates")
}

fn confirmation_context(key: &str) -> String {
    format!("{key}#confirmation")
}

/// Creates the journey: the record is written before the URL is handed out,
/// so a user who follows the link always finds it.
pub async fn create_journey<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    request: &JourneyRequest,
    worker_origin: &str,
) -> Result<JourneyCreated, EdgeError> {
    let (store, keyring, agent) = (flow.store()?, flow.keyring()?, flow.agent()?);
    let (config, now_ms) = (flow.config, flow.now_ms);
    let journey_id = super::random_id()?;
    let key = journey_key(&journey_id);
    let ttl = config.journey_ttl_seconds;
    let expires_at = now_ms + ttl * 1000;
    let binding = request.binding;
    let confirmation = match binding {
        Binding::None => None,
        Binding::Phone | Binding::Confirmation => Some(super::random_digits()?),
    };
    let sealed_candidates =
        match binding {
            Binding::Phone => Some(keyring.seal(
                serde_json::to_string(&request.phone_candidates)?.as_bytes(),
                &candidates_context(&key),
            )?),
            Binding::Confirmation | Binding::None => None,
        };
    let record = JourneyRecord {
        v: RECORD_VERSION,
        sealed_subject: keyring.seal(request.subject.as_bytes(), &subject_context(&key, Some(binding)))?,
        binding: Some(binding),
        sealed_candidates,
        sealed_confirmation: confirmation
            .as_deref()
            .map(|word| keyring.seal(word.as_bytes(), &confirmation_context(&key)))
            .transpose()?,
        created_at: now_ms,
        expires_at,
    };
    // The word rides in the text-back the hosted page sends from the user's
    // own thread: "done" becomes "done 482913".
    let message_body = match &confirmation {
        Some(word) => {
            Some(format!("{} {word}", request.message_body.as_deref().unwrap_or(DEFAULT_MESSAGE_BODY)))
        }
        None => request.message_body.clone(),
    };

    let options = SignInUrlOptions {
        sign_in_origin: config.sign_in_origins.first().cloned(),
        publishable_key: config.publishable_key.clone(),
        delivery: Some("message".to_owned()),
        journey_id: Some(journey_id.clone()),
        display_name: request.display_name.clone(),
        message_line_phone: request.message_line_phone.clone(),
        message_body,
        message_complete_url: Some(format!("{worker_origin}{COMPLETE_PATH}")),
        connectors: request.connectors.clone(),
        theme: request.theme.clone(),
        ..SignInUrlOptions::default()
    };
    let url = sign_in_url(agent, &options).map_err(|e| EdgeError::Internal { detail: e.to_string() })?;

    store.put(&key, &serde_json::to_string(&record)?, Some(ttl)).await?;
    Ok(JourneyCreated { journey_id, url, expires_at: iso8601(expires_at), binding, confirmation })
}

/// A live journey, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenJourney {
    pub key: String,
    pub subject: String,
    pub binding: Binding,
    pub phone_candidates: Vec<String>,
    pub confirmation: Option<String>,
    pub expires_at: u64,
}

/// The journey at `key` if it is live at `now_ms` and opens; anything else
/// (unknown, expired, unreadable, tampered with) is `None`, logged.
pub async fn live_journey<S: Store>(
    store: &S,
    keyring: &Keyring,
    key: &str,
    now_ms: u64,
    log: &dyn Log,
) -> Result<Option<OpenJourney>, EdgeError> {
    let Some(record) = live_record::<JourneyRecord, S>(store, key, now_ms, log).await? else {
        return Ok(None);
    };
    let opened = (|| {
        let subject = keyring.open_text(&record.sealed_subject, &subject_context(key, record.binding))?;
        let phone_candidates = match &record.sealed_candidates {
            None => Vec::new(),
            Some(sealed) => {
                let bytes = keyring.open(sealed, &candidates_context(key))?;
                let list: Value = serde_json::from_slice(&bytes).map_err(|_| OpenError::Malformed)?;
                let items = list.as_array().ok_or(OpenError::Malformed)?;
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned).ok_or(OpenError::Malformed))
                    .collect::<Result<Vec<String>, OpenError>>()?
            }
        };
        let confirmation = record
            .sealed_confirmation
            .as_deref()
            .map(|s| keyring.open_text(s, &confirmation_context(key)))
            .transpose()?;
        Ok::<_, OpenError>((subject, phone_candidates, confirmation))
    })();
    match opened {
        Ok((subject, phone_candidates, confirmation)) => Ok(Some(OpenJourney {
            key: key.to_owned(),
            subject,
            binding: record.binding.unwrap_or(Binding::None),
            phone_candidates,
            confirmation,
            expires_at: record.expires_at,
        })),
        Err(error) => {
            log.warn(&format!("journey record at {key} does not open ({error:?})"));
            Ok(None)
        }
    }
}
