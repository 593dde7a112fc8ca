//! `GET` and `DELETE /v1/links/{subject}`: the agent API over the links
//! (storage/links.rs).

use super::Flow;
use crate::api::ConfigureApi;
use crate::error::EdgeError;
use crate::storage::links::Link;
use crate::storage::store::Store;

/// `GET /v1/links/{subject}`: the subject's link for this agent, if any
/// (an OAuth link about to expire is refreshed first: refresh.rs).
pub async fn get_link<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    subject: &str,
) -> Result<Option<Link>, EdgeError> {
    super::refresh::current_link(flow, subject).await
}

/// `DELETE /v1/links/{subject}`: the link goes; for a "Continue with
/// Configure" subject, so does every edge session of that user.
pub async fn delete_link<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    subject: &str,
) -> Result<(), EdgeError> {
    // The sessions first: a failure afterwards must not leave them alive.
    if let (Some(sub), Some(ledger)) = (subject.strip_prefix(super::OAUTH_SUBJECT_PREFIX), flow.ledger) {
        ledger.delete_prefix(&crate::storage::records::sessions_prefix(sub)).await?;
    }
    flow.links()?.delete(subject).await?;
    Ok(())
}
