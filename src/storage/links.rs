//! Links: a subject's Configure token, sealed at rest, and where they live
//! (`Links`). Shared by every flow that writes or reads one, so every flow
//! stores a link the same way.

use crate::clock::iso8601;
use crate::error::EdgeError;
use crate::log::Log;
use crate::sealing::seal::Keyring;
use crate::storage::ledger::{Ledger, Stored};
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
    /// OAuth links only: Configure refused the refresh (`invalid_grant`);
    /// the user must sign in again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reconnect_required: bool,
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
    pub reconnect_required: bool,
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
        NewLink {
            subject,
            token,
            user_id,
            agent,
            source,
            refresh_token: None,
            expires_at: None,
            reconnect_required: false,
        }
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
    let mut fields = serde_json::json!([
        key,
        record.user_id,
        record.agent,
        record.linked_at,
        record.source.as_str(),
        record.expires_at.as_deref().unwrap_or("")
    ]);
    // Only when set, so records written before the field still open.
    if let (true, Some(list)) = (record.reconnect_required, fields.as_array_mut()) {
        list.push("reconnectRequired".into());
    }
    fields.to_string()
}

/// The associated data of a link's sealed refresh token.
fn refresh_context(key: &str, record: &LinkRecord) -> String {
    format!("{}#refresh", token_context(key, record))
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
        reconnect_required: link.reconnect_required,
    };
    record.sealed_token = keyring.seal(link.token.as_bytes(), &token_context(key, &record))?;
    record.sealed_refresh_token =
        link.refresh_token.map(|t| keyring.seal(t.as_bytes(), &refresh_context(key, &record))).transpose()?;
    Ok(record)
}

/// What a link write may replace.
#[derive(Clone, Copy)]
enum Expect<'t> {
    Anything,
    /// No link: none ever, or deleted.
    NoLink,
    /// The link as read, unchanged.
    Text(&'t str),
}

/// A link as read: the stored text (what a compare-and-swap compares) and
/// what it holds.
pub struct ReadLink {
    pub text: String,
    pub link: Link,
}

/// Where links live (README: Storage). With the ledger, the link's object
/// is the source of truth: writes to one subject are serialized there and
/// read back at once from any location, and KV keeps a copy, so the Worker
/// still has every link if it runs without the ledger later. A link the
/// ledger never saw (written on KV alone, before the binding) is read from
/// KV and adopted. Without the ledger, KV alone: eventually consistent.
#[derive(Clone, Copy)]
pub struct Links<'a, S: Store> {
    store: &'a S,
    ledger: Option<Ledger<'a>>,
    keyring: &'a Keyring,
    agent: &'a str,
    now_ms: u64,
    log: &'a dyn Log,
}

