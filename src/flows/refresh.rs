//! OAuth links kept fresh. A "Continue with Configure" link holds an
//! access token that expires and a refresh token that rotates (each is
//! good for one refresh). When such a link is read (`GET /v1/links`,
//! identity resolution) within `REFRESH_MARGIN_MS` of its `expiresAt`, or
//! past it, it is refreshed first and the answer carries the new token.
//!
//! One refresh per link at a time: the refresh is claimed in the ledger
//! (the link's object, `<link key>#refresh`), so of concurrent readers one
//! asks Configure and the others wait for its write and answer with the
//! same new token; spending a rotated refresh token twice would make
//! Configure refuse the second and lose the link. The new tokens replace
//! the link only if it is still the one read (compare-and-swap), so a
//! refresh never undoes a new sign-in. A refused refresh (`invalid_grant`)
//! marks the link `reconnectRequired`. Without the ledger the refresh runs
//! in each reader (best effort: concurrent readers can race).

use super::Flow;
use crate::api::{is_invalid_grant, ConfigureApi, OAuthClient, TokenRefresh};
use crate::clock::{iso8601, parse_iso8601};
use crate::error::EdgeError;
use crate::settings::config::require;
use crate::storage::links::{Link, Links, ReadLink};
use crate::storage::records::{link_key, LinkSource};
use crate::storage::single_use::{claim_lease_ms, Claim};
use crate::storage::store::Store;

/// How close to its expiry an access token is refreshed.
pub const REFRESH_MARGIN_MS: u64 = 60_000;
/// How often the new tokens' write is tried: Configure has rotated the
/// refresh token by then, so losing the write would lose the link.
const WRITE_ATTEMPTS: u32 = 3;
/// How long a reader waits for another's refresh before answering 503.
const WAIT_LIMIT_MS: u64 = 10_000;
/// Its first pause; each next one doubles, up to `WAIT_STEP_MAX_MS` (every
/// look is a round trip to the link's object, and a Worker's subrequests
/// are counted).
const WAIT_STEP_MS: u64 = 50;
const WAIT_STEP_MAX_MS: u64 = 1_000;

/// The subject's link, refreshed first if it is an OAuth link about to
/// expire.
pub async fn current_link<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    subject: &str,
) -> Result<Option<Link>, EdgeError> {
    let links = flow.links()?;
    let Some(read) = links.read_with_text(subject).await? else {
        return Ok(None);
    };
    if !needs_refresh(&read.link, flow.now_ms) {
        return Ok(Some(read.link));
    }
    let Some(ledger) = flow.ledger else {
        return refresh(flow, &links, &read, flow.now_ms).await;
    };
    let key = format!("{}#refresh", link_key(subject));
    let lease_ms = claim_lease_ms(flow.config.api_timeout_ms);
    let (mut waited, mut step) = (0, WAIT_STEP_MS);
    loop {
        let now = flow.now_ms + waited;
        if let Some(claim) = Claim::take(Some(ledger), &key, now, lease_ms).await? {
            // Read again under the claim: another reader may have
            // refreshed it between the first read and this claim.
            let outcome = match links.read_with_text(subject).await {
                Ok(Some(fresh)) if needs_refresh(&fresh.link, now) => {
                    refresh(flow, &links, &fresh, now).await
                }
                Ok(fresh) => Ok(fresh.map(|fresh| fresh.link)),
                Err(error) => Err(error),
            };
            // Released whatever happened: the link itself says whether it
            // was refreshed.
            claim.release(flow.log).await;
            return outcome;
        }
        if waited >= WAIT_LIMIT_MS {
            return Err(EdgeError::StoreUnavailable {
                detail: format!("a refresh of {key} is still in flight after {WAIT_LIMIT_MS} ms"),
            });
        }
        ledger.pause(step).await;
        waited += step;
        step = (step * 2).min(WAIT_STEP_MAX_MS);
        // Done when the link no longer needs a refresh (refreshed, marked
        // for a new sign-in, replaced or deleted); a re-seal alone changes
        // the stored text but not the token.
        match links.read_with_text(subject).await? {
            Some(now_read) if !needs_refresh(&now_read.link, flow.now_ms + waited) => {
                return Ok(Some(now_read.link))
            }
            None => return Ok(None),
            Some(_) => {}
        }
    }
}

