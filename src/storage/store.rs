//! The KV store as a port: get, put with a TTL, delete. The Worker's adapter
//! is Workers KV (src/worker.rs); `MemoryStore` serves native tests, with a
//! clock for TTLs and injectable failures.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
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
        write!(f, "KV {} failed: {}", self.operation, self.detail)
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
}

/// Which operations of a `MemoryStore` fail.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    pub get: bool,
    pub put: bool,
    pub delete: bool,
}

/// An in-memory store for tests: TTLs against a settable clock, and faults.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: RefCell<BTreeMap<String, (String, Option<u64>)>>,
    now_ms: Cell<u64>,
    faults: Cell<Faults>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    pub fn set_now(&self, now_ms: u64) {
        self.now_ms.set(now_ms);
    }

    pub fn set_faults(&self, faults: Faults) {
        self.faults.set(faults);
    }

    /// Every live key and value, for scans in tests.
    pub fn entries(&self) -> Vec<(String, String)> {
        let now = self.now_ms.get();
        self.entries
            .borrow()
            .iter()
            .filter(|(_, (_, expires))| expires.is_none_or(|e| e > now))
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    fn fail(operation: &'static str) -> StoreError {
        StoreError { operation, detail: "injected fault".to_owned() }
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        if self.faults.get().get {
            return Err(Self::fail("get"));
        }
        let now = self.now_ms.get();
        Ok(self
            .entries
            .borrow()
            .get(key)
            .filter(|(_, expires)| expires.is_none_or(|e| e > now))
            .map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError> {
        if self.faults.get().put {
            return Err(Self::fail("put"));
        }
        let expires = ttl_seconds.map(|ttl| self.now_ms.get() + ttl.max(KV_MIN_TTL_SECONDS) * 1000);
        self.entries.borrow_mut().insert(key.to_owned(), (value.to_owned(), expires));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if self.faults.get().delete {
            return Err(Self::fail("delete"));
        }
        self.entries.borrow_mut().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pollster::block_on;

    #[test]
    fn ttl_and_faults() {
        let store = MemoryStore::new();
        store.set_now(1_000);
        block_on(store.put("a", "1", Some(1))).unwrap();
        block_on(store.put("b", "2", None)).unwrap();
        assert_eq!(block_on(store.get("a")).unwrap().as_deref(), Some("1"));
        store.set_now(1_000 + 60_000);
        assert_eq!(block_on(store.get("a")).unwrap(), None, "expired at the KV minimum TTL");
        assert_eq!(block_on(store.get("b")).unwrap().as_deref(), Some("2"));
        store.set_faults(Faults { get: true, ..Faults::default() });
        assert!(block_on(store.get("b")).is_err());
        store.set_faults(Faults::default());
        block_on(store.delete("b")).unwrap();
        assert!(store.entries().is_empty());
    }
}