impl<'a, S: Store> Links<'a, S> {
    pub fn new(
        store: &'a S,
        ledger: Option<Ledger<'a>>,
        keyring: &'a Keyring,
        agent: &'a str,
        now_ms: u64,
        log: &'a dyn Log,
    ) -> Links<'a, S> {
        Links { store, ledger, keyring, agent, now_ms, log }
    }

    /// The stored text at `key`.
    async fn text(&self, key: &str) -> Result<Option<String>, EdgeError> {
        let Some(ledger) = self.ledger else {
            return Ok(self.store.get(key).await?);
        };
        match ledger.read(key, self.now_ms).await? {
            Stored::Value(text) => Ok(Some(text)),
            Stored::Deleted => Ok(None),
            Stored::Unknown => {
                let Some(text) = self.store.get(key).await? else { return Ok(None) };
                // Adopted only while the ledger still has no row: a link
                // written or deleted meanwhile wins over the KV copy.
                if ledger.swap(key, self.now_ms, None, false, Some(&text), 0).await? {
                    return Ok(Some(text));
                }
                match ledger.read(key, self.now_ms).await? {
                    Stored::Value(text) => Ok(Some(text)),
                    Stored::Deleted | Stored::Unknown => Ok(None),
                }
            }
        }
    }

    /// Writes `text` at `key` (`None`: deletes) as `expect` allows:
    /// whether it was written. The ledger's write is the one that counts;
    /// the KV copy follows (a failed copy is logged: the ledger has the
    /// link).
    async fn write(&self, key: &str, text: Option<&str>, expect: Expect<'_>) -> Result<bool, EdgeError> {
        match self.ledger {
            Some(ledger) => {
                let now = self.now_ms;
                let written = match expect {
                    Expect::Anything => ledger.put(key, text, 0).await.map(|()| true)?,
                    Expect::NoLink => ledger.swap(key, now, None, true, text, 0).await?,
                    Expect::Text(expected) => ledger.swap(key, now, Some(expected), false, text, 0).await?,
                };
                if written {
                    if let Err(error) = self.write_kv(key, text).await {
                        self.log.warn(&format!("KV copy of {key} not written: {error}"));
                    }
                }
                Ok(written)
            }
            None => {
                // KV alone: a fresh read just before the write, so a
                // conditional write rarely undoes another (KV has no
                // compare-and-set: best effort).
                let stored = match expect {
                    Expect::Anything => None,
                    Expect::NoLink | Expect::Text(_) => Some(self.store.get(key).await?),
                };
                let allowed = match (expect, stored.flatten()) {
                    (Expect::Anything, _) | (Expect::NoLink, None) => true,
                    (Expect::Text(expected), Some(stored)) => stored == expected,
                    _ => false,
                };
                if allowed {
                    self.write_kv(key, text).await?;
                }
                Ok(allowed)
            }
        }
    }

    async fn write_kv(&self, key: &str, text: Option<&str>) -> Result<(), crate::storage::store::StoreError> {
        match text {
            Some(text) => self.store.put(key, text, None).await,
            None => self.store.delete(key).await,
        }
    }

    /// Seals the token and writes the subject's link (replacing any earlier one).
    pub async fn store(&self, link: NewLink<'_>) -> Result<LinkRecord, EdgeError> {
        let key = link_key(link.subject);
        let record = sealed_link(self.keyring, &key, link, iso8601(self.now_ms))?;
        self.write(&key, Some(&serde_json::to_string(&record)?), Expect::Anything).await?;
        Ok(record)
    }

    /// Writes the subject's link only if it has none, or still the one read
    /// as `read`: whether it was written (a write that depends on what was
    /// read, never over a link written meanwhile).
    pub async fn store_over(&self, read: Option<&ReadLink>, link: NewLink<'_>) -> Result<bool, EdgeError> {
        let key = link_key(link.subject);
        let record = sealed_link(self.keyring, &key, link, iso8601(self.now_ms))?;
        let expect = read.map_or(Expect::NoLink, |read| Expect::Text(&read.text));
        self.write(&key, Some(&serde_json::to_string(&record)?), expect).await
    }

    /// Writes `link` in place of the link read as `read`, unless it changed
    /// meanwhile: whether it was written.
    pub async fn replace(
        &self,
        read: &ReadLink,
        link: NewLink<'_>,
        linked_at: &str,
    ) -> Result<bool, EdgeError> {
        let key = link_key(link.subject);
        let record = sealed_link(self.keyring, &key, link, linked_at.to_owned())?;
        self.write(&key, Some(&serde_json::to_string(&record)?), Expect::Text(&read.text)).await
    }

    /// Deletes the subject's link.
    pub async fn delete(&self, subject: &str) -> Result<(), EdgeError> {
        let key = link_key(subject);
        match self.ledger {
            // A tombstone, kept for good: a KV copy that outlives it (a
            // failed or slow delete) is never read back.
            Some(ledger) => {
                ledger.put(&key, None, 0).await?;
                if let Err(error) = self.store.delete(&key).await {
                    self.log.warn(&format!(
                        "KV copy of {key} not deleted (the ledger's tombstone hides it): {error}"
                    ));
                }
            }
            None => self.store.delete(&key).await?,
        }
        Ok(())
    }

    /// The subject's link, if there is a readable one for this agent.
    pub async fn read(&self, subject: &str) -> Result<Option<Link>, EdgeError> {
        Ok(self.read_with_text(subject).await?.map(|read| read.link))
    }

    /// The subject's link with its stored text. A record of another
    /// version, one that no key of the ring opens (or whose plain fields
    /// were changed), or one stored for another agent (`CONFIGURE_AGENT`
    /// changed) is logged and treated as absent. A link sealed under an
    /// older key, or of version 1, is re-sealed under the first key as it
    /// is read, so old keys can be retired; a failed re-seal is logged, the
    /// read succeeds.
    pub async fn read_with_text(&self, subject: &str) -> Result<Option<ReadLink>, EdgeError> {
        let (keyring, log) = (self.keyring, self.log);
        let key = link_key(subject);
        let Some(text) = self.text(&key).await? else {
            return Ok(None);
        };
        let Some(record) = parse_record::<LinkRecord>(&text) else {
            log.warn(&format!("unreadable link record at {key} (unknown version or shape)"));
            return Ok(None);
        };
        if record.agent != self.agent {
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
        let link = Link {
            subject: subject.to_owned(),
            user_id: record.user_id.clone(),
            token,
            linked_at: record.linked_at.clone(),
            source: record.source,
            refresh_token,
            expires_at: record.expires_at.clone(),
            reconnect_required: record.reconnect_required,
        };
        let mut read = ReadLink { text, link };
        let current = |sealed: &str| sealed.split_once('.').is_some_and(|(id, _)| id == keyring.current_id());
        let stale = record.v != LINK_VERSION
            || !current(&record.sealed_token)
            || record.sealed_refresh_token.as_deref().is_some_and(|sealed| !current(sealed));
        if stale {
            // Unless the record changed (or went) since it was read: a
            // re-seal never brings back a link deleted or replaced since.
            let resealed = sealed_link(keyring, &key, read.link.as_new(self.agent), record.linked_at.clone())
                .and_then(|fresh| Ok(serde_json::to_string(&fresh)?));
            let written = match resealed {
                Ok(fresh) => self
                    .write(&key, Some(&fresh), Expect::Text(&read.text))
                    .await
                    .map(|ok| ok.then_some(fresh)),
                Err(error) => Err(error),
            };
            match written {
                Ok(Some(fresh)) => read.text = fresh,
                Ok(None) => {}
                Err(error) => {
                    log.warn(&format!("link record at {key} not re-sealed under the current key: {error}"))
                }
            }
        }
        Ok(Some(read))
    }
}

impl Link {
    /// The link as written again (a re-seal keeps everything).
    pub fn as_new<'a>(&'a self, agent: &'a str) -> NewLink<'a> {
        NewLink {
            subject: &self.subject,
            token: &self.token,
            user_id: &self.user_id,
            agent,
            source: self.source,
            refresh_token: self.refresh_token.as_deref(),
            expires_at: self.expires_at.clone(),
            reconnect_required: self.reconnect_required,
        }
    }
}
