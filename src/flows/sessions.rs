//! Edge sessions of "Continue with Configure". The signed session cookie
//! carries the session's id; with the ledger the session is also recorded
//! server side (one row per session in the user's object,
//! `records::session_key`), so that:
//! - `POST /auth/configure/logout` ends it at once;
//! - `DELETE /v1/links/configure%3A<sub>` ends every session of the user;
//! - it slides with activity: each use keeps it alive for
//!   `CONFIGURE_EDGE_SESSION_IDLE_SECONDS` more, never past the absolute cap
//!   of `CONFIGURE_EDGE_SESSION_TTL_SECONDS` from sign-in (also the
//!   cookie's own expiry).
//!
//! Without the ledger the signed cookie alone decides, until its expiry:
//! it cannot be revoked (`/healthz` lists the problem).

use crate::error::EdgeError;
use crate::sealing::session::{EdgeSession, SessionKeys};
use crate::settings::config::Config;
use crate::storage::ledger::Ledger;
use crate::storage::records::session_key;

/// Records a new session (with the ledger): live for the idle window,
/// capped at the cookie's expiry.
pub async fn open_session(
    ledger: Option<Ledger<'_>>,
    session: &EdgeSession,
    config: &Config,
    now_ms: u64,
) -> Result<(), EdgeError> {
    let (Some(ledger), Some(sid)) = (ledger, session.sid.as_deref()) else {
        return Ok(());
    };
    let cap_ms = session.exp * 1000;
    let until = (now_ms + config.session_idle_seconds * 1000).min(cap_ms);
    ledger.put(&session_key(&session.user.id, sid), Some(&cap_ms.to_string()), until).await?;
    Ok(())
}

/// The session of a cookie if it verifies and, with the ledger, is still
/// recorded and live (which slides it). A cookie without a session id
/// (signed before sessions were recorded) cannot be revoked, so with the
/// ledger it is refused: its user signs in again.
pub async fn live_session(
    ledger: Option<Ledger<'_>>,
    keys: &SessionKeys,
    cookie: &str,
    config: &Config,
    now_ms: u64,
) -> Result<Option<EdgeSession>, EdgeError> {
    let Some(session) = keys.verify(cookie, now_ms / 1000) else {
        return Ok(None);
    };
    let Some(ledger) = ledger else {
        return Ok(Some(session));
    };
    let Some(sid) = session.sid.as_deref() else {
        return Ok(None);
    };
    let idle_ms = config.session_idle_seconds * 1000;
    let live = ledger.touch(&session_key(&session.user.id, sid), now_ms, idle_ms).await?;
    Ok(live.then_some(session))
}

/// Ends the session of a cookie (with the ledger; a cookie that does not
/// verify has nothing to end).
pub async fn end_session(
    ledger: Option<Ledger<'_>>,
    keys: &SessionKeys,
    cookie: &str,
    now_ms: u64,
) -> Result<(), EdgeError> {
    let (Some(ledger), Some(session)) = (ledger, keys.verify(cookie, now_ms / 1000)) else {
        return Ok(());
    };
    if let Some(sid) = session.sid.as_deref() {
        ledger.delete(&session_key(&session.user.id, sid)).await?;
    }
    Ok(())
}
