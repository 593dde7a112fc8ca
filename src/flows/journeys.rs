//! `POST /v1/journeys`: a message sign-in for a subject. Keeps an
//! unguessable journey id in KV with a TTL and answers the hosted URL with
//! delivery "message", the journey, and this Worker's completion webhook.
//!
//! A journey is bound to the conversation that asked for it (complete.rs):
//! to its phone (`phoneCandidates`, recognized by Configure as the token's
//! user), else to a confirmation word that the hosted page's text-back sends
//! from the user's own thread; `binding: "none"` is the agent's explicit,
//! forwardable exception.
//!
//! With `messageSenderProof` the journey first asks Configure for a minted,
//! sender-bound URL (`createMessageSignInUrl`): when Configure verifies the
//! proof, its URL is the one handed out and the journey is bound to the
//! sender (`binding: "sender"`, no confirmation word); otherwise the answer
//! is the plain URL with the requested binding, plus `mode: "plain"` and
//! Configure's `fallbackReason`.

use crate::api::{
    ConfigureApi, MessageSignInReason, MessageSubject, MessageThread, MessageUrl, MessageUrlRequest,
};
use crate::clock::{iso8601, parse_rfc3339};
use crate::error::EdgeError;
use crate::http::body::{optional_string, optional_string_list, MAX_SUBJECT_LEN};
use crate::log::Log;
use crate::sdk::configure_error::{ConfigureError, ErrorCode};
use crate::sdk::phone::{self, normalize_candidates};
use crate::sdk::sign_in_url::{sign_in_url, SignInUrlOptions};
use crate::sdk::strict_url::StrictUrl;
use crate::sealing::seal::{Keyring, OpenError};
use crate::settings::Secret;
use crate::storage::records::{journey_key, Binding, JourneyRecord, RECORD_VERSION};
use crate::storage::store::Store;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::storage::repository::live_record;

/// Where the hosted page posts the completion, under this Worker's origin.
pub const COMPLETE_PATH: &str = "/auth/configure/complete";

/// The text-back a confirmation word follows when the agent gives none.
pub const DEFAULT_MESSAGE_BODY: &str = "done";

/// The body of `POST /v1/journeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyRequest {
    pub subject: String,
    pub connectors: Vec<String>,
    pub display_name: Option<String>,
    pub message_line_phone: Option<String>,
    pub message_body: Option<String>,
    pub theme: Option<String>,
    /// The sender's phone-like ids, normalized as the SDK does.
    pub phone_candidates: Vec<String>,
    /// The binding asked for (and the plain fallback's, when minting).
    pub binding: Binding,
    /// A minted URL asked for: `messageSenderProof` was given.
    pub mint: Option<MintRequest>,
}

/// What a minted, sender-bound URL needs besides the journey's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintRequest {
    /// The messaging provider's signed evidence of the sender.
    pub proof: Secret,
    pub channel: String,
    pub reason: MessageSignInReason,
    pub sender_id: Option<String>,
    /// Defaults to `edge:<subject>`, as identity resolution's does.
    pub external_id: Option<String>,
    pub thread: Option<MessageThread>,
}

impl MintRequest {
    /// `None` without `messageSenderProof`; `channel` is then not needed,
    /// but `reason` and `thread` are still checked when given.
    fn from_json(body: &Map<String, Value>) -> Result<Option<MintRequest>, EdgeError> {
        let reason = match optional_string(body, "reason", 32)? {
            None => MessageSignInReason::Signin,
            Some(text) => MessageSignInReason::parse(&text)
                .ok_or_else(|| EdgeError::bad_request("reason", MessageSignInReason::EXPECTED))?,
        };
        let channel = optional_string(body, "channel", 64)?;
        let sender_id = optional_string(body, "senderId", 256)?;
        let external_id = optional_string(body, "externalId", MAX_SUBJECT_LEN + 16)?;
        let thread = match body.get("thread") {
            None | Some(Value::Null) => None,
            Some(Value::Object(thread)) => {
                let part = |name: &str| {
                    optional_string(thread, name, 256).map_err(|_| {
                        EdgeError::bad_request(
                            "thread",
                            format!("thread.{name} must be a string of at most 256 bytes"),
                        )
                    })
                };
                Some(MessageThread {
                    key: part("key")?,
                    space_id: part("spaceId")?,
                    message_id: part("messageId")?,
                })
            }
            Some(_) => return Err(EdgeError::bad_request("thread", "thread must be an object")),
        };
        let Some(proof) = optional_string(body, "messageSenderProof", 8192)? else {
            return Ok(None);
        };
        let channel = channel.ok_or_else(|| {
            EdgeError::bad_request(
                "channel",
                "channel is required with messageSenderProof (e.g. \"imessage\")",
            )
        })?;
        Ok(Some(MintRequest { proof: Secret::new(proof), channel, reason, sender_id, external_id, thread }))
    }
}