/// An OAuth link with a refresh token whose access token expires within
/// the margin (or has expired), not already marked for a new sign-in.
fn needs_refresh(link: &Link, now_ms: u64) -> bool {
    link.source == LinkSource::OAuth
        && !link.reconnect_required
        && link.refresh_token.is_some()
        && link
            .expires_at
            .as_deref()
            .and_then(parse_iso8601)
            .is_some_and(|expires| now_ms.saturating_add(REFRESH_MARGIN_MS) >= expires)
}

/// Refreshes the link read as `read` with Configure and writes the result
/// in its place: the new tokens, or `reconnectRequired` on `invalid_grant`.
/// If the link changed meanwhile, the changed link is the answer.
async fn refresh<S: Store, A: ConfigureApi>(
    flow: &Flow<'_, S, A>,
    links: &Links<'_, S>,
    read: &ReadLink,
    now_ms: u64,
) -> Result<Option<Link>, EdgeError> {
    let (api, config, agent) = (flow.api()?, flow.config, flow.agent()?.as_str());
    let client = OAuthClient {
        client_id: require(&config.oauth_client_id)?,
        client_secret: require(&config.oauth_client_secret)?,
    };
    let old = &read.link;
    let grant = TokenRefresh {
        refresh_token: old.refresh_token.as_deref().unwrap_or_default(),
        resource: &config.oauth_resource,
    };
    let refreshed = match api.oauth_refresh(client, grant).await {
        Ok(tokens) => Link {
            token: tokens.access_token,
            // A server that does not rotate keeps the old refresh token.
            refresh_token: tokens.refresh_token.or_else(|| old.refresh_token.clone()),
            expires_at: tokens.expires_in.map(|seconds| iso8601(now_ms + seconds.saturating_mul(1000))),
            ..old.clone()
        },
        Err(error) if is_invalid_grant(&error) => {
            flow.log.warn(&format!(
                "Configure refused the refresh of the link of {} (invalid_grant): reconnect required",
                link_key(&old.subject)
            ));
            Link { reconnect_required: true, ..old.clone() }
        }
        Err(error) => return Err(EdgeError::Upstream { step: "token refresh", error }),
    };
    let mut attempt = 1;
    let written = loop {
        match links.replace(read, refreshed.as_new(agent), &old.linked_at).await {
            Err(error) if attempt < WRITE_ATTEMPTS => {
                flow.log.warn(&format!("refreshed link not written (attempt {attempt}): {error}"));
                attempt += 1;
            }
            outcome => break outcome?,
        }
    };
    if written {
        return Ok(Some(refreshed));
    }
    // Replaced or deleted meanwhile (a new sign-in, an unlink): that wins.
    links.read(&old.subject).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(expires_at: Option<u64>, refresh: bool) -> Link {
        Link {
            subject: "configure:u".into(),
            user_id: "u".into(),
            token: "t".into(),
            linked_at: iso8601(0),
            source: LinkSource::OAuth,
            refresh_token: refresh.then(|| "r".into()),
            expires_at: expires_at.map(iso8601),
            reconnect_required: false,
        }
    }

    #[test]
    fn refreshed_within_a_minute_of_expiry_or_past_it() {
        let now = 1_000_000_000;
        assert!(!needs_refresh(&link(Some(now + 60_001), true), now));
        assert!(needs_refresh(&link(Some(now + 60_000), true), now));
        assert!(needs_refresh(&link(Some(now - 5_000), true), now));
        assert!(!needs_refresh(&link(None, true), now), "no expiry known");
        assert!(!needs_refresh(&link(Some(now), false), now), "nothing to refresh with");
        let marked = Link { reconnect_required: true, ..link(Some(now), true) };
        assert!(!needs_refresh(&marked, now));
        let agent_token = Link { source: LinkSource::Webhook, ..link(Some(now), true) };
        assert!(!needs_refresh(&agent_token, now));
    }
}
