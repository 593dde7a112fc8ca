//! `POST /v1/identity/resolve`: the SDK's `resolveMessageIdentity` with the
//! Worker as the store: the subject's stored link (validated only when
//! asked), else phone recognition (an approved token becomes the subject's
//! link), else the externalId fallback. Configure failures fall through as
//! in the SDK, and the answer lists which steps failed.
//!
//! Before those steps, an inbound `messageText` that carries the
//! confirmation word of a completion pending for this same subject
//! (complete.rs) turns that completion into the subject's link.

use crate::api::ConfigureApi;
use crate::error::EdgeError;
use crate::http::body::{optional_bool, optional_string, optional_string_list};
use crate::sdk::configure_error::ConfigureError;
use crate::sdk::phone::normalize_candidates;
use crate::storage::records::{pending_key, LinkSource};
use crate::storage::store::Store;
use serde::Serialize;
use serde_json::{Map, Value};

use super::complete::close_journey;
use super::journeys::live_journey;
use crate::http::body::MAX_SUBJECT_LEN;
use crate::storage::links::NewLink;
use crate::storage::repository::{live_item, text_field};
use crate::storage::single_use::{claim_lease_ms, Claim};

/// The body of `POST /v1/identity/resolve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRequest {
    pub subject: String,
    pub external_id: Option<String>,
    pub phone_candidates: Vec<String>,
    pub validate_token: bool,
    /// The inbound message's text, for a pending completion's confirmation word.
    pub message_text: Option<String>,
}

impl IdentityRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<IdentityRequest, EdgeError> {
        Ok(IdentityRequest {
            subject: super::agent_subject(body)?,
            external_id: optional_string(body, "externalId", MAX_SUBJECT_LEN + 16)?,
            phone_candidates: optional_string_list(body, "phoneCandidates", 16, 64)?,
            validate_token: optional_bool(body, "validateToken")?,
            message_text: optional_string(body, "messageText", 16 * 1024)?,
        })
    }
}

/// Whether `text` holds `word` as a whole run of digits ("done 482913",
/// "482913!"), never as part of a longer number.
fn carries_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit()).any(|run| crate::sealing::crypto::same_secret(run, word))
}

/// Links the subject to its pending completion when `text` carries the
/// completion's word: the token and its user, else `None` (nothing changes).
async fn confirm_pending<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    request: &IdentityRequest,
    text: &str,
) -> Result<Option<(String, String)>, EdgeError> {
    let (store, keyring, agent) = (flow.store()?, flow.keyring()?, flow.agent()?.as_str());
    let (now_ms, log) = (flow.now_ms, flow.log);
    let key = pending_key(&request.subject);
    let Some(pending) = live_item(store, keyring, &key, now_ms, log).await? else {
        return Ok(None);
    };
    let field = |name: &str| text_field(&pending, name);
    let (word, token, user_id) = (field("word"), field("token"), field("userId"));
    if word.is_empty() || token.is_empty() || field("agent") != agent || !carries_word(text, &word) {
        return Ok(None);
    }
    // Only while its journey is alive and still this subject's: a journey
    // closed by a contest, a confirmation or its expiry ends the pending
    // completion with it, even where deleting the item failed.
    let journey_key = field("journeyKey");
    let journey = live_journey(store, keyring, &journey_key, now_ms, log).await?;
    let Some(journey) = journey.filter(|j| j.subject == request.subject) else {
        log.warn(&format!("pending completion at {key} outlived its journey; discarded"));
        if let Err(error) = store.delete(&key).await {
            log.warn(&format!("stale pending completion {key} not deleted: {error}"));
        }
        return Ok(None);
    };
    // The journey is claimed as a completion claims it: one confirmation
    // links, a concurrent one (or a completion) is answered as a replay.
    let Some(claim) =
        Claim::take(flow.ledger, &journey_key, now_ms, claim_lease_ms(flow.config.api_timeout_ms)).await?
    else {
        return Ok(None);
    };
    let link = NewLink::agent_token(&request.subject, &token, &user_id, agent, LinkSource::Webhook);
    let written = flow.links()?.store(link).await;
    claim.finish(written.is_ok(), journey.expires_at, log).await;
    written?;
    close_journey(store, &journey_key, Some(&request.subject), log).await;
    Ok(Some((token, user_id)))
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
    flow: &super::Flow<'_, S, A>,
    request: &IdentityRequest,
) -> Result<Identity, EdgeError> {
    let (api, agent, log) = (flow.api, flow.agent()?.as_str(), flow.log);
    let links = flow.links()?;
    let external_id = request.external_id.clone().unwrap_or_else(|| format!("edge:{}", request.subject));
    let mut errors = Vec::new();
    let not_configured = || {
        ConfigureError::new(
            crate::sdk::configure_error::ErrorCode::AuthRequired,
            "CONFIGURE_API_KEY is not set",
        )
    };

    // 0. The confirmation word of a completion pending for this subject.
    if let Some(text) = &request.message_text {
        if let Some((token, user_id)) = confirm_pending(flow, request, text).await? {
            return Ok(Identity {
                external_id,
                token: Some(token),
                user_id: Some(user_id),
                linked: true,
                approved: true,
                recognized: false,
                display_name: None,
                source: "webhook",
                errors,
            });
        }
    }

    // 1. The stored link: trusted as is, unless asked to validate it.
    if let Some(link) = super::refresh::current_link(flow, &request.subject).await? {
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
                let link = NewLink::agent_token(
                    &request.subject,
                    &token,
                    &user_id,
                    agent,
                    LinkSource::PhoneRecognition,
                );
                // The token goes back to the agent even if it could not be kept.
                if let Err(error) = links.store(link).await {
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

#[cfg(test)]
mod tests {
    use super::carries_word;

    #[test]
    fn the_word_is_a_whole_run_of_digits() {
        assert!(carries_word("done 482913", "482913"));
        assert!(carries_word("482913", "482913"));
        assert!(carries_word("ok,482913!", "482913"));
        assert!(!carries_word("done 4829131", "482913"));
        assert!(!carries_word("done 82913", "482913"));
        assert!(!carries_word("done", "482913"));
    }
}