impl JourneyRequest {
    pub fn from_json(body: &Map<String, Value>) -> Result<JourneyRequest, EdgeError> {
        let subject = super::agent_subject(body)?;
        let connectors = optional_string_list(body, "connectors", 16, 64)?;
        let display_name = optional_string(body, "displayName", 200)?;
        let message_line_phone = optional_string(body, "messageLinePhone", 64)?
            .map(|p| {
                phone::validate_phone(&p).map_err(|e| EdgeError::bad_request("messageLinePhone", e.message))
            })
            .transpose()?;
        let message_body = optional_string(body, "messageBody", 500)?;
        let theme = optional_string(body, "theme", 16)?;
        if let Some(theme) = &theme {
            if theme != "light" && theme != "dark" {
                return Err(EdgeError::bad_request("theme", "theme must be \"light\" or \"dark\""));
            }
        }
        let phone_candidates = normalize_candidates(&optional_string_list(body, "phoneCandidates", 16, 64)?);
        let binding = match optional_string(body, "binding", 16)? {
            None if phone_candidates.is_empty() => Binding::Confirmation,
            None => Binding::Phone,
            Some(text) => Binding::parse_requested(&text).ok_or_else(|| {
                EdgeError::bad_request("binding", "binding must be \"phone\", \"confirmation\" or \"none\"")
            })?,
        };
        if binding == Binding::Phone && phone_candidates.is_empty() {
            return Err(EdgeError::bad_request(
                "phoneCandidates",
                "phoneCandidates is required for binding \"phone\"",
            ));
        }
        Ok(JourneyRequest {
            subject,
            connectors,
            display_name,
            message_line_phone,
            message_body,
            theme,
            phone_candidates,
            binding,
            mint: MintRequest::from_json(body)?,
        })
    }
}

/// The answer of `POST /v1/journeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyCreated {
    pub journey_id: String,
    pub url: String,
    /// RFC 3339.
    pub expires_at: String,
    pub binding: Binding,
    /// The word the conversation sends back (`phone` and `confirmation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    /// With `messageSenderProof`: "minted" or "plain".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    /// A minted URL's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why Configure answered the plain URL instead of a minted one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// The associated data of a journey's sealed subject: its key and binding
/// (journeys of before bindings: the key alone), so the binding cannot be
/// changed in KV.
pub fn subject_context(key: &str, binding: Option<Binding>) -> String {
    match binding {
        Some(binding) => format!("{key}#{}", binding.as_str()),
        None => key.to_owned(),
    }
}

fn candidates_context(key: &str) -> String {
    format!("{key}#candidates")
}

fn confirmation_context(key: &str) -> String {
    format!("{key}#confirmation")
}

