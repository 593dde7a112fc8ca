//! The KV store as a port: get, put with a TTL, delete. The Worker's adapter
//! is Workers KV (src/worker/bindings.rs); the native tests use an in-memory
//! double (tests/support/doubles.rs).

use std::fmt;

/// A store operation that failed (the binding threw, the network to KV
/// failed). Answered as 503: the caller may retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub operation: &'static str,
    pub detail: String,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            "ledger" => write!(f, "the ledger failed: {}", self.detail),
            operation => write!(f, "KV {operation} failed: {}", self.detail),
        }
    }
}

impl std::error::Error for StoreError {}

/// Workers KV's smallest TTL: shorter expirations are enforced by the
/// records' own `expiresAt` instead (see records.rs).
pub const KV_MIN_TTL_SECONDS: u64 = 60;

#[allow(async_fn_in_trait)] // single-threaded (wasm) futures: no Send bound wanted
pub trait Store {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes `value`; with `ttl_seconds` the entry expires (KV clamps it to
    /// at least `KV_MIN_TTL_SECONDS`).
    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes `key` where the answer need not wait for it (a finished
    /// journey, a used state or code, after what replaces it is written):
    /// the Worker runs it after answering (`Context::wait_until`), so a
    /// failure can only be logged. By default it runs now.
    async fn delete_after_answer(&self, key: &str) -> Result<(), StoreError> {
        self.delete(key).await
    }
}

impl From<StoreError> for crate::error::EdgeError {
    /// A failure of the store is a 503: nothing was lost, try again.
    fn from(error: StoreError) -> Self {
        crate::error::EdgeError::StoreUnavailable { detail: error.to_string() }
    }
}
