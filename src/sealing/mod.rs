//! Sealing and sessions: AES-GCM under a keyring of named keys, hashing and
//! HMAC, and the signed edge session.

pub mod crypto;
pub mod seal;
pub mod session;
