//! The ledger: what must happen once or in order, kept where reads are
//! strongly consistent (a SQLite-backed Durable Object in the Worker, one
//! object per item).
//!
//! Workers KV cannot do this: a write takes a minute or more to reach other
//! locations, concurrent writes race (the last wins) and there is no
//! compare-and-set. The ledger keeps only what needs those guarantees:
//! - claims of one-time items (journeys, tickets, states, redeem codes,
//!   OAuth states): `claim` gives the item to one request, for a lease;
//!   `spend` marks it used, `release` gives it back after a failure;
//! - links, the source of truth (KV keeps a copy for running without the
//!   ledger), written in order and compared-and-swapped where a write
//!   depends on what was read (re-seal, OAuth refresh);
//! - edge sessions, so a logout or a user's unlink revokes them at once.
//!
//! Every command names its row by key; the object is the key up to its
//! first `#` (`object_name`), so a link, its refresh claim and a user's
//! sessions each share one object, and unrelated items never wait on each
//! other. Rows expire by their own `until` (ms since the epoch, 0 = for
//! good); an expired row reads as absent and is purged.
//!
//! Three layers: the commands and their answers (serde: the Worker sends
//! them to the object as JSON); `LedgerBook`, the plain type each object
//! wraps, running a command over a `Table` (SQLite in the object, a map in
//! the native tests); and `Ledger`, the typed client the flows call, over
//! a `LedgerTransport`.

use crate::storage::store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// The Durable Object binding the ledger runs on (README: Settings).
pub const LEDGER_BINDING: &str = "CONFIGURE_LEDGER";

/// A claim's value while a request works on the item: `held:<holder>`.
const HELD: &str = "held:";
/// A claim's value once the item is used.
const SPENT: &str = "spent";

/// One command to one object. Read through `WireCommand` (a flat struct):
/// serde's derive for an internally tagged enum buffers every field as
/// `Content` and measured about 50 KB of the Worker's wasm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase", try_from = "WireCommand")]
pub enum Command {
    /// Gives the item to this request (`holder`, a random id) until
    /// `until`, unless it is held or spent: `ok` says whether the claim was
    /// won.
    Claim { key: String, holder: String, now: u64, until: u64 },
    /// Gives the item back if `holder` still holds it (a no-op on a spent
    /// item, or on one whose lease ran out and another request claimed).
    Release { key: String, holder: String },
    /// Marks the item used until `until`: every later claim loses.
    Spend { key: String, until: u64 },
    /// The row's value: `known` when the row is there (a tombstone is
    /// known with no value).
    Read { key: String, now: u64 },
    /// Writes the value (`None`: a tombstone) whatever was there.
    Put { key: String, value: Option<String>, until: u64 },
    /// Writes the value only if the live row holds `expected` (`None`: no
    /// live row; a tombstone matches neither, so nothing deleted comes
    /// back, unless `or_deleted` lets `None` match a tombstone too): `ok`
    /// says whether it was written.
    Swap {
        key: String,
        now: u64,
        expected: Option<String>,
        #[serde(default)]
        or_deleted: bool,
        value: Option<String>,
        until: u64,
    },
    /// Keeps a live row alive until `now + idle_ms`, never past the cap in
    /// its value (ms): `ok` says whether it was live.
    Touch { key: String, now: u64, idle_ms: u64 },
    /// Deletes the row.
    Delete { key: String },
    /// Deletes every row whose key starts with `prefix`.
    DeletePrefix { prefix: String },
}

/// A command as it travels: every field of every command, by name.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCommand {
    op: String,
    key: Option<String>,
    prefix: Option<String>,
    holder: Option<String>,
    now: Option<u64>,
    until: Option<u64>,
    /// `Swap`: present (possibly null) always.
    #[serde(default)]
    expected: Option<String>,
    #[serde(default)]
    or_deleted: bool,
    #[serde(default)]
    value: Option<String>,
    idle_ms: Option<u64>,
}

