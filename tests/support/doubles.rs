//! In-memory doubles of the core's ports: the KV store (TTLs against a
//! settable clock, injectable faults), the warning log and the rate limiter.

use configure_edge::http::ratelimit::RateLimit;
use configure_edge::log::Log;
use configure_edge::storage::store::{Store, StoreError, KV_MIN_TTL_SECONDS};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// Which operations of a `MemoryStore` fail.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    pub get: bool,
    pub put: bool,
    pub delete: bool,
}

/// Workers KV in memory: TTLs (clamped to KV's minimum) against a settable
/// clock, and faults.
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

/// Collects warnings.
#[derive(Debug, Default)]
pub struct MemoryLog(pub RefCell<Vec<String>>);

impl Log for MemoryLog {
    fn warn(&self, message: &str) {
        self.0.borrow_mut().push(message.to_owned());
    }
}

/// A limiter that allows `limit` requests per key, then refuses.
#[derive(Default)]
pub struct CountingLimiter {
    pub limit: u32,
    pub counts: RefCell<BTreeMap<String, u32>>,
}

impl RateLimit for CountingLimiter {
    async fn allow(&self, key: &str) -> Result<bool, String> {
        let mut counts = self.counts.borrow_mut();
        let count = counts.entry(key.to_owned()).or_default();
        *count += 1;
        Ok(*count <= self.limit)
    }
}
