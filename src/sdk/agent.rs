//! Agent handle rules, as the official SDK's client constructor applies them.

use crate::sdk::configure_error::ConfigureError;

/// Handles the SDK refuses even though they match the pattern.
pub const RESERVED_AGENT_HANDLES: &[&str] = &[
    "docs",
    "api",
    "www",
    "app",
    "admin",
    "dashboard",
    "status",
    "blog",
    "travelbot",
    "focusai",
    "wealthbot",
    "devbot",
    "mobile-demo",
    "mcp",
    "v1",
    "auth",
    "profile",
    "tools",
    "connectors",
    "web",
    "memory",
];

pub const AGENT_REQUIRED: &str = "agent handle is required";
pub const AGENT_PATTERN: &str =
    "agent handle must be 2-63 characters, lowercase letters/numbers/hyphens, and start/end alphanumeric";

/// Whether `agent` has the handle shape: 2 to 63 of `[a-z0-9-]`, starting
/// and ending alphanumeric.
pub fn has_handle_shape(agent: &str) -> bool {
    let bytes = agent.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (2..=63).contains(&bytes.len())
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
        && alnum(&bytes[0])
        && alnum(&bytes[bytes.len() - 1])
}

/// Returns the handle, or the SDK's error for it: empty, wrong shape, or
/// reserved (checked in that order).
pub fn validate_agent_handle(agent: &str) -> Result<&str, ConfigureError> {
    validate_agent_text(agent, true)
}

/// The same checks; `may_be_reserved` is false when the handle came from a
/// non-string JS value (the SDK's reserved-set lookup never matches those).
pub fn validate_agent_text(agent: &str, may_be_reserved: bool) -> Result<&str, ConfigureError> {
    if agent.is_empty() {
        return Err(ConfigureError::invalid_input(AGENT_REQUIRED));
    }
    if !has_handle_shape(agent) {
        return Err(ConfigureError::invalid_input(AGENT_PATTERN));
    }
    if may_be_reserved && RESERVED_AGENT_HANDLES.contains(&agent) {
        return Err(ConfigureError::invalid_input(format!("agent handle \"{agent}\" is reserved")));
    }
    Ok(agent)
}

/// A validated agent handle: holding one proves it passed the SDK's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentHandle(String);

impl AgentHandle {
    pub fn parse(agent: &str) -> Result<AgentHandle, ConfigureError> {
        validate_agent_handle(agent).map(|a| AgentHandle(a.to_owned()))
    }
    /// For a handle taken from a non-string JS value: no reserved check.
    pub fn parse_unreserved(agent: &str) -> Result<AgentHandle, ConfigureError> {
        validate_agent_text(agent, false).map(|a| AgentHandle(a.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_handles() {
        for ok in ["ab", "a1", "my-agent", "a-b-c", "0x", &"a".repeat(63)] {
            assert_eq!(validate_agent_handle(ok), Ok(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_handles_with_sdk_messages() {
        assert_eq!(validate_agent_handle("").unwrap_err().message, AGENT_REQUIRED);
        for bad in ["a", "-ab", "ab-", "Ab", "a_b", "a b", "é1", &"a".repeat(64)] {
            assert_eq!(validate_agent_handle(bad).unwrap_err().message, AGENT_PATTERN, "{bad}");
        }
        assert_eq!(
            validate_agent_handle("mobile-demo").unwrap_err().message,
            "agent handle \"mobile-demo\" is reserved"
        );
        assert_eq!(validate_agent_handle("v1").unwrap_err().code.as_str(), "INVALID_INPUT");
    }
}
