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
/// Worker stopped mid-flight), after which the item is usable again:
/// longer than any request's work, which is at most two Configure calls
/// one after the other (validation then phone recognition; the token
/// request then introspection with the profile), each cut off at
/// `CONFIGURE_API_TIMEOUT_MS`, plus the storage calls around them.
pub fn claim_lease_ms(api_timeout_ms: u64) -> u64 {
    3 * api_timeout_ms + 15_000
}

/// A one-time item this request holds.
#[must_use = "a claim is spent or released"]
pub struct Claim<'a> {
    ledger: Option<Ledger<'a>>,
    key: String,
    /// Random: only this request's release gives the item back.
    holder: String,
}

impl<'a> Claim<'a> {
    /// Claims the item at `key`: `None` when another request holds it or it
    /// was spent (answer as a replay).
    pub async fn take(
        ledger: Option<Ledger<'a>>,
        key: &str,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<Option<Claim<'a>>, StoreError> {
        let holder = holder_id()?;
        if let Some(ledger) = ledger {
            if !ledger.claim(key, &holder, now_ms, now_ms + lease_ms).await? {
                return Ok(None);
            }
        }
        Ok(Some(Claim { ledger, key: key.to_owned(), holder }))
    }

    /// Settles the claim: spent until `until` (ms; when the item itself
    /// expires) when the work used the item, else released, usable again at
    /// once (the work failed, or left the item open). A failure is logged:
    /// the lease holds the item until it ends, then it is usable again (a
    /// used item's own delete follows either way).
    pub async fn finish(self, spent: bool, until: u64, log: &dyn Log) {
        let Some(ledger) = self.ledger else { return };
        let settled = match spent {
            true => ledger.spend(&self.key, until).await,
            false => ledger.release(&self.key, &self.holder).await,
        };
        if let Err(error) = settled {
            log.warn(&format!("claim of {} not settled (spent: {spent}): {error}", self.key));
        }
    }

    /// Gives the item back (`finish` without spending it).
    pub async fn release(self, log: &dyn Log) {
        self.finish(false, 0, log).await
    }
}

/// A random holder id (128 bits, hex).
fn holder_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|_| StoreError { operation: "ledger", detail: "no randomness for a claim".to_owned() })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
