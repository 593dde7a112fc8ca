//! `POST /auth/configure/complete`: the hosted page's completion webhook.
//!
//! Order of effects, so that nothing is lost and nothing is spent before it
//! is earned: read the journey (an unknown one is 404 before any Configure
//! request); validate the token; settle the journey's binding; then write
//! the link and delete the journey, or keep the completion pending for the
//! conversation's confirmation word. A Configure or KV failure leaves the
//! journey in place for a retry.
//!
//! Bindings (journeys.rs): `phone`: Configure recognizes the conversation's
//! phone as the token's user (linked), as another user (409, nothing kept,
//! the journey stays usable), or not at all (pending, as `confirmation`);
//! `confirmation`: pending until identity resolution brings the word from
//! the same subject; `sender` (a minted, sender-bound URL): linked at once
//! when Configure recognizes the sender's phone as the token's user (409
//! otherwise), or, with no phone known, unless the subject is another
//! user's;
//! `none`: linked at once, but never over a link to another Configure user
//! (409).

use super::Flow;
use crate::api::{approved_agent_token, ConfigureApi, PhoneRecognition};
use crate::error::EdgeError;
use crate::http::body::{optional_string, required_string};
use crate::log::Log;
use crate::storage::records::{journey_key, pending_key, Binding, LinkSource};
use crate::storage::single_use::{claim_lease_ms, Claim};
use crate::storage::store::Store;
use serde_json::{json, Map, Value};

use super::journeys::{live_journey, OpenJourney};
use crate::storage::links::NewLink;
use crate::storage::repository::{live_item, put_item, text_field};

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

/// How a completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completed {
    /// The subject's link is written.
    Linked,
    /// Kept until the conversation sends back the confirmation word.
    Pending,
}

/// Completes a journey: links its subject to the validated token, or keeps
/// the completion pending, as the journey's binding says.
pub async fn complete<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    completion: &Completion,
) -> Result<Completed, EdgeError> {
    let (store, keyring, now_ms, log) = (flow.store()?, flow.keyring()?, flow.now_ms, flow.log);
    // The journey first: an unknown journey costs no Configure request and
    // tells nothing about the token.
    let key = journey_key(&completion.journey_id);
    let journey = live_journey(store, keyring, &key, now_ms, log).await?.ok_or(EdgeError::JourneyNotFound)?;
    // Then the claim, before any Configure request: of concurrent
    // completions one goes on, the others are answered as a replay. A
    // linked journey is spent; a failure or a pending completion gives it
    // back (it stays usable, for a retry or its confirmation word).
    let claim = Claim::take(flow.ledger, &key, now_ms, claim_lease_ms(flow.config.api_timeout_ms))
        .await?
        .ok_or(EdgeError::JourneyNotFound)?;
    let result = complete_claimed(flow, completion, &journey).await;
    // A contested journey is spent too: neither completion may come back.
    let spent = matches!(result, Ok(Completed::Linked) | Err(EdgeError::CompletionConflict));
    claim.finish(spent, journey.expires_at, log).await;
    result
}

