//! The SDK's message sign-in methods: minted, sender-bound URLs
//! (`createMessageSignInUrl`) and the agent's message lines
//! (`registerMessageLine`, `listMessageLines`). Requests in the SDK's exact
//! shape (field order, absent fields left out), answers read as the SDK
//! reads them (camelCase or snake_case, the same failures).

use super::{either, string_value, ApiRequest, RequestBuilder};
use crate::sdk::configure_error::{ConfigureError, ErrorCode};
use crate::settings::Secret;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

pub const MESSAGE_URL_PATH: &str = "/v1/auth/sign-in/message-url";
pub const MESSAGE_LINES_PATH: &str = "/v1/auth/sign-in/message-lines";

/// Why the agent sends a message sign-in URL (the SDK's `MessageSignInReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageSignInReason {
    Signin,
    Reconnect,
    Permissions,
}

impl MessageSignInReason {
    /// The SDK's refusal of any other reason.
    pub const EXPECTED: &'static str = "reason must be one of: signin, reconnect, permissions";

    pub fn parse(text: &str) -> Option<MessageSignInReason> {
        match text {
            "signin" => Some(MessageSignInReason::Signin),
            "reconnect" => Some(MessageSignInReason::Reconnect),
            "permissions" => Some(MessageSignInReason::Permissions),
            _ => None,
        }
    }
}

/// Whom the URL is for: the agent's key for the conversation, its external
/// id, and the platform's sender id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSubject {
    pub key: String,
    pub external_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
}

/// The conversation the message came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageThread {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// `POST /v1/auth/sign-in/message-url`, its fields in the order the SDK
/// writes them (serde keeps declaration order), `returnMode` always
/// "message" as the SDK defaults it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageUrlRequest {
    pub reason: MessageSignInReason,
    pub channel: String,
    pub subject: MessageSubject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<MessageThread>,
    /// Replayable evidence of the sender: kept out of Debug like a secret.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_proof")]
    pub message_sender_proof: Option<Secret>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connectors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_line_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_complete_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journey_id: Option<String>,
    pub return_mode: &'static str,
}

fn expose_proof<S: Serializer>(proof: &Option<Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    proof.as_ref().map(Secret::expose).serialize(serializer)
}

/// `createMessageSignInUrl`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageUrl {
    /// Configure verified the sender's proof: a code-bearing URL only that
    /// sender can use.
    Minted { url: String, code: String, reason: MessageSignInReason, expires_at: String },
    /// No verified proof: the plain hosted URL, and why.
    Plain { url: String, reason: MessageSignInReason, fallback_reason: String },
}

/// The fallback reasons the SDK accepts.
pub const FALLBACK_REASONS: [&str; 3] =
    ["sender_proof_missing", "sender_proof_invalid", "sender_proof_unsupported"];

/// An agent-owned message line as Configure lists it (never the raw phone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLine {
    pub id: String,
    pub channel: String,
    pub phone_last4: String,
    pub label: Option<String>,
    /// "active" or "revoked".
    pub status: String,
}

impl RequestBuilder {
    pub fn message_url(&self, request: &MessageUrlRequest) -> ApiRequest {
        // Serialized straight from the struct, in the SDK's field order (a
        // struct of strings always serializes).
        self.post_text(MESSAGE_URL_PATH, serde_json::to_string(request).unwrap_or_default())
    }

    /// `registerMessageLine({phone})`: `phone` already E.164; no channel, so
    /// Configure's default (imessage).
    pub fn register_message_line(&self, phone: &str) -> ApiRequest {
        self.post(MESSAGE_LINES_PATH, serde_json::json!({ "phone": phone }))
    }

    /// `listMessageLines()`: a GET with the SDK's JSON headers and no body.
    pub fn list_message_lines(&self) -> ApiRequest {
        self.json_request("GET", MESSAGE_LINES_PATH, None)
    }
}

fn server_error(message: &str) -> ConfigureError {
    ConfigureError::new(ErrorCode::ServerError, message)
}

/// `mapMessageSignInUrlResult`.
pub fn parse_message_url(object: &Map<String, Value>) -> Result<MessageUrl, ConfigureError> {
    let url = string_value(object, "url")
        .ok_or_else(|| server_error("Message sign-in URL response was missing url"))?;
    let reason = string_value(object, "reason")
        .as_deref()
        .and_then(MessageSignInReason::parse)
        .ok_or_else(|| ConfigureError::invalid_input(MessageSignInReason::EXPECTED))?;
    match string_value(object, "mode").as_deref() {
        Some("minted") => match (string_value(object, "code"), either(object, "expiresAt", "expires_at")) {
            (Some(code), Some(expires_at)) => Ok(MessageUrl::Minted { url, code, reason, expires_at }),
            _ => Err(server_error("Minted message sign-in URL response was missing code or expiresAt")),
        },
        Some("plain") => {
            let fallback_reason = either(object, "fallbackReason", "fallback_reason")
                .filter(|r| FALLBACK_REASONS.contains(&r.as_str()))
                .ok_or_else(|| {
                    server_error("Plain message sign-in URL response had an invalid fallbackReason")
                })?;
            Ok(MessageUrl::Plain { url, reason, fallback_reason })
        }
        _ => Err(server_error("Message sign-in URL response had an invalid mode")),
    }
}

/// `mapMessageLine`.
pub fn parse_message_line(value: &Value) -> Result<MessageLine, ConfigureError> {
    let object = value.as_object().ok_or_else(|| server_error("line response was not an object"))?;
    let status = string_value(object, "status").filter(|s| s == "active" || s == "revoked");
    match (
        string_value(object, "id"),
        string_value(object, "channel"),
        either(object, "phoneLast4", "phone_last4"),
        status,
    ) {
        (Some(id), Some(channel), Some(phone_last4), Some(status)) => {
            Ok(MessageLine { id, channel, phone_last4, label: string_value(object, "label"), status })
        }
        _ => Err(server_error("Message line response was missing id, channel, phoneLast4, or status")),
    }
}

/// `listMessageLines`: `lines` (absent or not a list reads as none).
pub fn parse_message_lines(object: &Map<String, Value>) -> Result<Vec<MessageLine>, ConfigureError> {
    match object.get("lines") {
        Some(Value::Array(items)) => items.iter().map(parse_message_line).collect(),
        _ => Ok(Vec::new()),
    }
}
