//! Links: a subject's Configure token, sealed at rest. Shared by the
//! completion webhook, identity resolution and the web callback, so every
//! flow stores a link the same way.

use crate::clock::iso8601;
use crate::error::EdgeError;
use crate::log::Log;
use crate::records::{link_key, parse_record, LinkRecord, LinkSource, RECORD_VERSION};
use crate::seal::Keyring;
use crate::store::Store;
use serde::Serialize;

/// A link as the agent API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub subject: String,
    pub user_id: String,
    pub token: String,
    pub linked_at: String,
    pub source: LinkSource,
    /// OAuth links only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// OAuth links only: when the access token expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// What a link is made of.
pub struct NewLink<'a> {
    pub subject: &'a str,
    pub token: &'a str,
    pub user_id: &'a str,
    pub agent: &'a str,
    pub source: LinkSource,
    pub refresh_token: Option<&'a str>,
    pub expires_at: Option<String>,
}

/// The associated data of a link's sealed refresh token.
fn refresh_context(key: &str) -> String {
    format!("{key}#refresh")
}

/// Seals the token and writes the subject's link (replacing any earlier one).
pub async fn store_link<S: Store>(
    store: &S,
    keyring: &Keyring,
    link: NewLink<'_>,
    now_ms: u64,
) -> Result<LinkRecord, EdgeError> {
    let key = link_key(link.subject);
    let seal = |text: &str, context: &str| keyring.seal(text.as_bytes(), context);
    let record = LinkRecord {
        v: RECORD_VERSION,
        user_id: link.user_id.to_owned(),
        agent: link.agent.to_owned(),
        sealed_token: seal(link.token, &key)?,
        linked_at: iso8601(now_ms),
        source: link.source,
        sealed_refresh_token: link.refresh_token.map(|t| seal(t, &refresh_context(&key))).transpose()?,
        expires_at: link.expires_at,
    };
    store.put(&key, &serde_json::to_string(&record)?, None).await?;
    Ok(record)
}

/// The subject's link, if there is a readable one for `agent`. A record of
/// another version, one that no key of the ring opens, or one stored for
/// another agent (`CONFIGURE_AGENT` changed) is logged and treated as absent.
pub async fn read_link<S: Store>(
    store: &S,
    keyring: &Keyring,
    subject: &str,
    agent: &str,
    log: &dyn Log,
) -> Result<Option<Link>, EdgeError> {
    let key = link_key(subject);
    let Some(text) = store.get(&key).await? else {
        return Ok(None);
    };
    let Some(record) = parse_record::<LinkRecord>(&text) else {
        log.warn(&format!("unreadable link record at {key} (unknown version or shape)"));
        return Ok(None);
    };
    if record.agent != agent {
        log.warn(&format!("link record at {key} belongs to another agent; ignored"));
        return Ok(None);
    }
    let refresh_token = match &record.sealed_refresh_token {
        None => Ok(None),
        Some(sealed) => keyring.open_text(sealed, &refresh_context(&key)).map(Some),
    };
    match keyring.open_text(&record.sealed_token, &key).and_then(|token| Ok((token, refresh_token?))) {
        Ok((token, refresh_token)) => Ok(Some(Link {
            subject: subject.to_owned(),
            user_id: record.user_id,
            token,
            linked_at: record.linked_at,
            source: record.source,
            refresh_token,
            expires_at: record.expires_at,
        })),
        Err(error) => {
            log.warn(&format!("link record at {key} does not open ({error:?})"));
            Ok(None)
        }
    }
}

pub async fn delete_link<S: Store>(store: &S, subject: &str) -> Result<(), EdgeError> {
    store.delete(&link_key(subject)).await?;
    Ok(())
}
