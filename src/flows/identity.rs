//! `POST /v1/identity/resolve`: the SDK's `resolveMessageIdentity` with the
//! Worker as the store: the subject's stored link (validated only when
//! asked), else phone recognition (an approved token becomes the subject's
//! link), else the externalId fallback. Configure failures fall through as
//! in the SDK, and the answer lists which steps failed.

use crate::api::ConfigureApi;
use crate::body::{optional_bool, optional_string, optional_string_list, required_string};
use crate::configure_error::ConfigureError;
use crate::error::EdgeError;
use crate::log::Log;
use crate::phone::normalize_candidates;
use crate::records::LinkSource;
use crate::seal::Keyring;
use crate::store::Store;
use serde::Serialize;
use serde_json::{Map, Value};

use super::journeys::MAX_SUBJECT_LEN;
use super::links::{read_link, store_link, NewLink};

/// The body of `POST /v1/identity/resolve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRequest {
    pub subject: String,
    pub external_id: Option<String>,
    pub phone_candidates: Vec<String>,
    pub validate_token: bool,
}

impl IdentityRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<IdentityRequest, EdgeError> {
        Ok(IdentityRequest {
            subject: required_string(body, "subject", MAX_SUBJECT_LEN)?,
            external_id: optional_string(body, "externalId", MAX_SUBJECT_LEN + 16)?,
            phone_candidates: optional_string_list(body, "phoneCandidates", 16, 64)?,
            validate_token: optional_bool(body, "validateToken")?,
        })
    }
}

/// A step that did not give an identity, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepFailure {
    /// `token_validation`, `phone_recognition` or `link_write`.
    pub step: &'static str,
    /// The SDK's error code, or `TOKEN_INVALID` / `AGENT_MISMATCH` /
    /// `STORE_UNAVAILABLE` for what the SDK does not raise.
    pub code: String,
    pub message: String,
}

impl StepFailure {
    fn configure(step: &'static str, error: &ConfigureError) -> StepFailure {
        StepFailure { step, code: error.code.as_str().to_owned(), message: error.message.clone() }
    }
}

/// The SDK's `MessageIdentity`, plus the failed steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub external_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub linked: bool,
    pub approved: bool,
    pub recognized: bool,
    /// Present (possibly null) for phone recognition, as in the SDK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Option<String>>,
    pub source: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<StepFailure>,
}

pub async fn resolve_identity<S: Store, A: ConfigureApi>(
    store: &S,
    api: Option<&A>,
    keyring: &Keyring,
    agent: &str,
    request: &IdentityRequest,
    now_ms: u64,
    log: &dyn Log,
) -> Result<Identity, EdgeError> {
    let external_id = request.external_id.clone().unwrap_or_else(|| format!("edge:{}", request.subject));
    let mut errors = Vec::new();
    let not_configured = || {
        ConfigureError::new(crate::configure_error::ErrorCode::AuthRequired, "CONFIGURE_API_KEY is not set")
    };

    // 1. The stored link: trusted as is, unless asked to validate it.
    if let Some(link) = read_link(store, keyring, &request.subject, agent, log).await? {
        if !request.validate_token {
            return Ok(Identity {
                external_id,
                token: Some(link.token),
                user_id: Some(link.user_id),
                linked: true,
                approved: true,
                recognized: false,
                display_name: None,
                source: "token",
                errors,
            });
        }
        let validation = match api {
            Some(api) => api.validate(&link.token).await,
            None => Err(not_configured()),
        };
        match validation {
            Ok(v) if v.valid && v.agent.as_deref().is_none_or(|a| a == agent) => {
                return Ok(Identity {
                    external_id,
                    token: Some(link.token),
                    user_id: v.user_id.or(Some(link.user_id)),
                    linked: true,
                    approved: v.approved != Some(false),
                    recognized: false,
                    display_name: None,
                    source: "token",
                    errors,
                });
            }
            Ok(v) if v.valid => errors.push(StepFailure {
                step: "token_validation",
                code: "AGENT_MISMATCH".to_owned(),
                message: "The stored token belongs to another agent.".to_owned(),
            }),
            Ok(_) => errors.push(StepFailure {
                step: "token_validation",
                code: "TOKEN_INVALID".to_owned(),
                message: "The stored token no longer validates.".to_owned(),
            }),
            Err(error) => errors.push(StepFailure::configure("token_validation", &error)),
        }
    }

    // 2. Phone recognition.
    let candidates = normalize_candidates(&request.phone_candidates);
    if !candidates.is_empty() {
        let recognition = match api {
            Some(api) => api.recognize_phone(&candidates).await,
            None => Err(not_configured()),
        };
        match recognition {
            Ok(r) if r.agent.as_deref().is_some_and(|a| a != agent) => errors.push(StepFailure {
                step: "phone_recognition",
                code: "AGENT_MISMATCH".to_owned(),
                message: "Configure answered for another agent.".to_owned(),
            }),
            Ok(r) if r.approved && r.token.is_some() => {
                let token = r.token.unwrap_or_default();
                let user_id = r.user_id.clone().unwrap_or_default();
                let link = NewLink {
                    subject: &request.subject,
                    token: &token,
                    user_id: &user_id,
                    agent,
                    source: LinkSource::PhoneRecognition,
                    refresh_token: None,
                    expires_at: None,
                };
                // The token goes back to the agent even if it could not be kept.
                if let Err(error) = store_link(store, keyring, link, now_ms).await {
                    log.warn(&format!("recognized link not stored: {error}"));
                    errors.push(StepFailure {
                        step: "link_write",
                        code: "STORE_UNAVAILABLE".to_owned(),
                        message: "The recognized token could not be stored; it is returned but not kept."
                            .to_owned(),
                    });
                }
                return Ok(Identity {
                    external_id,
                    token: Some(token),
                    user_id: r.user_id,
                    linked: true,
                    approved: true,
                    recognized: true,
                    display_name: Some(r.display_name),
                    source: "phone_recognition",
                    errors,
                });
            }
            Ok(_) => {}
            Err(error) => errors.push(StepFailure::configure("phone_recognition", &error)),
        }
    }

    // 3. The externalId fallback.
    Ok(Identity {
        external_id,
        token: None,
        user_id: None,
        linked: false,
        approved: false,
        recognized: false,
        display_name: None,
        source: "external_id",
        errors,
    })
}