/// The completion's work once its journey is claimed.
async fn complete_claimed<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    completion: &Completion,
    journey: &OpenJourney,
) -> Result<Completed, EdgeError> {
    let (agent, api) = (flow.agent()?.as_str(), flow.api()?);
    let validation = match api.validate(&completion.token).await {
        Ok(validation) => validation,
        // The API refused the token itself (400): it is not a valid token.
        // Any other refusal (404 from a wrong base URL, 401 for our key, ...)
        // is ours to fix: 502, and the journey stays usable.
        Err(error) if error.refuses_input() => return Err(EdgeError::InvalidToken),
        Err(error) => return Err(EdgeError::Upstream { step: "token validation", error }),
    };
    let user_id = validation.user_id.as_deref().unwrap_or("");
    let trusted = validation.valid
        && validation.agent.as_deref() == Some(agent)
        && user_id == completion.user_id
        && completion.agent.as_deref().is_none_or(|posted| posted == agent)
        && approved_agent_token(validation.approved, validation.token_use.as_deref());
    if !trusted {
        return Err(EdgeError::InvalidToken);
    }
    let completed = CompletedSignIn { token: &completion.token, user_id, agent };

    match journey.binding {
        Binding::Phone => match phone_owner(api, journey, agent, user_id).await? {
            PhoneOwner::TokensUser => link_and_close(flow, journey, completed).await,
            PhoneOwner::AnotherUser => Err(EdgeError::PhoneMismatch),
            // Not recognized: the confirmation word can still bind it.
            PhoneOwner::Unknown => keep_pending(flow, journey, completed).await,
        },
        Binding::Confirmation => keep_pending(flow, journey, completed).await,
        // Configure minted the URL for the conversation's verified sender.
        // Its hosted page shows the journey, so a forwarded URL gives the
        // journey away: with the sender's phone, Configure must recognize it
        // as the token's user (linked at once, no word).
        Binding::Sender if !journey.phone_candidates.is_empty() => {
            match phone_owner(api, journey, agent, user_id).await? {
                PhoneOwner::TokensUser => link_and_close(flow, journey, completed).await,
                PhoneOwner::AnotherUser => Err(EdgeError::PhoneMismatch),
                PhoneOwner::Unknown => Err(EdgeError::SenderNotVerified),
            }
        }
        // "none", and a minted journey with no phone known (it rests on
        // Configure's sender binding alone): linked at once, never over
        // another user's link.
        Binding::None | Binding::Sender => {
            link_unless_another_users(flow, journey, completed).await?;
            close_journey(flow.store()?, &journey.key, None, flow.log).await;
            Ok(Completed::Linked)
        }
    }
}

/// Whom Configure knows a journey's phones as, against the token's user.
enum PhoneOwner {
    TokensUser,
    AnotherUser,
    /// Not recognized, or Configure refused the candidates themselves (400).
    Unknown,
}

/// Recognizes the journey's phones (the SDK's recognize-phone request);
/// failures other than a refusal of the candidates are upstream (502).
async fn phone_owner<A: ConfigureApi>(
    api: &A,
    journey: &OpenJourney,
    agent: &str,
    user_id: &str,
) -> Result<PhoneOwner, EdgeError> {
    let recognition = match api.recognize_phone(&journey.phone_candidates).await {
        Ok(recognition) => recognition,
        Err(error) if error.refuses_input() => return Ok(PhoneOwner::Unknown),
        Err(error) => return Err(EdgeError::Upstream { step: "phone recognition", error }),
    };
    Ok(match recognized_user(&recognition, agent) {
        Some(owner) if owner == user_id => PhoneOwner::TokensUser,
        Some(_) => PhoneOwner::AnotherUser,
        None => PhoneOwner::Unknown,
    })
}

/// A validated sign-in: the token and whose it is.
#[derive(Clone, Copy)]
struct CompletedSignIn<'a> {
    token: &'a str,
    user_id: &'a str,
    agent: &'a str,
}

impl<'a> CompletedSignIn<'a> {
    /// The subject's link to this sign-in's token.
    fn link(self, subject: &'a str) -> NewLink<'a> {
        NewLink::agent_token(subject, self.token, self.user_id, self.agent, LinkSource::Webhook)
    }
}

/// The user Configure recognized the phone as, for this agent: `None` when
/// the phone is not recognized (or the answer is for another agent).
fn recognized_user<'r>(recognition: &'r PhoneRecognition, agent: &str) -> Option<&'r str> {
    let recognized = recognition.matched || recognition.recognized == Some(true);
    let ours = recognition.agent.as_deref().is_none_or(|a| a == agent);
    recognition.user_id.as_deref().filter(|u| recognized && ours && !u.is_empty())
}

/// Writes the subject's link, then closes the journey.
async fn link_and_close<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    journey: &OpenJourney,
    completed: CompletedSignIn<'_>,
) -> Result<Completed, EdgeError> {
    let (store, log) = (flow.store()?, flow.log);
    flow.links()?.store(completed.link(&journey.subject)).await?;
    // The link is written: the completion has succeeded. A failed delete
    // leaves the journey usable until its TTL (a replay rewrites the same
    // link after validating the token again); it is logged, not an error.
    // A journey bound by the conversation also ends anything pending for it.
    close_journey(store, &journey.key, Some(journey.subject.as_str()), log).await;
    Ok(Completed::Linked)
}

