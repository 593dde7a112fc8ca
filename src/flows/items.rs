//! One-time items in KV whose whole content is one sealed JSON payload,
//! bound to its KV key: a web callback's result waiting for the app's
//! redeem, a message completion waiting for its confirmation word. Written
//! with a TTL and an `expiresAt` of their own (KV's TTL floor is 60 s); read
//! back only while live and readable, else treated as absent (and logged).

use crate::error::EdgeError;
use crate::log::Log;
use crate::records::{parse_record, SealedItemRecord, RECORD_VERSION};
use crate::seal::Keyring;
use crate::store::Store;
use serde_json::Value;

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

/// The payload at `key` if it is there, unexpired at `now_ms`, and opens.
pub async fn live_item<S: Store>(
    store: &S,
    keyring: &Keyring,
    key: &str,
    now_ms: u64,
    log: &dyn Log,
) -> Result<Option<Value>, EdgeError> {
    let Some(text) = store.get(key).await? else {
        return Ok(None);
    };
    let Some(record) = parse_record::<SealedItemRecord>(&text) else {
        log.warn(&format!("unreadable item at {key}"));
        return Ok(None);
    };
    if now_ms >= record.expires_at {
        return Ok(None);
    }
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
