//! In-memory doubles of the core's ports: the KV store (TTLs against a
//! settable clock, injectable faults), the warning log and the rate limiter.

use configure_edge::http::ratelimit::RateLimit;
use configure_edge::log::Log;
use configure_edge::storage::ledger::{
    Answer, Command, LedgerBook, LedgerFuture, LedgerTransport, MemoryTable,
};
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

/// The ledger's objects in memory: every command travels as JSON (as to a
/// Durable Object) and runs in one `LedgerBook`; each send first yields
/// once, so requests polled together interleave as they would at the
/// object's door. `fail` makes every command fail (the object unreachable).
pub struct MemoryLedger {
    pub book: RefCell<LedgerBook<MemoryTable>>,
    pub fail: Cell<bool>,
    /// Commands received, by `op` (their number per route: tests/app.rs).
    pub sent: RefCell<Vec<String>>,
}

impl MemoryLedger {
    pub fn new() -> MemoryLedger {
        MemoryLedger {
            book: RefCell::new(LedgerBook::new(MemoryTable::default())),
            fail: Cell::new(false),
            sent: RefCell::new(Vec::new()),
        }
    }

    /// The live value of a row, if any.
    pub fn value(&self, key: &str) -> Option<String> {
        self.book.borrow().table.rows.get(key).and_then(|row| row.value.clone())
    }
}

/// A future that is pending once: lets other futures polled together run.
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

impl LedgerTransport for MemoryLedger {
    fn send<'a>(&'a self, command: &'a Command) -> LedgerFuture<'a, Result<Answer, StoreError>> {
        Box::pin(async move {
            yield_once().await;
            if self.fail.get() {
                return Err(StoreError { operation: "ledger", detail: "injected fault".to_owned() });
            }
            let text = serde_json::to_string(command).expect("a command serializes");
            let command: Command = serde_json::from_str(&text).expect("a command parses");
            let op =
                serde_json::from_str::<serde_json::Value>(&text).unwrap()["op"].as_str().unwrap().to_owned();
            self.sent.borrow_mut().push(op);
            let answer = self.book.borrow_mut().run(&command);
            Ok(serde_json::from_str(&serde_json::to_string(&answer).unwrap()).unwrap())
        })
    }

    fn pause(&self, _ms: u64) -> LedgerFuture<'_, ()> {
        Box::pin(yield_once())
    }
}
