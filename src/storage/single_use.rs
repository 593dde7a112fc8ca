//! Single use: a one-time item (a journey, a web ticket or state, a redeem
//! code, an OAuth state) is claimed in the ledger before anything is spent
//! on it, so under any concurrency one request works on it and the others
//! get the answer a replay gets. The claim is spent when the work succeeds
//! and released when it fails, so a failure (Configure refused, an outage,
//! a storage error) leaves the item usable for a retry.
//!
//! Without the ledger the claim is taken on trust: KV alone cannot give an
//! item to one request (no compare-and-set), so single use is best effort
//! and `/healthz` says so.

use crate::log::Log;
use crate::storage::ledger::Ledger;
use crate::storage::store::StoreError;

/// How long a claim holds an item for a request that never settles it (a
/// Worker stopped mid-flight): longer than any request's work (a few
/// Configure calls, each under `CONFIGURE_API_TIMEOUT_MS`), after which the
/// item is usable again.
pub const CLAIM_LEASE_MS: u64 = 60_000;

/// A one-time item this request holds.
#[must_use = "a claim is spent or released"]
pub struct Claim<'a> {
    ledger: Option<Ledger<'a>>,
    key: String,
}

impl<'a> Claim<'a> {
    /// Claims the item at `key`: `None` when another request holds it or it
    /// was spent (answer as a replay).
    pub async fn take(
        ledger: Option<Ledger<'a>>,
        key: &str,
        now_ms: u64,
    ) -> Result<Option<Claim<'a>>, StoreError> {
        if let Some(ledger) = ledger {
            if !ledger.claim(key, now_ms, now_ms + CLAIM_LEASE_MS).await? {
                return Ok(None);
            }
        }
        Ok(Some(Claim { ledger, key: key.to_owned() }))
    }

    /// The work succeeded: the item is spent until `until` (ms; when the
    /// item itself expires). A failure is logged: the lease still holds the
    /// item until it ends, and the item's own delete follows.
    pub async fn spend(self, until: u64, log: &dyn Log) {
        if let Some(ledger) = self.ledger {
            if let Err(error) = ledger.spend(&self.key, until).await {
                log.warn(&format!("{} used but not marked spent: {error}", self.key));
            }
        }
    }

    /// The work failed or left the item open: usable again at once. A
    /// failure is logged (the item is usable again when the lease ends).
    pub async fn release(self, log: &dyn Log) {
        if let Some(ledger) = self.ledger {
            if let Err(error) = ledger.release(&self.key).await {
                log.warn(&format!("claim of {} not released: {error}", self.key));
            }
        }
    }

    /// Spends the claim when `result` is `Ok` and `spent(value)` says so,
    /// else releases it; hands `result` back.
    pub async fn settle<T, E>(
        self,
        result: Result<T, E>,
        spent: impl FnOnce(&T) -> bool,
        until: u64,
        log: &dyn Log,
    ) -> Result<T, E> {
        match &result {
            Ok(value) if spent(value) => self.spend(until, log).await,
            _ => self.release(log).await,
        }
        result
    }
}