/// Writes the subject's link unless it is linked to another Configure
/// user: the check and the write are one compare-and-swap (in the ledger),
/// so two users completing two `none` journeys of one subject at once never
/// both win; a write that lost to one of the same user is tried again.
async fn link_unless_another_users<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    journey: &OpenJourney,
    completed: CompletedSignIn<'_>,
) -> Result<(), EdgeError> {
    let links = flow.links()?;
    for _ in 0..3 {
        let existing = links.read_with_text(&journey.subject).await?;
        if existing.as_ref().is_some_and(|read| read.link.user_id != completed.user_id) {
            return Err(EdgeError::LinkConflict);
        }
        if links.store_over(existing.as_ref(), completed.link(&journey.subject)).await? {
            return Ok(());
        }
    }
    Err(EdgeError::StoreUnavailable {
        detail: "the subject's link kept changing during the write".to_owned(),
    })
}

/// Deletes a finished journey and, given its subject, any completion
/// pending for that subject.
pub(crate) async fn close_journey<S: Store>(
    store: &S,
    journey_key: &str,
    pending_of: Option<&str>,
    log: &dyn Log,
) {
    let keys = std::iter::once(journey_key.to_owned()).chain(pending_of.map(pending_key));
    for key in keys.filter(|k| !k.is_empty()) {
        if let Err(error) = store.delete_after_answer(&key).await {
            log.warn(&format!("{key} finished but not deleted: {error}"));
        }
    }
}

/// Keeps the completion for the subject until the conversation confirms it
/// with the journey's word. Another user's completion already pending for
/// the same conversation (from this journey or another) is a forwarded link
/// racing its owner: both are discarded and their journeys closed, so
/// neither can be confirmed by the other's word.
async fn keep_pending<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    journey: &OpenJourney,
    completed: CompletedSignIn<'_>,
) -> Result<Completed, EdgeError> {
    let (store, keyring, now_ms, log) = (flow.store()?, flow.keyring()?, flow.now_ms, flow.log);
    let word = journey
        .confirmation
        .as_deref()
        .ok_or_else(|| EdgeError::Internal { detail: "bound journey without a word".to_owned() })?;
    let key = pending_key(&journey.subject);
    if let Some(earlier) = live_item(store, keyring, &key, now_ms, log).await? {
        if text_field(&earlier, "userId") != completed.user_id {
            // The earlier journey is spent in the ledger first: a
            // confirmation claims its journey (identity.rs), so from here on
            // nothing pending for it can be confirmed, even where KV still
            // serves the deleted items for a while. (This journey is spent
            // by its own claim when the conflict is answered.)
            if let Some(ledger) = flow.ledger {
                let earlier_journey = text_field(&earlier, "journeyKey");
                let until = now_ms + flow.config.journey_ttl_seconds * 1000;
                ledger.spend(&earlier_journey, until).await?;
            }
            // Then the pending item: once it is gone nothing can be
            // confirmed, whatever happens to the journeys (a confirmation
            // also needs its journey alive, identity.rs).
            store.delete(&key).await?;
            for stale in
                [journey.key.clone(), text_field(&earlier, "journeyKey")].iter().filter(|k| !k.is_empty())
            {
                if let Err(error) = store.delete(stale).await {
                    log.warn(&format!("contested journey {stale} not deleted: {error}"));
                }
            }
            return Err(EdgeError::CompletionConflict);
        }
    }
    let payload = json!({
        "journeyKey": journey.key,
        "token": completed.token,
        "userId": completed.user_id,
        "agent": completed.agent,
        "word": word,
    });
    put_item(store, keyring, &key, &payload, journey.expires_at.saturating_sub(now_ms), now_ms).await?;
    Ok(Completed::Pending)
}