impl TryFrom<WireCommand> for Command {
    type Error = String;

    fn try_from(wire: WireCommand) -> Result<Command, String> {
        let missing = |field: &str| format!("`{}` needs `{field}`", wire.op);
        let key = || wire.key.clone().ok_or_else(|| missing("key"));
        let number = |value: Option<u64>, field: &str| value.ok_or_else(|| missing(field));
        let holder = || wire.holder.clone().ok_or_else(|| missing("holder"));
        Ok(match wire.op.as_str() {
            "claim" => Command::Claim {
                key: key()?,
                holder: holder()?,
                now: number(wire.now, "now")?,
                until: number(wire.until, "until")?,
            },
            "release" => Command::Release { key: key()?, holder: holder()? },
            "spend" => Command::Spend { key: key()?, until: number(wire.until, "until")? },
            "read" => Command::Read { key: key()?, now: number(wire.now, "now")? },
            "put" => {
                Command::Put { key: key()?, value: wire.value.clone(), until: number(wire.until, "until")? }
            }
            "swap" => Command::Swap {
                key: key()?,
                now: number(wire.now, "now")?,
                expected: wire.expected.clone(),
                or_deleted: wire.or_deleted,
                value: wire.value.clone(),
                until: number(wire.until, "until")?,
            },
            "touch" => Command::Touch {
                key: key()?,
                now: number(wire.now, "now")?,
                idle_ms: number(wire.idle_ms, "idleMs")?,
            },
            "delete" => Command::Delete { key: key()? },
            "deletePrefix" => {
                Command::DeletePrefix { prefix: wire.prefix.clone().ok_or_else(|| missing("prefix"))? }
            }
            other => return Err(format!("unknown command `{other}`")),
        })
    }
}

impl Command {
    /// The key (or prefix) the command is about: it names the object.
    pub fn key(&self) -> &str {
        match self {
            Command::Claim { key, .. }
            | Command::Release { key, .. }
            | Command::Spend { key, .. }
            | Command::Read { key, .. }
            | Command::Put { key, .. }
            | Command::Swap { key, .. }
            | Command::Touch { key, .. }
            | Command::Delete { key } => key,
            Command::DeletePrefix { prefix } => prefix,
        }
    }
}

/// An object's answer to a command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// Claim won, swap written, session live; true for plain writes.
    #[serde(default)]
    pub ok: bool,
    /// `Read`: the live value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `Read`: whether there is a live row (a tombstone included).
    #[serde(default)]
    pub known: bool,
}

/// How many characters of a key's hash name its object: 64 objects per
/// kind of key (`journey:`, `link:`, `sessions:`, ...).
const SHARD_CHARS: usize = 1;

/// The object a key lives in: its kind and the first `SHARD_CHARS` of its
/// hash (`link:Q` for `link:Qx3…#refresh`). Every row of one item (a link
/// and its refresh claim, a user's sessions) shares its object, so a
/// command over them is atomic; items are spread over a bounded set of
/// objects that stay warm, rather than one new object (a new SQLite
/// database) per journey, state or code.
pub fn object_name(key: &str) -> &str {
    let item = key.split_once('#').map_or(key, |(item, _)| item);
    match item.find(':') {
        Some(colon) => {
            let mut end = (colon + 1 + SHARD_CHARS).min(item.len());
            while !item.is_char_boundary(end) {
                end -= 1;
            }
            &item[..end]
        }
        None => item,
    }
}

/// One row: a value (`None`: a tombstone) and when it expires (0: never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub value: Option<String>,
    pub until: u64,
}

impl Row {
    fn live(&self, now: u64) -> bool {
        self.until == 0 || now < self.until
    }
}

