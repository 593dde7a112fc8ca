//! The ledger (storage/ledger.rs) on Durable Objects: `SqlTable`, the
//! `Table` over an object's SQLite storage; `LedgerObject`, what one
//! object does (a command in, its answer out, and the alarm that purges
//! expired rows); and `DurableLedger`, the `LedgerTransport` that sends each
//! command to its object through the `CONFIGURE_LEDGER` binding.
//!
//! The Durable Object class itself (`#[durable_object]`) is declared by the
//! final Worker crate around `LedgerObject`: this crate's own build does it
//! under the `entry` feature (`ConfigureLedger` below), a Worker that
//! mounts the routes does it in its own code (examples/mounted-worker).
//! The macro exports a wasm-bindgen class, and an export in a library
//! would land in every Worker that links it, whatever it binds.

use crate::log::Log;
use crate::storage::ledger::{
    object_name, Answer, Command, LedgerBook, LedgerFuture, LedgerTransport, Row, Table,
};
use crate::storage::store::StoreError;
use crate::worker::bindings::ConsoleLog;
use std::cell::Cell;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use worker::durable::{ObjectNamespace, ScheduledTime, State};
use worker::{Delay, Env, Headers, Method, Request, RequestInit, Response, SqlStorage, SqlStorageValue};

/// The largest integer SQLite's values keep exactly on their way through
/// JavaScript (2^53 - 1): `until` is clamped to it (an `until` that far
/// away is for good in practice).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The one table of an object: `value` NULL is a tombstone, `until` 0 is
/// for good.
const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, value TEXT, until INTEGER NOT NULL)";

/// The index of the rows that expire.
const UNTIL_INDEX: &str = "CREATE INDEX IF NOT EXISTS rows_until ON rows (until) WHERE until > 0";

/// The `Table` over a Durable Object's SQLite storage. Every call is
/// synchronous, so a command's read and write run with nothing in between.
///
/// The `Table` calls cannot fail; a SQL error is kept instead: from then on
/// the table reads nothing and writes nothing, and the object answers the
/// command with a 500 rather than an answer built on a failed read.
pub struct SqlTable {
    sql: SqlStorage,
    failure: Option<String>,
}

impl SqlTable {
    /// The table over `sql`; `create` makes sure it exists.
    pub fn new(sql: SqlStorage) -> SqlTable {
        SqlTable { sql, failure: None }
    }

    /// Creates the table if it is not there yet.
    pub fn create(&self) -> worker::Result<()> {
        self.sql.exec(SCHEMA, None)?;
        // An object holds many items' rows (storage/ledger.rs object_name):
        // the alarm's `max(until)` and the purge read this index, not the
        // whole table.
        self.sql.exec(UNTIL_INDEX, None).map(drop)
    }

    /// The first SQL error since the table was made, if any.
    pub fn take_failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    /// Runs one statement, unless an earlier one failed.
    fn exec(&mut self, query: &str, bindings: Vec<SqlStorageValue>) -> Option<worker::SqlCursor> {
        if self.failure.is_some() {
            return None;
        }
        match self.sql.exec(query, bindings) {
            Ok(cursor) => Some(cursor),
            Err(error) => {
                self.failure = Some(error.to_string());
                None
            }
        }
    }

    /// The first row of a query, each column a value.
    fn first_row(&mut self, query: &str, bindings: Vec<SqlStorageValue>) -> Option<Vec<SqlStorageValue>> {
        let row = self.exec(query, bindings)?.raw().next()?;
        match row {
            Ok(row) => Some(row),
            Err(error) => {
                self.failure = Some(error.to_string());
                None
            }
        }
    }

    fn fail(&mut self, detail: &str) {
        self.failure.get_or_insert_with(|| detail.to_owned());
    }
}

fn text(value: &str) -> SqlStorageValue {
    SqlStorageValue::String(value.to_owned())
}

fn integer(value: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(value.min(MAX_SAFE_INTEGER) as i64)
}

/// An `until` read back: a non-negative integer.
fn read_until(value: &SqlStorageValue) -> Option<u64> {
    match value {
        SqlStorageValue::Integer(until) => u64::try_from(*until).ok(),
        SqlStorageValue::Float(until) if until.is_finite() && *until >= 0.0 => Some(*until as u64),
        _ => None,
    }
}

