//! The official SDK's error vocabulary (`ConfigureError` with a `code`), so
//! that our helpers and API adapter fail with the same code and message.

use std::fmt;

/// The SDK's error codes that this crate can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    AuthRequired,
    InvalidInput,
    NetworkError,
    RateLimited,
    NotFound,
    ServerError,
    Timeout,
    AccessDenied,
    PaymentRequired,
    CommitRequired,
    ToolNotConnected,
    ToolError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AuthRequired => "AUTH_REQUIRED",
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::NetworkError => "NETWORK_ERROR",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::ServerError => "SERVER_ERROR",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::AccessDenied => "ACCESS_DENIED",
            ErrorCode::PaymentRequired => "PAYMENT_REQUIRED",
            ErrorCode::CommitRequired => "COMMIT_REQUIRED",
            ErrorCode::ToolNotConnected => "TOOL_NOT_CONNECTED",
            ErrorCode::ToolError => "TOOL_ERROR",
        }
    }
}

/// A failure with the SDK's code and message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigureError {
    pub code: ErrorCode,
    pub message: String,
    /// The HTTP status of the Configure API's answer, when there was one.
    pub status: Option<u16>,
}

impl ConfigureError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ConfigureError { code, message: message.into(), status: None }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Whether retrying later may succeed (an outage, a timeout, a 5xx or a
    /// rate limit), as opposed to a definite refusal.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::NetworkError | ErrorCode::Timeout | ErrorCode::ServerError | ErrorCode::RateLimited
        )
    }

    /// Whether Configure answered 400 to the request's own input (an
    /// `invalid_request_error`): the input is wrong, not Configure.
    pub fn refuses_input(&self) -> bool {
        self.code == ErrorCode::InvalidInput && self.status == Some(400)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        ConfigureError::new(ErrorCode::InvalidInput, message)
    }
}

impl fmt::Display for ConfigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ConfigureError {}
