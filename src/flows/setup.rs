//! `POST /v1/setup`: registers this Worker's callbacks with Configure now
//! (the return-code callback, and the OAuth client's redirect URI when
//! "Continue with Configure" is set up), and the agent's message line
//! (`CONFIGURE_EDGE_MESSAGE_LINE_PHONE`) when it is set, and reports what was
//! registered and what failed.

use super::oauth::{self, RedirectRegistration};
use super::web;
use super::Flow;
use crate::api::{ConfigureApi, MessageLine};
use crate::error::EdgeError;
use crate::storage::store::Store;
use serde::Serialize;

/// One registration, as the answer lists it.
#[derive(Debug, Serialize)]
pub struct Registration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The message line's phone (kind `message_line`), in place of a URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `registered` or `already-registered` (the OAuth redirect and the
    /// message line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `{failed, ok, registered}`: `ok` when nothing failed.
#[derive(Debug, Serialize)]
pub struct SetupReport {
    pub failed: Vec<Registration>,
    pub ok: bool,
    pub registered: Vec<Registration>,
}

fn registered(kind: &'static str, url: String, status: Option<&'static str>) -> Registration {
    Registration { kind, url: Some(url), phone: None, status, code: None, message: None }
}

fn failed(kind: &'static str, url: String, code: String, message: String) -> Registration {
    Registration { kind, url: Some(url), phone: None, status: None, code: Some(code), message: Some(message) }
}

pub async fn setup<S: Store, A: ConfigureApi>(flow: &Flow<'_, S, A>) -> Result<SetupReport, EdgeError> {
    // Only PUBLIC_URL is ever registered: a request that reached this
    // Worker under another hostname (workers.dev, a preview) cannot
    // register a redirect URI there.
    let worker_origin = flow.public_url()?;
    let store = flow.store()?;
    let api = flow.api()?;
    let config = flow.config;
    let callback = format!("{worker_origin}{}", web::CALLBACK_PATH);
    let (mut done, mut refused) = (Vec::new(), Vec::new());
    match web::ensure_return_to(store, api, &callback, true, flow.now_ms).await {
        Ok(_) => done.push(registered("return_to", callback, None)),
        Err(error) => refused.push(failed("return_to", callback, error.code(), error.message())),
    }
    // "Continue with Configure": the OAuth client's redirect URI (nothing
    // to register without an OAuth client).
    if let (Ok(client_id), Ok(api_key)) = (&config.oauth_client_id, &config.api_key) {
        let redirect_uri = format!("{worker_origin}{}", oauth::OAUTH_CALLBACK_PATH);
        let outcome =
            oauth::ensure_oauth_redirect(store, api, api_key, client_id, &redirect_uri, true, flow.now_ms)
                .await;
        match outcome {
            Ok(outcome) => {
                let status = if outcome == RedirectRegistration::AlreadyRegistered {
                    "already-registered"
                } else {
                    "registered"
                };
                done.push(registered("oauth_redirect", redirect_uri, Some(status)));
            }
            Err(error) => refused.push(failed("oauth_redirect", redirect_uri, error.code(), error.message())),
        }
    }
    // The agent's message line, checked first: Configure lists lines by
    // their last four digits only (it keeps a hash), so an active line
    // ending in the same four digits counts as this one.
    if let Some(phone) = &config.message_line_phone {
        let line = Registration {
            kind: "message_line",
            phone: Some(phone.clone()),
            url: None,
            status: None,
            code: None,
            message: None,
        };
        match ensure_message_line(api, phone).await {
            Ok(status) => done.push(Registration { status: Some(status), ..line }),
            Err(error) => refused.push(Registration {
                code: Some(error.code.as_str().to_owned()),
                message: Some(error.message),
                ..line
            }),
        }
    }
    Ok(SetupReport { ok: refused.is_empty(), failed: refused, registered: done })
}

/// The channel Configure gives a line registered without one (the SDK:
/// "Defaults server-side to imessage"), as the Worker registers it.
const DEFAULT_LINE_CHANNEL: &str = "imessage";

/// `listMessageLines`, then `registerMessageLine` when no active line of the
/// default channel ends in the phone's last four digits.
async fn ensure_message_line<A: ConfigureApi>(
    api: &A,
    phone: &str,
) -> Result<&'static str, crate::sdk::configure_error::ConfigureError> {
    let last4 = &phone[phone.len().saturating_sub(4)..];
    let known = |line: &MessageLine| {
        line.status == "active" && line.channel == DEFAULT_LINE_CHANNEL && line.phone_last4 == last4
    };
    if api.list_message_lines().await?.iter().any(known) {
        return Ok("already-registered");
    }
    api.register_message_line(phone).await?;
    Ok("registered")
}