/// An object's storage: synchronous, so that a command's read and write
/// run with nothing in between (a Durable Object's SQLite calls are).
pub trait Table {
    fn get(&mut self, key: &str) -> Option<Row>;
    fn put(&mut self, key: &str, row: &Row);
    fn delete(&mut self, key: &str);
    fn delete_prefix(&mut self, prefix: &str);
    /// Deletes the rows expired at `now`.
    fn purge(&mut self, now: u64);
    /// When the last expiring row expires (for the object's alarm).
    fn latest_until(&mut self) -> Option<u64>;
}

/// What a ledger object is: commands run over its table, one at a time.
pub struct LedgerBook<T: Table> {
    pub table: T,
}

impl<T: Table> LedgerBook<T> {
    pub fn new(table: T) -> LedgerBook<T> {
        LedgerBook { table }
    }

    fn live(&mut self, key: &str, now: u64) -> Option<Row> {
        self.table.get(key).filter(|row| row.live(now))
    }

    /// Runs one command.
    pub fn run(&mut self, command: &Command) -> Answer {
        let done = Answer { ok: true, ..Answer::default() };
        match command {
            Command::Claim { key, holder, now, until } => {
                if self.live(key, *now).is_some() {
                    return Answer::default();
                }
                self.table.put(key, &Row { value: Some(format!("{HELD}{holder}")), until: *until });
                done
            }
            Command::Release { key, holder } => {
                let held = format!("{HELD}{holder}");
                if self.table.get(key).is_some_and(|row| row.value.as_deref() == Some(held.as_str())) {
                    self.table.delete(key);
                }
                done
            }
            Command::Spend { key, until } => {
                self.table.put(key, &Row { value: Some(SPENT.to_owned()), until: *until });
                done
            }
            Command::Read { key, now } => match self.live(key, *now) {
                Some(row) => Answer { ok: true, value: row.value, known: true },
                None => done,
            },
            Command::Put { key, value, until } => {
                self.table.put(key, &Row { value: value.clone(), until: *until });
                done
            }
            Command::Swap { key, now, expected, or_deleted, value, until } => {
                let matches = match (self.live(key, *now), expected) {
                    (None, None) => true,
                    (Some(row), None) => *or_deleted && row.value.is_none(),
                    (Some(row), Some(expected)) => row.value.as_deref() == Some(expected.as_str()),
                    _ => false,
                };
                if !matches {
                    return Answer::default();
                }
                self.table.put(key, &Row { value: value.clone(), until: *until });
                done
            }
            Command::Touch { key, now, idle_ms } => {
                let Some(row) = self.live(key, *now) else { return Answer::default() };
                let cap = row.value.as_deref().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                if cap <= *now {
                    self.table.delete(key);
                    return Answer::default();
                }
                let until = now.saturating_add(*idle_ms).min(cap);
                self.table.put(key, &Row { value: row.value, until });
                done
            }
            Command::Delete { key } => {
                self.table.delete(key);
                done
            }
            Command::DeletePrefix { prefix } => {
                self.table.delete_prefix(prefix);
                done
            }
        }
    }
}

/// A table in memory: the native tests' objects.
#[derive(Debug, Default, Clone)]
pub struct MemoryTable {
    pub rows: BTreeMap<String, Row>,
}

impl Table for MemoryTable {
    fn get(&mut self, key: &str) -> Option<Row> {
        self.rows.get(key).cloned()
    }

    fn put(&mut self, key: &str, row: &Row) {
        self.rows.insert(key.to_owned(), row.clone());
    }

    fn delete(&mut self, key: &str) {
        self.rows.remove(key);
    }

    fn delete_prefix(&mut self, prefix: &str) {
        self.rows.retain(|key, _| !key.starts_with(prefix));
    }

    fn purge(&mut self, now: u64) {
        self.rows.retain(|_, row| row.live(now));
    }

    fn latest_until(&mut self) -> Option<u64> {
        self.rows.values().map(|row| row.until).filter(|until| *until > 0).max()
    }
}

