//! Links: a subject's Configure token, sealed at rest. Shared by the
//! completion webhook, identity resolution and the web callback, so every
//! flow stores a link the same way.

use crate::api::ConfigureApi;
use crate::clock::iso8601;
use crate::error::EdgeError;
use crate::log::Log;
use crate::sealing::seal::Keyring;
use crate::storage::records::{link_key, parse_record, LinkRecord, LinkSource, LINK_VERSION};
use crate::storage::store::Store;
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

impl<'a> NewLink<'a> {
    /// An agent token's link (everything but OAuth links: no refresh token,
    /// no expiry).
    pub fn agent_token(
        subject: &'a str,
        token: &'a str,
        user_id: &'a str,
        agent: &'a str,
        source: LinkSource,
    ) -> NewLink<'a> {
        NewLink { subject, token, user_id, agent, source, refresh_token: None, expires_at: None }
    }
}

/// The associated data of a link's sealed token: the KV key and every plain
/// field of the record (as a JSON list, so no field can bleed into the
/// next), so that changing the user, agent, source, date or expiry in KV
/// makes the record fail to open. Version 1 links bound the key only.
fn token_context(key: &str, record: &LinkRecord) -> String {
    if record.v == 1 {
        return key.to_owned();
    }
    serde_json::json!([
        key,
        record.user_id,
        record.agent,
        record.linked_at,
        record.source.as_str(),
        record.expires_at.as_deref().unwrap_or("")
    ])
    .to_string()
}

/// The associated data of a link's sealed refresh token.
fn refresh_context(key: &str, record: &LinkRecord) -> String {
    format!("{}#refresh", token_context(key, record))
}

/// Seals the token and writes the subject's link (replacing any earlier one).
pub async fn store_link<S: Store>(
    store: &S,
    keyring: &Keyring,
    link: NewLink<'_>,
    now_ms: u64,
) -> Result<LinkRecord, EdgeError> {
    let key = link_key(link.subject);
    let record = sealed_link(keyring, &key, link, iso8601(now_ms))?;
    store.put(&key, &serde_json::to_string(&record)?, None).await?;
    Ok(record)
}

/// A version-2 link record under the keyring's first key.
fn sealed_link(
    keyring: &Keyring,
    key: &str,
    link: NewLink<'_>,
    linked_at: String,
) -> Result<LinkRecord, EdgeError> {
    let mut record = LinkRecord {
        v: LINK_VERSION,
        user_id: link.user_id.to_owned(),
        agent: link.agent.to_owned(),
        sealed_token: String::new(),
        linked_at,
        source: link.source,
        sealed_refresh_token: None,
        expires_at: link.expires_at,
    };
    record.sealed_token = keyring.seal(link.token.as_bytes(), &token_context(key, &record))?;
    record.sealed_refresh_token =
        link.refresh_token.map(|t| keyring.seal(t.as_bytes(), &refresh_context(key, &record))).transpose()?;
    Ok(record)
}

/// The subject's link, if there is a readable one for `agent`. A record of
/// another version, one that no key of the ring opens (or whose plain fields
/// were changed), or one stored for another agent (`CONFIGURE_AGENT`
/// changed) is logged and treated as absent. A link sealed under an older
/// key, or of version 1, is re-sealed under the first key as it is read, so
/// old keys can be retired; a failed re-seal is logged, the read succeeds.
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
        Some(sealed) => keyring.open_text(sealed, &refresh_context(&key, &record)).map(Some),
    };
    let opened = keyring
        .open_text(&record.sealed_token, &token_context(&key, &record))
        .and_then(|token| Ok((token, refresh_token?)));
    let (token, refresh_token) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            log.warn(&format!("link record at {key} does not open ({error:?})"));
            return Ok(None);
        }
    };
    let current = |sealed: &str| sealed.split_once('.').is_some_and(|(id, _)| id == keyring.current_id());
    let stale = record.v != LINK_VERSION
        || !current(&record.sealed_token)
        || record.sealed_refresh_token.as_deref().is_some_and(|sealed| !current(sealed));
    if stale {
        let link = NewLink {
            subject,
            token: &token,
            user_id: &record.user_id,
            agent: &record.agent,
            source: record.source,
            refresh_token: refresh_token.as_deref(),
            expires_at: record.expires_at.clone(),
        };
        if let Err(error) = reseal(store, keyring, &key, &text, link, &record.linked_at).await {
            log.warn(&format!("link record at {key} not re-sealed under the current key: {error}"));
        }
    }
    Ok(Some(Link {
        subject: subject.to_owned(),
        user_id: record.user_id,
        token,
        linked_at: record.linked_at,
        source: record.source,
        refresh_token,
        expires_at: record.expires_at,
    }))
}

/// Rewrites a link read as `read` under the first key, unless the record
/// changed (or went) meanwhile: a fresh read just before the write, so a
/// re-seal never brings back a link deleted or replaced since. (KV reads can
/// be stale for up to a minute elsewhere; a Durable Object would make this
/// exact.)
async fn reseal<S: Store>(
    store: &S,
    keyring: &Keyring,
    key: &str,
    read: &str,
    link: NewLink<'_>,
    linked_at: &str,
) -> Result<(), EdgeError> {
    if store.get(key).await?.as_deref() != Some(read) {
        return Ok(());
    }
    let fresh = serde_json::to_string(&sealed_link(keyring, key, link, linked_at.to_owned())?)?;
    store.put(key, &fresh, None).await?;
    Ok(())
}

/// `GET /v1/links/{subject}`: the subject's link for this agent, if any.
pub async fn get_link<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    subject: &str,
) -> Result<Option<Link>, EdgeError> {
    let store = flow.store()?;
    read_link(store, flow.keyring()?, subject, flow.agent()?.as_str(), flow.log).await
}

pub async fn delete_link<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    subject: &str,
) -> Result<(), EdgeError> {
    flow.store()?.delete(&link_key(subject)).await?;
    Ok(())
}