impl Table for SqlTable {
    fn get(&mut self, key: &str) -> Option<Row> {
        let row = self.first_row("SELECT value, until FROM rows WHERE key = ?", vec![text(key)])?;
        let (value, until) = match row.as_slice() {
            [SqlStorageValue::Null, until] => (None, read_until(until)),
            [SqlStorageValue::String(value), until] => (Some(value.clone()), read_until(until)),
            _ => (None, None),
        };
        let Some(until) = until else {
            self.fail("a ledger row of an unexpected shape");
            return None;
        };
        Some(Row { value, until })
    }

    fn put(&mut self, key: &str, row: &Row) {
        let value = row.value.as_deref().map_or(SqlStorageValue::Null, text);
        self.exec(
            "INSERT INTO rows (key, value, until) VALUES (?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, until = excluded.until",
            vec![text(key), value, integer(row.until)],
        );
    }

    fn delete(&mut self, key: &str) {
        self.exec("DELETE FROM rows WHERE key = ?", vec![text(key)]);
    }

    fn delete_prefix(&mut self, prefix: &str) {
        // substr and length count characters of the same text: an exact
        // prefix match, where LIKE would ignore case and GLOB need escapes.
        self.exec("DELETE FROM rows WHERE substr(key, 1, length(?)) = ?", vec![text(prefix), text(prefix)]);
    }

    fn purge(&mut self, now: u64) {
        self.exec("DELETE FROM rows WHERE until <> 0 AND until <= ?", vec![integer(now)]);
    }

    fn latest_until(&mut self) -> Option<u64> {
        let row = self.first_row("SELECT max(until) FROM rows WHERE until > 0", Vec::new())?;
        row.first().and_then(read_until)
    }
}

/// Whether a command may have written a row that expires (the object's
/// alarm then needs to be set).
fn may_expire(command: &Command) -> bool {
    matches!(
        command,
        Command::Claim { .. }
            | Command::Spend { .. }
            | Command::Put { .. }
            | Command::Swap { .. }
            | Command::Touch { .. }
    )
}

/// An absolute time (ms since the epoch) for `set_alarm`.
fn at(ms: u64) -> ScheduledTime {
    ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(ms as f64)))
}

/// What one ledger object does; the final crate's `#[durable_object]`
/// class wraps it (see `ConfigureLedger`):
/// - `fetch`: the body is one JSON `Command`; the answer is its `Answer` as
///   JSON (200), 400 for a malformed command, 500 when storage failed
///   (nothing of the command was written after the failure);
/// - `alarm`: deletes the expired rows (claims, spent markers, tombstones,
///   sessions), then sets the alarm again for the latest row that expires.
pub struct LedgerObject {
    state: State,
    /// The table is known to exist (created once per instance).
    created: Cell<bool>,
    /// The alarm this instance knows to be set (only this object changes
    /// it; a fresh instance asks the storage).
    alarm: Cell<Option<u64>>,
}

impl LedgerObject {
    pub fn new(state: State, _env: Env) -> LedgerObject {
        LedgerObject { state, created: Cell::new(false), alarm: Cell::new(None) }
    }

    fn table(&self) -> worker::Result<SqlTable> {
        let table = SqlTable::new(self.state.storage().sql());
        if !self.created.get() {
            table.create()?;
            self.created.set(true);
        }
        Ok(table)
    }

    pub async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        if req.method() != Method::Post {
            return Response::error("the ledger takes a POSTed command", 405);
        }
        let body = req.text().await?;
        let command: Command = match serde_json::from_str(&body) {
            Ok(command) => command,
            Err(error) => return Response::error(format!("not a ledger command: {error}"), 400),
        };
        let table = match self.table() {
            Ok(table) => table,
            Err(error) => return Response::error(format!("ledger storage failed: {error}"), 500),
        };
        let mut book = LedgerBook::new(table);
        let answer = book.run(&command);
        if let Some(failure) = book.table.take_failure() {
            return Response::error(format!("ledger storage failed: {failure}"), 500);
        }
        if may_expire(&command) {
            // The command is done whatever happens here: a failure only
            // leaves expired rows for a later command's alarm to purge.
            if let Err(error) = self.arm(&mut book.table).await {
                ConsoleLog.warn(&format!("ledger alarm not set: {error}"));
            }
        }
        Response::from_json(&answer)
    }

    /// Sets the alarm for the latest row that expires, unless one is set.
    async fn arm(&self, table: &mut SqlTable) -> worker::Result<()> {
        // Set already (this instance set it or saw it): nothing to read.
        if self.alarm.get().is_some() {
            return Ok(());
        }
        let latest = table.latest_until();
        if let Some(failure) = table.take_failure() {
            return Err(failure.into());
        }
        let Some(latest) = latest else { return Ok(()) };
        let storage = self.state.storage();
        match storage.get_alarm().await? {
            Some(set) => self.alarm.set(Some(u64::try_from(set).unwrap_or(0))),
            None => {
                storage.set_alarm(at(latest)).await?;
                self.alarm.set(Some(latest));
            }
        }
        Ok(())
    }

    pub async fn alarm(&self) -> worker::Result<Response> {
        self.alarm.set(None);
        let mut table = self.table()?;
        table.purge(worker::Date::now().as_millis());
        let latest = table.latest_until();
        if let Some(failure) = table.take_failure() {
            // Failing the alarm has the runtime retry it later.
            return Err(format!("ledger purge failed: {failure}").into());
        }
        if let Some(latest) = latest {
            self.state.storage().set_alarm(at(latest)).await?;
            self.alarm.set(Some(latest));
        }
        Response::empty()
    }
}

