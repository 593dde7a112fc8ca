//! Where the core's warnings go: the Worker's console in production, a
//! list in tests. Messages name kinds and hashed keys, never secrets,
//! tokens or subjects.

pub trait Log {
    fn warn(&self, message: &str);
}