/// A boxed future: the transport is used as `&dyn`, so the flows need no
/// type parameter for it.
pub type LedgerFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// How commands reach the objects: the Worker sends each to its Durable
/// Object; the native tests run a `LedgerBook` in memory.
pub trait LedgerTransport {
    /// Runs `command` in the object `object_name(command.key())`.
    fn send<'a>(&'a self, command: &'a Command) -> LedgerFuture<'a, Result<Answer, StoreError>>;
    /// Waits `ms` (while another request holds a claim).
    fn pause(&self, ms: u64) -> LedgerFuture<'_, ()>;
}

/// What a key holds in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// No row: the ledger never had it (or it expired).
    Unknown,
    /// A tombstone: deleted.
    Deleted,
    Value(String),
}

/// The typed client the flows use.
#[derive(Clone, Copy)]
pub struct Ledger<'a> {
    transport: &'a dyn LedgerTransport,
}

fn ledger_error(detail: &str) -> StoreError {
    StoreError { operation: "ledger", detail: detail.to_owned() }
}

impl<'a> Ledger<'a> {
    pub fn new(transport: &'a dyn LedgerTransport) -> Ledger<'a> {
        Ledger { transport }
    }

    async fn send(&self, command: Command) -> Result<Answer, StoreError> {
        self.transport.send(&command).await
    }

    /// Claims `key` for `holder` until `until`: false when another
    /// request holds it or it is spent.
    pub async fn claim(&self, key: &str, holder: &str, now: u64, until: u64) -> Result<bool, StoreError> {
        let command = Command::Claim { key: key.to_owned(), holder: holder.to_owned(), now, until };
        Ok(self.send(command).await?.ok)
    }

    pub async fn release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        self.send(Command::Release { key: key.to_owned(), holder: holder.to_owned() }).await.map(drop)
    }

    pub async fn spend(&self, key: &str, until: u64) -> Result<(), StoreError> {
        self.send(Command::Spend { key: key.to_owned(), until }).await.map(drop)
    }

    pub async fn read(&self, key: &str, now: u64) -> Result<Stored, StoreError> {
        let answer = self.send(Command::Read { key: key.to_owned(), now }).await?;
        Ok(match (answer.known, answer.value) {
            (false, None) => Stored::Unknown,
            (true, None) => Stored::Deleted,
            (_, Some(value)) => Stored::Value(value),
        })
    }

    pub async fn put(&self, key: &str, value: Option<&str>, until: u64) -> Result<(), StoreError> {
        let command = Command::Put { key: key.to_owned(), value: value.map(str::to_owned), until };
        self.send(command).await.map(drop)
    }

    /// Compare-and-swap: writes `value` only if the live value is still
    /// `expected` (`None`: no row, or with `or_deleted` a tombstone too).
    pub async fn swap(
        &self,
        key: &str,
        now: u64,
        expected: Option<&str>,
        or_deleted: bool,
        value: Option<&str>,
        until: u64,
    ) -> Result<bool, StoreError> {
        let command = Command::Swap {
            key: key.to_owned(),
            now,
            expected: expected.map(str::to_owned),
            or_deleted,
            value: value.map(str::to_owned),
            until,
        };
        Ok(self.send(command).await?.ok)
    }

    /// Slides a session row (see `Command::Touch`): whether it is live.
    pub async fn touch(&self, key: &str, now: u64, idle_ms: u64) -> Result<bool, StoreError> {
        Ok(self.send(Command::Touch { key: key.to_owned(), now, idle_ms }).await?.ok)
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.send(Command::Delete { key: key.to_owned() }).await.map(drop)
    }

    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StoreError> {
        if !prefix.contains('#') {
            // A prefix spans one object only: it must name it.
            return Err(ledger_error("a prefix must include its object's '#'"));
        }
        self.send(Command::DeletePrefix { prefix: prefix.to_owned() }).await.map(drop)
    }