/// Creates the journey: the record is written before the URL is handed out,
/// so a user who follows the link always finds it. A minted URL is asked
/// for first, so the record carries the binding it earned.
pub async fn create_journey<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    request: &JourneyRequest,
    worker_origin: &str,
) -> Result<JourneyCreated, EdgeError> {
    // Every setting the journey needs is checked before Configure is asked.
    let (store, keyring) = (flow.store()?, flow.keyring()?);
    flow.agent()?;
    let (config, now_ms) = (flow.config, flow.now_ms);
    let journey_id = super::random_id()?;
    let key = journey_key(&journey_id);
    let complete_url = format!("{worker_origin}{COMPLETE_PATH}");
    let message_line_phone = request.message_line_phone.clone().or_else(|| config.message_line_phone.clone());
    let mut expires_at = now_ms + config.journey_ttl_seconds * 1000;

    let minted = match &request.mint {
        None => None,
        Some(mint) => {
            let ask = mint_request(request, mint, &journey_id, &complete_url, message_line_phone.clone());
            Some(ask_to_mint(flow, &ask).await?)
        }
    };

    let (binding, url, confirmation, mode, code, fallback_reason) = match minted {
        Some(MessageUrl::Minted { url, code, expires_at: code_expires_at, .. }) => {
            // The journey ends with the minted code, if that is sooner.
            if let Some(code_expiry) = parse_rfc3339(&code_expires_at) {
                expires_at = expires_at.min(code_expiry);
            }
            (Binding::Sender, url, None, Some("minted"), Some(code), None)
        }
        plain => {
            let binding = request.binding;
            let confirmation = match binding {
                Binding::None | Binding::Sender => None,
                Binding::Phone | Binding::Confirmation => Some(super::random_digits()?),
            };
            let url =
                plain_url(flow, request, &journey_id, &complete_url, message_line_phone, &confirmation)?;
            let fallback_reason = match plain {
                Some(MessageUrl::Plain { fallback_reason, .. }) => Some(fallback_reason),
                _ => None,
            };
            let mode = fallback_reason.as_ref().map(|_| "plain");
            (binding, url, confirmation, mode, None, fallback_reason)
        }
    };
    // The phones a completion is checked against: the conversation's for
    // `phone`; for `sender`, the sender's own phone (a `senderId` that is
    // one, else the conversation's), so that a forwarded minted URL, whose
    // hosted page shows the journey, cannot be completed by someone else.
    let candidates = match binding {
        Binding::Phone => request.phone_candidates.clone(),
        Binding::Sender => sender_phones(request),
        Binding::Confirmation | Binding::None => Vec::new(),
    };
    let sealed_candidates = match candidates.is_empty() {
        true => None,
        false => {
            Some(keyring.seal(serde_json::to_string(&candidates)?.as_bytes(), &candidates_context(&key))?)
        }
    };
    let record = JourneyRecord {
        v: RECORD_VERSION,
        sealed_subject: keyring.seal(request.subject.as_bytes(), &subject_context(&key, Some(binding)))?,
        binding: Some(binding),
        sealed_candidates,
        sealed_confirmation: confirmation
            .as_deref()
            .map(|word| keyring.seal(word.as_bytes(), &confirmation_context(&key)))
            .transpose()?,
        created_at: now_ms,
        expires_at,
    };
    // KV keeps an item at least 60 s; the record's own expiry decides.
    let ttl = expires_at.saturating_sub(now_ms).div_ceil(1000).max(KV_MIN_TTL_SECONDS);
    store.put(&key, &serde_json::to_string(&record)?, Some(ttl)).await?;
    Ok(JourneyCreated {
        journey_id,
        url,
        expires_at: iso8601(expires_at),
        binding,
        confirmation,
        mode,
        code,
        fallback_reason,
    })
}

/// `createMessageSignInUrl`'s request for this journey: its own fields, the
/// sender's, and the journey and webhook the hosted page reports back to.
fn mint_request(
    request: &JourneyRequest,
    mint: &MintRequest,
    journey_id: &str,
    complete_url: &str,
    message_line_phone: Option<String>,
) -> MessageUrlRequest {
    MessageUrlRequest {
        reason: mint.reason,
        channel: mint.channel.clone(),
        subject: MessageSubject {
            key: request.subject.clone(),
            external_id: mint.external_id.clone().unwrap_or_else(|| format!("edge:{}", request.subject)),
            sender_id: mint.sender_id.clone(),
        },
        thread: mint.thread.clone(),
        message_sender_proof: Some(mint.proof.clone()),
        connectors: request.connectors.clone(),
        display_name: request.display_name.clone(),
        theme: request.theme.clone(),
        message_line_phone,
        message_body: request.message_body.clone(),
        message_complete_url: Some(complete_url.to_owned()),
        journey_id: Some(journey_id.to_owned()),
        return_mode: "message",
    }
}

/// Asks Configure to mint. Configure refusing the request itself (the
/// channel, the subject) is the agent's to fix (400, in our words: Configure's
/// could echo the proof); anything else is upstream (502), and so is a minted
/// answer the Worker may not hand out (`checked_minted`).
async fn ask_to_mint<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    ask: &MessageUrlRequest,
) -> Result<MessageUrl, EdgeError> {
    let answer = flow.api()?.create_message_url(ask).await.map_err(|error| {
        if error.refuses_input() {
            EdgeError::malformed(
                "Configure refused the message sign-in URL request (check channel, reason, senderId, thread \
                 and the proof)",
            )
        } else {
            EdgeError::Upstream { step: "message sign-in URL", error }
        }
    })?;
    checked_minted(answer, flow.now_ms)
}

/// The sender's phones for a `sender` journey: its `senderId` when that is
/// a phone number, else the conversation's phone candidates (none: the
/// completion is taken on Configure's sender binding alone).
fn sender_phones(request: &JourneyRequest) -> Vec<String> {
    let sender = request.mint.as_ref().and_then(|mint| mint.sender_id.as_deref());
    match sender.and_then(|id| phone::validate_phone(id).ok()) {
        Some(phone) => vec![phone],
        None => request.phone_candidates.clone(),
    }
}

