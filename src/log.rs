//! Where the core's warnings go: the Worker's console in production, a
//! list in tests. Messages name kinds and hashed keys, never secrets,
//! tokens or subjects.

use std::cell::RefCell;

pub trait Log {
    fn warn(&self, message: &str);
}

/// Collects warnings, for tests.
#[derive(Debug, Default)]
pub struct MemoryLog(pub RefCell<Vec<String>>);

impl Log for MemoryLog {
    fn warn(&self, message: &str) {
        self.0.borrow_mut().push(message.to_owned());
    }
}