    pub async fn pause(&self, ms: u64) {
        self.transport.pause(ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> LedgerBook<MemoryTable> {
        LedgerBook::new(MemoryTable::default())
    }

    fn claim(key: &str, now: u64, until: u64) -> Command {
        Command::Claim { key: key.into(), holder: format!("h{now}"), now, until }
    }

    fn release(key: &str, holder: &str) -> Command {
        Command::Release { key: key.into(), holder: holder.into() }
    }

    #[test]
    fn one_claim_wins_until_released_or_expired() {
        let mut book = book();
        assert!(book.run(&claim("journey:a", 0, 100)).ok);
        assert!(!book.run(&claim("journey:a", 50, 150)).ok);
        assert!(book.run(&claim("journey:b", 50, 150)).ok, "other items are independent");
        book.run(&release("journey:a", "h50"));
        assert!(!book.run(&claim("journey:a", 55, 155)).ok, "only its holder releases a claim");
        book.run(&release("journey:a", "h0"));
        assert!(book.run(&claim("journey:a", 60, 160)).ok, "released: usable again");
        assert!(book.run(&claim("journey:a", 160, 260)).ok, "an abandoned lease expires");
        book.run(&release("journey:a", "h60"));
        assert!(!book.run(&claim("journey:a", 170, 270)).ok, "a lapsed holder cannot release its successor");
    }

    #[test]
    fn a_spent_item_is_never_claimed_again_and_release_does_not_revive_it() {
        let mut book = book();
        assert!(book.run(&claim("state:s", 0, 100)).ok);
        book.run(&Command::Spend { key: "state:s".into(), until: 1_000 });
        book.run(&release("state:s", "h0"));
        assert!(!book.run(&claim("state:s", 10, 110)).ok);
        assert!(!book.run(&claim("state:s", 999, 1_100)).ok);
    }

    #[test]
    fn swap_compares_the_live_value() {
        let mut book = book();
        let swap = |expected: Option<&str>, value: Option<&str>| Command::Swap {
            key: "link:l".into(),
            now: 5,
            expected: expected.map(Into::into),
            or_deleted: false,
            value: value.map(Into::into),
            until: 0,
        };
        assert!(book.run(&swap(None, Some("one"))).ok);
        assert!(!book.run(&swap(None, Some("two"))).ok, "not absent any more");
        assert!(!book.run(&swap(Some("zero"), Some("two"))).ok);
        assert!(book.run(&swap(Some("one"), Some("two"))).ok);
        assert_eq!(book.run(&Command::Read { key: "link:l".into(), now: 6 }).value.as_deref(), Some("two"));
        assert!(book.run(&swap(Some("two"), None)).ok, "a tombstone");
        let read = book.run(&Command::Read { key: "link:l".into(), now: 6 });
        assert!(read.known && read.value.is_none());
        assert!(!book.run(&swap(None, Some("three"))).ok, "a tombstone is not absent: nothing comes back");
        assert!(!book.run(&swap(Some(""), Some("three"))).ok);
        let unless_live = Command::Swap {
            key: "link:l".into(),
            now: 5,
            expected: None,
            or_deleted: true,
            value: Some("three".into()),
            until: 0,
        };
        assert!(book.run(&unless_live).ok, "or_deleted: a tombstone is no link");
        assert!(!book.run(&unless_live).ok, "but a live link is");
    }

    #[test]
    fn sessions_slide_under_their_cap_and_end() {
        let mut book = book();
        let key = "session:u#s1";
        book.run(&Command::Put { key: key.into(), value: Some("1000".into()), until: 100 });
        let touch = |now| Command::Touch { key: key.into(), now, idle_ms: 100 };
        assert!(book.run(&touch(50)).ok);
        assert_eq!(book.table.rows[key].until, 150, "slid");
        assert!(book.run(&touch(149)).ok);
        assert!(book.run(&touch(240)).ok);
        assert!(book.run(&touch(330)).ok);
        assert!(!book.run(&touch(431)).ok, "idle past its window");
        book.run(&Command::Put { key: key.into(), value: Some("1000".into()), until: 990 });
        assert!(book.run(&touch(950)).ok);
        assert_eq!(book.table.rows[key].until, 1000, "never past the cap");
        assert!(!book.run(&touch(1000)).ok);
        book.run(&Command::Put { key: "session:u#s2".into(), value: Some("9000".into()), until: 5000 });
        book.run(&Command::Put { key: "session:v#s3".into(), value: Some("9000".into()), until: 5000 });
        book.run(&Command::DeletePrefix { prefix: "session:u#".into() });
        assert!(!book.run(&Command::Touch { key: "session:u#s2".into(), now: 10, idle_ms: 1 }).ok);
        assert!(book.run(&Command::Touch { key: "session:v#s3".into(), now: 10, idle_ms: 1 }).ok);
    }

    #[test]
    fn purge_and_latest_until() {
        let mut table = MemoryTable::default();
        table.put("a", &Row { value: None, until: 10 });
        table.put("b", &Row { value: Some("x".into()), until: 0 });
        table.put("c", &Row { value: Some("y".into()), until: 30 });
        assert_eq!(table.latest_until(), Some(30));
        table.purge(10);
        assert_eq!(table.rows.keys().cloned().collect::<Vec<_>>(), vec!["b", "c"]);
    }

    #[test]
    fn commands_travel_as_json_and_name_their_object() {
        let command = Command::Swap {
            key: "link:abc#refresh".into(),
            now: 1,
            expected: None,
            or_deleted: false,
            value: Some("v".into()),
            until: 2,
        };
        let text = serde_json::to_string(&command).unwrap();
        assert_eq!(
            text,
            r#"{"op":"swap","key":"link:abc#refresh","now":1,"expected":null,"orDeleted":false,"value":"v","until":2}"#
        );
        assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), command);
        assert_eq!(object_name(command.key()), "link:a");
        assert_eq!(object_name("link:abc"), "link:a", "a link and its refresh claim share an object");
        assert_eq!(object_name("journey:x"), "journey:x");
        assert_eq!(object_name("sessions:Zq9#session:Ab"), "sessions:Z");
        assert_eq!(
            object_name("sessions:Zq9#"),
            "sessions:Z",
            "a user's prefix names their sessions' object"
        );
        assert_eq!(object_name("nocolon#x"), "nocolon");
        assert_eq!(object_name("state:"), "state:");
        let every = [
            Command::Claim { key: "k".into(), holder: "h".into(), now: 1, until: 2 },
            Command::Release { key: "k".into(), holder: "h".into() },
            Command::Spend { key: "k".into(), until: 2 },
            Command::Read { key: "k".into(), now: 1 },
            Command::Put { key: "k".into(), value: None, until: 0 },
            Command::Put { key: "k".into(), value: Some("v".into()), until: 3 },
            Command::Swap {
                key: "k".into(),
                now: 1,
                expected: Some("a".into()),
                or_deleted: true,
                value: None,
                until: 0,
            },
            Command::Touch { key: "k".into(), now: 1, idle_ms: 5 },
            Command::Delete { key: "k".into() },
            Command::DeletePrefix { prefix: "p#".into() },
        ];
        for command in every {
            let text = serde_json::to_string(&command).unwrap();
            assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), command, "{text}");
        }
        for bad in [
            r#"{"op":"claim","key":"k","now":1,"until":2}"#,
            r#"{"op":"launch","key":"k"}"#,
            r#"{"key":"k"}"#,
            r#"{"op":"read","key":"k","now":"1"}"#,
            r#"[]"#,
        ] {
            assert!(serde_json::from_str::<Command>(bad).is_err(), "{bad}");
        }
        let answer: Answer = serde_json::from_str(r#"{"ok":true}"#).unwrap();
        assert!(answer.ok && !answer.known && answer.value.is_none());
    }
}