/// This crate's own Durable Object class of the ledger, bound as
/// `CONFIGURE_LEDGER` (wrangler.toml). A Worker that mounts the routes
/// declares the same few lines (examples/mounted-worker/src/lib.rs).
#[cfg(feature = "entry")]
#[worker::durable_object(alarm)]
pub struct ConfigureLedger {
    object: LedgerObject,
}

#[cfg(feature = "entry")]
impl worker::DurableObject for ConfigureLedger {
    fn new(state: State, env: Env) -> Self {
        ConfigureLedger { object: LedgerObject::new(state, env) }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        self.object.fetch(req).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.object.alarm().await
    }
}

/// The `LedgerTransport` over the `CONFIGURE_LEDGER` Durable Object
/// namespace: each command goes to the object `object_name(key)`. Holds
/// only this request's binding.
pub struct DurableLedger {
    namespace: ObjectNamespace,
}

fn ledger_error(detail: String) -> StoreError {
    StoreError { operation: "ledger", detail }
}

/// How much of an object's error answer goes into the error's detail.
const DETAIL_LIMIT: usize = 200;

impl DurableLedger {
    /// The ledger bound as `name`, if any. Taken by its shape (an object
    /// with `idFromName` and `get`), not by its class name as
    /// `Env::durable_object` does, so a wrapped binding cannot switch the
    /// ledger off silently; a binding of another shape is logged.
    pub fn from_env(env: &Env, name: &str) -> Option<DurableLedger> {
        let binding = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok().filter(JsValue::is_object)?;
        let has = |method: &str| {
            js_sys::Reflect::get(&binding, &JsValue::from_str(method)).is_ok_and(|m| m.is_function())
        };
        if !(has("idFromName") && has("get")) {
            ConsoleLog
                .warn(&format!("{name} is bound but is not a Durable Object namespace; running on KV alone"));
            return None;
        }
        Some(DurableLedger { namespace: binding.unchecked_into() })
    }

    async fn exchange(&self, command: &Command) -> worker::Result<Answer> {
        let body = serde_json::to_string(command)?;
        let stub = self.namespace.id_from_name(object_name(command.key()))?.get_stub()?;
        let headers = Headers::new();
        headers.set("Content-Type", "application/json")?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&body)));
        let request = Request::new_with_init("https://ledger/", &init)?;
        let mut response = stub.fetch_with_request(request).await?;
        let status = response.status_code();
        let text = response.text().await?;
        if status != 200 {
            let mut end = text.len().min(DETAIL_LIMIT);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            return Err(worker::Error::RustError(format!(
                "the ledger object answered {status}: {}",
                &text[..end]
            )));
        }
        serde_json::from_str(&text).map_err(|e| {
            worker::Error::RustError(format!("the ledger object's answer is not an answer: {e}"))
        })
    }
}

impl LedgerTransport for DurableLedger {
    fn send<'a>(&'a self, command: &'a Command) -> LedgerFuture<'a, Result<Answer, StoreError>> {
        Box::pin(async move { self.exchange(command).await.map_err(|error| ledger_error(error.to_string())) })
    }

    fn pause(&self, ms: u64) -> LedgerFuture<'_, ()> {
        Box::pin(Delay::from(Duration::from_millis(ms)))
    }
}
