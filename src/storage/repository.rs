//! The patterns every flow shares over the store:
//! - short-lived records read back only while live: the one read that
//!   journeys, web sign-in tickets and states, and sealed items share
//!   (`live_record`);
//! - the sealed items themselves: one-time records whose whole content is
//!   one sealed JSON payload bound to its KV key (a web callback's result
//!   waiting for the app's redeem, a message completion waiting for its
//!   confirmation word): `put_item`, `live_item`;
//! - registrations remembered for good (the return-code callback, the OAuth
//!   redirect URI): `remembered`, `remember`.
//!
//! Anything unreadable, expired or that does not open is treated as absent
//! (and logged).

use crate::clock::iso8601;
use crate::error::EdgeError;
use crate::log::Log;
use crate::sealing::seal::Keyring;
use crate::storage::records::{
    parse_record, Expiring, Record, SealedItemRecord, SetupRecord, RECORD_VERSION,
};
use crate::storage::store::{Store, StoreError};
use serde_json::Value;

/// Whether a registration is remembered at `key` (`records::setup_key`).
pub async fn remembered<S: Store>(store: &S, key: &str) -> Result<bool, StoreError> {
    Ok(store.get(key).await?.is_some())
}

/// Remembers a registration of `kind` at `key`, for good: `{v, kind,
/// registeredAt}`, never a secret.
pub async fn remember<S: Store>(store: &S, key: &str, kind: &str, now_ms: u64) -> Result<(), StoreError> {
    let record = SetupRecord { v: RECORD_VERSION, kind: kind.to_owned(), registered_at: iso8601(now_ms) };
    let text = serde_json::to_string(&record)
        .map_err(|error| StoreError { operation: "put", detail: error.to_string() })?;
    store.put(key, &text, None).await
}

/// Seals `payload` under `key` for `ttl_ms` from `now_ms`.
pub async fn put_item<S: Store>(
    store: &S,
    keyring: &Keyring,
    key: &str,
    payload: &Value,
    ttl_ms: u64,
    now_ms: u64,
) -> Result<(), EdgeError> {
    let record = SealedItemRecord {
        v: RECORD_VERSION,
        sealed: keyring.seal(&serde_json::to_vec(payload)?, key)?,
        created_at: now_ms,
        expires_at: now_ms + ttl_ms,
    };
    store.put(key, &serde_json::to_string(&record)?, Some(ttl_ms.div_ceil(1000))).await?;
    Ok(())
}

/// The record at `key` if it is there, readable as a `T`, and unexpired at
/// `now_ms` (by its own `expiresAt`, whatever KV's TTL says).
pub async fn live_record<T: Record + Expiring, S: Store>(
    store: &S,
    key: &str,
    now_ms: u64,
    log: &dyn Log,
) -> Result<Option<T>, EdgeError> {
    let Some(text) = store.get(key).await? else {
        return Ok(None);
    };
    let Some(record) = parse_record::<T>(&text) else {
        log.warn(&format!("unreadable record at {key}"));
        return Ok(None);
    };
    Ok((now_ms < record.expires_at()).then_some(record))
}

/// The payload at `key` if it is there, unexpired at `now_ms`, and opens.
pub async fn live_item<S: Store>(
    store: &S,
    keyring: &Keyring,
    key: &str,
    now_ms: u64,
    log: &dyn Log,
) -> Result<Option<Value>, EdgeError> {
    let Some(record) = live_record::<SealedItemRecord, S>(store, key, now_ms, log).await? else {
        return Ok(None);
    };
    let payload = keyring
        .open(&record.sealed, key)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(Value::is_object);
    if payload.is_none() {
        log.warn(&format!("item at {key} does not open"));
    }
    Ok(payload)
}

/// A text field of an item's payload ("" when missing or not text).
pub fn text_field(payload: &Value, name: &str) -> String {
    payload.get(name).and_then(Value::as_str).unwrap_or_default().to_owned()
}