/// A minted answer the Worker can hand out: an https URL (http only on
/// loopback) that passes the strict URL rules, its code not expired.
/// Anything else is Configure's failure (502), never a link sent to users.
/// (Its origin is Configure's to choose: the stand-in mints on its own.)
fn checked_minted(answer: MessageUrl, now_ms: u64) -> Result<MessageUrl, EdgeError> {
    let MessageUrl::Minted { url, expires_at, .. } = &answer else {
        return Ok(answer);
    };
    let refuse = |why: &str| EdgeError::Upstream {
        step: "message sign-in URL",
        error: ConfigureError::new(ErrorCode::ServerError, why),
    };
    if !StrictUrl::parse(url).is_ok_and(|parsed| parsed.is_secure_or_loopback()) {
        return Err(refuse("Configure answered a minted URL that is not an https URL"));
    }
    if parse_rfc3339(expires_at).is_some_and(|expiry| expiry <= now_ms) {
        return Err(refuse("Configure answered a minted URL that has already expired"));
    }
    Ok(answer)
}

/// KV's TTL floor, in seconds.
const KV_MIN_TTL_SECONDS: u64 = 60;

/// The hosted URL this Worker builds (the SDK's `signInUrl`): delivery
/// "message", the journey and its completion webhook, and the
/// confirmation word riding in the text-back the hosted page sends from the
/// user's own thread ("done" becomes "done 482913").
fn plain_url<S: Store, A: ConfigureApi>(
    flow: &super::Flow<'_, S, A>,
    request: &JourneyRequest,
    journey_id: &str,
    complete_url: &str,
    message_line_phone: Option<String>,
    confirmation: &Option<String>,
) -> Result<String, EdgeError> {
    let (agent, config) = (flow.agent()?, flow.config);
    let message_body = match confirmation {
        Some(word) => {
            Some(format!("{} {word}", request.message_body.as_deref().unwrap_or(DEFAULT_MESSAGE_BODY)))
        }
        None => request.message_body.clone(),
    };
    let options = SignInUrlOptions {
        sign_in_origin: config.sign_in_origins.first().cloned(),
        publishable_key: config.publishable_key.clone(),
        delivery: Some("message".to_owned()),
        journey_id: Some(journey_id.to_owned()),
        display_name: request.display_name.clone(),
        message_line_phone,
        message_body,
        message_complete_url: Some(complete_url.to_owned()),
        connectors: request.connectors.clone(),
        theme: request.theme.clone(),
        ..SignInUrlOptions::default()
    };
    sign_in_url(agent, &options).map_err(|e| EdgeError::Internal { detail: e.to_string() })
}

/// A live journey, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenJourney {
    pub key: String,
    pub subject: String,
    pub binding: Binding,
    pub phone_candidates: Vec<String>,
    pub confirmation: Option<String>,
    pub expires_at: u64,
}

/// The journey at `key` if it is live at `now_ms` and opens; anything else
/// (unknown, expired, unreadable, tampered with) is `None`, logged.
pub async fn live_journey<S: Store>(
    store: &S,
    keyring: &Keyring,
    key: &str,
    now_ms: u64,
    log: &dyn Log,
) -> Result<Option<OpenJourney>, EdgeError> {
    let Some(record) = live_record::<JourneyRecord, S>(store, key, now_ms, log).await? else {
        return Ok(None);
    };
    let opened = (|| {
        let subject = keyring.open_text(&record.sealed_subject, &subject_context(key, record.binding))?;
        let phone_candidates = match &record.sealed_candidates {
            None => Vec::new(),
            Some(sealed) => {
                let bytes = keyring.open(sealed, &candidates_context(key))?;
                let list: Value = serde_json::from_slice(&bytes).map_err(|_| OpenError::Malformed)?;
                let items = list.as_array().ok_or(OpenError::Malformed)?;
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned).ok_or(OpenError::Malformed))
                    .collect::<Result<Vec<String>, OpenError>>()?
            }
        };
        let confirmation = record
            .sealed_confirmation
            .as_deref()
            .map(|s| keyring.open_text(s, &confirmation_context(key)))
            .transpose()?;
        Ok::<_, OpenError>((subject, phone_candidates, confirmation))
    })();
    match opened {
        Ok((subject, phone_candidates, confirmation)) => Ok(Some(OpenJourney {
            key: key.to_owned(),
            subject,
            binding: record.binding.unwrap_or(Binding::None),
            phone_candidates,
            confirmation,
            expires_at: record.expires_at,
        })),
        Err(error) => {
            log.warn(&format!("journey record at {key} does not open ({error:?})"));
            Ok(None)
        }
    }
}
