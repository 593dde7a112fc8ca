//! `POST /v1/sign-ins/redeem {code, subject}`: the app's handler for
//! `returnAfter` redeems the web callback's one-time code in its own
//! session, with the subject of the user signed in there. Only when that
//! subject is the ticket's is the link written; any other subject discards
//! the result (a forwarded ticket URL ends here, linking nothing).
//!
//! Order of effects: read the item; claim it in the ledger (of concurrent
//! redeems one goes on, the others get the replay's 404); on a mismatch
//! delete it, then answer 409; on a match write the link, then delete it
//! (a failed delete is logged: the spent claim refuses a replay). A
//! failure before the link is written releases the claim: the code stays
//! usable for a retry.

use crate::api::ConfigureApi;
use crate::error::EdgeError;
use crate::http::body::required_string;
use crate::storage::records::{redeem_key, LinkSource};
use crate::storage::store::Store;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::storage::links::NewLink;
use crate::storage::repository::{live_item, text_field};
use crate::storage::single_use::{claim_lease_ms, Claim};

/// The body of `POST /v1/sign-ins/redeem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemRequest {
    pub code: String,
    pub subject: String,
}

impl RedeemRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<RedeemRequest, EdgeError> {
        Ok(RedeemRequest { code: required_string(body, "code", 256)?, subject: super::agent_subject(body)? })
    }
}

/// The answer of a redeem: the subject's new link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redeemed {
    pub subject: String,
    pub user_id: String,
    pub linked: bool,
    pub source: LinkSource,
}

pub async fn redeem<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    request: &RedeemRequest,
) -> Result<Redeemed, EdgeError> {
    let (store, keyring, now_ms, log) = (flow.store()?, flow.keyring()?, flow.now_ms, flow.log);
    let key = redeem_key(&request.code);
    let pending = live_item(store, keyring, &key, now_ms, log).await?.ok_or(EdgeError::RedeemCodeNotFound)?;
    let claim = Claim::take(flow.ledger, &key, now_ms, claim_lease_ms(flow.config.api_timeout_ms))
        .await?
        .ok_or(EdgeError::RedeemCodeNotFound)?;
    let result = redeem_claimed(flow, request, &key, &pending).await;
    // A code is spent by a link and by a mismatch (its item is discarded).
    let spent_until = now_ms + flow.config.redeem_ttl_seconds * 1000;
    let spent = matches!(result, Ok(_) | Err(EdgeError::SubjectMismatch));
    claim.finish(spent, spent_until, log).await;
    result
}

async fn redeem_claimed<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    request: &RedeemRequest,
    key: &str,
    pending: &Value,
) -> Result<Redeemed, EdgeError> {
    let (store, agent, log) = (flow.store()?, flow.agent()?.as_str(), flow.log);
    let key = key.to_owned();
    let field = |name: &str| text_field(pending, name);
    let (subject, token, user_id) = (field("subject"), field("token"), field("userId"));
    if field("agent") != agent || subject.is_empty() || token.is_empty() {
        log.warn(&format!("redeem item at {key} is for another agent or incomplete; ignored"));
        return Err(EdgeError::RedeemCodeNotFound);
    }
    if !crate::sealing::crypto::same_secret(&request.subject, &subject) {
        // Discarded whatever the delete does: the spent claim refuses the
        // code from now on (with the ledger), so a failed delete is logged.
        if let Err(error) = store.delete(&key).await {
            if flow.ledger.is_none() {
                return Err(error.into());
            }
            log.warn(&format!("refused redeem item {key} not deleted: {error}"));
        }
        return Err(EdgeError::SubjectMismatch);
    }
    let link = NewLink::agent_token(&subject, &token, &user_id, agent, LinkSource::Callback);
    flow.links()?.store(link).await?;
    if let Err(error) = store.delete_after_answer(&key).await {
        log.warn(&format!("redeem code {key} used but not deleted: {error}"));
    }
    Ok(Redeemed { subject, user_id, linked: true, source: LinkSource::Callback })
}
