//! The settings, parsed and validated once per request: a value of the right
//! shape, or a problem that names the setting (never its value).

use crate::error::EdgeError;
use crate::sdk::agent::AgentHandle;
use crate::sdk::strict_url::{StrictUrl, StrictUrlError};
use crate::sealing::seal::Keyring;
use crate::sealing::session::SessionKeys;
use crate::settings::{Secret, SettingSource};

pub const DEFAULT_BASE_URL: &str = "https://api.configure.dev";
pub use crate::sdk::sign_in_url::DEFAULT_SIGN_IN_ORIGIN;
pub const DEFAULT_API_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_JOURNEY_TTL_SECONDS: u64 = 15 * 60;
pub const DEFAULT_TICKET_TTL_SECONDS: u64 = 5 * 60;
pub const DEFAULT_STATE_TTL_SECONDS: u64 = 10 * 60;
pub const DEFAULT_SESSION_TTL_SECONDS: u64 = 24 * 3600;
/// How long an edge session lives without use (it slides with each use,
/// under `CONFIGURE_EDGE_SESSION_TTL_SECONDS`).
pub const DEFAULT_SESSION_IDLE_SECONDS: u64 = 2 * 3600;
pub const DEFAULT_REDEEM_TTL_SECONDS: u64 = 120;
/// The agent API's bearer secret: long and varied enough that guessing it
/// is hopeless even before the failed-check rate limit.
pub const MIN_API_SECRET_LEN: usize = 32;
pub const MIN_API_SECRET_DISTINCT: usize = 16;
pub const DEFAULT_ACCOUNTS_ORIGIN: &str = "https://accounts.configure.dev";
pub const DEFAULT_OAUTH_RESOURCE: &str = "https://api.configure.dev";
pub const DEFAULT_OAUTH_SCOPES: [&str; 2] = ["profile.read", "profile.search"];

/// A setting that is missing or unusable, with a reason safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    pub setting: &'static str,
    pub reason: String,
}

/// A required setting: its parsed value, or why not.
pub type Required<T> = Result<T, SettingProblem>;

#[derive(Debug)]
pub struct Config {
    pub agent: Required<AgentHandle>,
    pub api_key: Required<Secret>,
    pub publishable_key: Option<String>,
    /// The Configure API, without a trailing slash.
    pub base_url: String,
    /// Allowed hosted sign-in origins; the first builds URLs.
    pub sign_in_origins: Vec<String>,
    pub api_secret: Required<Secret>,
    pub sealing_keys: Required<Keyring>,
    /// This Worker's public origin, when set.
    pub public_url: Option<String>,
    pub allowed_return_origins: Vec<String>,
    pub api_timeout_ms: u64,
    pub journey_ttl_seconds: u64,
    pub ticket_ttl_seconds: u64,
    pub state_ttl_seconds: u64,
    /// How long a web callback's result waits for the app's redeem.
    pub redeem_ttl_seconds: u64,
    /// What the web flow's hosted page shows: display name, connectors, theme.
    pub display_name: Option<String>,
    pub connectors: Vec<String>,
    pub theme: Option<String>,
    /// "Continue with Configure": the OAuth client, where to authorize, what to ask for.
    pub oauth_client_id: Required<String>,
    pub oauth_client_secret: Required<Secret>,
    pub accounts_origin: String,
    pub oauth_scopes: Vec<String>,
    pub oauth_resource: String,
    /// HMAC keys of the edge session cookie, and how long a session lives.
    pub session_keys: Required<SessionKeys>,
    pub session_ttl_seconds: u64,
    /// The sliding window of a recorded session (at most the TTL).
    pub session_idle_seconds: u64,
    /// The agent's message line (E.164, the SDK's `validatePhone`):
    /// registered by `/v1/setup`, and the journeys' `messageLinePhone` when
    /// they give none.
    pub message_line_phone: Option<String>,
    /// Settings that are set but invalid (missing required ones show up when used).
    pub problems: Vec<SettingProblem>,
}

fn text(source: &dyn SettingSource, name: &str) -> Option<String> {
    source.text(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn missing(setting: &'static str) -> SettingProblem {
    SettingProblem { setting, reason: "not set".to_owned() }
}

/// Why a URL setting must be https: tokens, codes and secrets cross it.
const NOT_SECURE: &str = "must be https (http only on localhost, 127.0.0.1 or [::1])";

/// `scheme://host[:port]` of an https URL (http on loopback) with no path,
/// query, fragment or credentials; the normalized origin.
pub fn parse_origin(value: &str) -> Result<String, String> {
    let url = StrictUrl::parse(value).map_err(|error| match error {
        StrictUrlError::Credentials => "must not contain credentials".to_owned(),
        _ => "must be an http(s) origin of ASCII letters, digits, '-' and '.'".to_owned(),
    })?;
    if !url.is_secure_or_loopback() {
        return Err(NOT_SECURE.to_owned());
    }
    if url.rest() != "/" {
        return Err("must be an origin (no path, query or fragment)".to_owned());
    }
    Ok(url.origin())
}

impl Config {
    pub fn from_source(source: &dyn SettingSource) -> Config {
        let mut problems = Vec::new();
        let mut invalid = |setting: &'static str, reason: String| {
            let problem = SettingProblem { setting, reason };
            problems.push(problem.clone());
            problem
        };

        let agent = match text(source, "CONFIGURE_AGENT") {
            None => Err(missing("CONFIGURE_AGENT")),
            Some(value) => AgentHandle::parse(&value).map_err(|e| invalid("CONFIGURE_AGENT", e.message)),
        };
        let api_key =
            text(source, "CONFIGURE_API_KEY").map(Secret::new).ok_or_else(|| missing("CONFIGURE_API_KEY"));
        let api_secret = match text(source, "CONFIGURE_EDGE_API_SECRET") {
            None => Err(missing("CONFIGURE_EDGE_API_SECRET")),
            Some(value) if !strong_secret(&value) => Err(invalid(
                "CONFIGURE_EDGE_API_SECRET",
                format!(
                    "must be at least {MIN_API_SECRET_LEN} characters with at least \
                     {MIN_API_SECRET_DISTINCT} different ones (make dev generates one)"
                ),
            )),
            Some(value) => Ok(Secret::new(value)),
        };
        let sealing_keys = match text(source, "CONFIGURE_EDGE_SEALING_KEYS") {
            None => Err(missing("CONFIGURE_EDGE_SEALING_KEYS")),
            Some(value) => {
                Keyring::parse(&value).map_err(|e| invalid("CONFIGURE_EDGE_SEALING_KEYS", e.to_string()))
            }
        };

        let base_url = match text(source, "CONFIGURE_BASE_URL") {
            None => DEFAULT_BASE_URL.to_owned(),
            Some(value) => match StrictUrl::parse(&value) {
                Ok(url) if !url.is_secure_or_loopback() => {
                    invalid("CONFIGURE_BASE_URL", NOT_SECURE.to_owned());
                    DEFAULT_BASE_URL.to_owned()
                }
                Ok(url) if !url.rest().contains(['?', '#']) => url.href().trim_end_matches('/').to_owned(),
                _ => {
                    invalid("CONFIGURE_BASE_URL", "must be an http(s) URL without a query".to_owned());
                    DEFAULT_BASE_URL.to_owned()
                }
            },
        };

        let mut origin_list = |setting: &'static str, value: Option<String>| -> Vec<String> {
            let mut origins = Vec::new();
            for item in value.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|i| !i.is_empty()) {
                match parse_origin(item) {
                    Ok(origin) if !origins.contains(&origin) => origins.push(origin),
                    Ok(_) => {}
                    Err(reason) => {
                        invalid(setting, format!("an entry {reason}"));
                    }
                }
            }
            origins
        };
        let mut sign_in_origins =
            origin_list("CONFIGURE_SIGN_IN_ORIGIN", text(source, "CONFIGURE_SIGN_IN_ORIGIN"));
        if sign_in_origins.is_empty() {
            sign_in_origins.push(DEFAULT_SIGN_IN_ORIGIN.to_owned());
        }
        let allowed_return_origins =
            origin_list("ALLOWED_RETURN_ORIGINS", text(source, "ALLOWED_RETURN_ORIGINS"));

        // The browser flows build every URL from PUBLIC_URL alone (never from
        // the Host a request came to), so they wait for it: /healthz says so.
        let public_url = match text(source, "PUBLIC_URL") {
            None => {
                invalid(
                    "PUBLIC_URL",
                    "not set: the web sign-in, the login and /v1/setup answer 503 until it is".to_owned(),
                );
                None
            }
            Some(value) => {
                parse_origin(value.trim_end_matches('/')).map_err(|reason| invalid("PUBLIC_URL", reason)).ok()
            }
        };

        let mut number =
            |setting: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| match text(
                source, setting,
            ) {
                None => default,
                Some(value) => match value.parse::<u64>() {
                    Ok(n) if range.contains(&n) => n,
                    _ => {
                        invalid(
                            setting,
                            format!("must be a whole number from {} to {}", range.start(), range.end()),
                        );
                        default
                    }
                },
            };
        let api_timeout_ms = number("CONFIGURE_API_TIMEOUT_MS", DEFAULT_API_TIMEOUT_MS, 1..=120_000);
        let journey_ttl_seconds =
            number("CONFIGURE_EDGE_JOURNEY_TTL_SECONDS", DEFAULT_JOURNEY_TTL_SECONDS, 1..=7 * 24 * 3600);
        let ticket_ttl_seconds =
            number("CONFIGURE_EDGE_TICKET_TTL_SECONDS", DEFAULT_TICKET_TTL_SECONDS, 1..=3600);
        let state_ttl_seconds =
            number("CONFIGURE_EDGE_STATE_TTL_SECONDS", DEFAULT_STATE_TTL_SECONDS, 1..=3600);
        let redeem_ttl_seconds =
            number("CONFIGURE_EDGE_REDEEM_TTL_SECONDS", DEFAULT_REDEEM_TTL_SECONDS, 1..=3600);
        let session_ttl_seconds =
            number("CONFIGURE_EDGE_SESSION_TTL_SECONDS", DEFAULT_SESSION_TTL_SECONDS, 60..=30 * 24 * 3600);
        let session_idle_seconds =
            number("CONFIGURE_EDGE_SESSION_IDLE_SECONDS", DEFAULT_SESSION_IDLE_SECONDS, 60..=30 * 24 * 3600)
                .min(session_ttl_seconds);
        let theme = match text(source, "CONFIGURE_EDGE_THEME") {
            Some(theme) if theme == "light" || theme == "dark" => Some(theme),
            Some(_) => {
                invalid("CONFIGURE_EDGE_THEME", "must be light or dark".to_owned());
                None
            }
            None => None,
        };
        // As the SDK's provider config: any http(s) URL, reduced to its origin.
        let mut origin_of = |setting: &'static str, default: &str| match text(source, setting) {
            None => default.to_owned(),
            Some(value) => match StrictUrl::parse(&value).ok() {
                Some(url) if url.is_secure_or_loopback() => url.origin(),
                Some(_) => {
                    invalid(setting, NOT_SECURE.to_owned());
                    default.to_owned()
                }
                None => {
                    invalid(setting, "must be an http(s) URL (its origin is used)".to_owned());
                    default.to_owned()
                }
            },
        };
        let accounts_origin = origin_of("CONFIGURE_ACCOUNTS_ORIGIN", DEFAULT_ACCOUNTS_ORIGIN);
        let oauth_resource = origin_of("CONFIGURE_OAUTH_RESOURCE", DEFAULT_OAUTH_RESOURCE);
        let oauth_scopes: Vec<String> = text(source, "CONFIGURE_OAUTH_SCOPES")
            .map(|list| {
                list.split(|c: char| c == ',' || c.is_ascii_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_else(|| DEFAULT_OAUTH_SCOPES.map(str::to_owned).to_vec());
        let oauth_client_id =
            text(source, "CONFIGURE_OAUTH_CLIENT_ID").ok_or_else(|| missing("CONFIGURE_OAUTH_CLIENT_ID"));
        let oauth_client_secret = text(source, "CONFIGURE_OAUTH_CLIENT_SECRET")
            .map(Secret::new)
            .ok_or_else(|| missing("CONFIGURE_OAUTH_CLIENT_SECRET"));
        let session_keys = match text(source, "CONFIGURE_EDGE_SESSION_KEYS") {
            None => Err(missing("CONFIGURE_EDGE_SESSION_KEYS")),
            Some(value) => {
                SessionKeys::parse(&value).map_err(|e| invalid("CONFIGURE_EDGE_SESSION_KEYS", e.to_string()))
            }
        };
        let message_line_phone = text(source, "CONFIGURE_EDGE_MESSAGE_LINE_PHONE").and_then(|value| {
            // The reason never carries the value (/healthz shows problems).
            crate::sdk::phone::validate_phone(&value)
                .map_err(|_| {
                    let reason = "must be a phone number in E.164 format (e.g. +14155551234)";
                    invalid("CONFIGURE_EDGE_MESSAGE_LINE_PHONE", reason.to_owned())
                })
                .ok()
        });
        let connectors = text(source, "CONFIGURE_EDGE_CONNECTORS")
            .map(|list| list.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect())
            .unwrap_or_default();

        Config {
            agent,
            api_key,
            publishable_key: text(source, "CONFIGURE_PUBLISHABLE_KEY"),
            base_url,
            sign_in_origins,
            api_secret,
            sealing_keys,
            public_url,
            allowed_return_origins,
            api_timeout_ms,
            journey_ttl_seconds,
            ticket_ttl_seconds,
            state_ttl_seconds,
            redeem_ttl_seconds,
            display_name: text(source, "CONFIGURE_EDGE_DISPLAY_NAME"),
            connectors,
            theme,
            oauth_client_id,
            oauth_client_secret,
            accounts_origin,
            oauth_scopes,
            oauth_resource,
            session_keys,
            session_ttl_seconds,
            session_idle_seconds,
            message_line_phone,
            problems,
        }
    }
}

/// At least `MIN_API_SECRET_LEN` characters, `MIN_API_SECRET_DISTINCT` of them different.
pub fn strong_secret(value: &str) -> bool {
    let distinct: std::collections::BTreeSet<char> = value.chars().collect();
    value.chars().count() >= MIN_API_SECRET_LEN && distinct.len() >= MIN_API_SECRET_DISTINCT
}

/// A required setting for a route, or the route's 503.
pub fn require<T>(setting: &Required<T>) -> Result<&T, EdgeError> {
    setting.as_ref().map_err(|problem| EdgeError::NotConfigured { setting: problem.setting })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let source: BTreeMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_source(&source)
    }

    #[test]
    fn defaults() {
        let c = config(&[]);
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.sign_in_origins, vec!["https://sign-in.me"]);
        assert_eq!(c.api_timeout_ms, 10_000);
        assert_eq!(c.journey_ttl_seconds, 900);
        assert_eq!(c.redeem_ttl_seconds, 120);
        assert_eq!(c.agent.unwrap_err().setting, "CONFIGURE_AGENT");
        // Missing is not invalid, except PUBLIC_URL, which the browser flows wait for.
        let names: Vec<_> = c.problems.iter().map(|p| p.setting).collect();
        assert_eq!(names, vec!["PUBLIC_URL"]);
    }

    #[test]
    fn urls_must_be_https_except_on_loopback() {
        let c = config(&[
            ("CONFIGURE_BASE_URL", "http://api.example"),
            ("CONFIGURE_SIGN_IN_ORIGIN", "http://sign-in.example, https://sign-in.me"),
            ("ALLOWED_RETURN_ORIGINS", "http://app.example,https://app.example,http://localhost:3000"),
            ("PUBLIC_URL", "http://edge.example"),
            ("CONFIGURE_ACCOUNTS_ORIGIN", "http://accounts.example"),
        ]);
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.sign_in_origins, vec!["https://sign-in.me"]);
        assert_eq!(c.allowed_return_origins, vec!["https://app.example", "http://localhost:3000"]);
        assert_eq!(c.public_url, None);
        assert_eq!(c.accounts_origin, DEFAULT_ACCOUNTS_ORIGIN);
        let names: Vec<_> = c.problems.iter().map(|p| p.setting).collect();
        assert_eq!(
            names,
            vec![
                "CONFIGURE_BASE_URL",
                "CONFIGURE_SIGN_IN_ORIGIN",
                "ALLOWED_RETURN_ORIGINS",
                "PUBLIC_URL",
                "CONFIGURE_ACCOUNTS_ORIGIN"
            ]
        );
        let local = config(&[
            ("CONFIGURE_BASE_URL", "http://127.0.0.1:8788"),
            ("CONFIGURE_SIGN_IN_ORIGIN", "http://127.0.0.1:8788"),
            ("PUBLIC_URL", "http://127.0.0.1:8787"),
        ]);
        assert!(local.problems.is_empty(), "{:?}", local.problems);
        assert_eq!(local.base_url, "http://127.0.0.1:8788");
    }

    #[test]
    fn the_api_secret_must_be_strong() {
        for weak in
            ["short", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "0123456789abcde0123456789abcde0123456789"]
        {
            let c = config(&[("CONFIGURE_EDGE_API_SECRET", weak), ("PUBLIC_URL", "https://e.example")]);
            assert_eq!(c.api_secret.unwrap_err().setting, "CONFIGURE_EDGE_API_SECRET", "{weak}");
            assert!(!format!("{:?}", c.problems).contains(weak));
        }
        let strong = "0123456789abcdef-0123456789abcdef";
        assert!(config(&[("CONFIGURE_EDGE_API_SECRET", strong)]).api_secret.is_ok());
    }

    #[test]
    fn parses_and_normalizes() {
        let c = config(&[
            ("CONFIGURE_AGENT", "my-agent"),
            ("CONFIGURE_BASE_URL", "http://127.0.0.1:9999/"),
            ("CONFIGURE_SIGN_IN_ORIGIN", "https://Sign-In.me, http://127.0.0.1:9999 ,https://sign-in.me"),
            ("PUBLIC_URL", "https://edge.example.com/"),
            ("ALLOWED_RETURN_ORIGINS", "https://app.example:443"),
            ("CONFIGURE_API_TIMEOUT_MS", "250"),
        ]);
        assert_eq!(c.agent.unwrap().as_str(), "my-agent");
        assert_eq!(c.base_url, "http://127.0.0.1:9999");
        assert_eq!(c.sign_in_origins, vec!["https://sign-in.me", "http://127.0.0.1:9999"]);
        assert_eq!(c.public_url.as_deref(), Some("https://edge.example.com"));
        assert_eq!(c.allowed_return_origins, vec!["https://app.example"]);
        assert_eq!(c.api_timeout_ms, 250);
    }

    #[test]
    fn invalid_values_are_problems_that_never_echo_the_value() {
        let c = config(&[
            ("CONFIGURE_AGENT", "API"),
            ("CONFIGURE_EDGE_SEALING_KEYS", "k1:not-a-key-secret-material"),
            ("CONFIGURE_EDGE_API_SECRET", "short"),
            ("CONFIGURE_API_TIMEOUT_MS", "-5"),
            ("ALLOWED_RETURN_ORIGINS", "https://app.example/path"),
        ]);
        let names: Vec<_> = c.problems.iter().map(|p| p.setting).collect();
        assert_eq!(
            names,
            vec![
                "CONFIGURE_AGENT",
                "CONFIGURE_EDGE_API_SECRET",
                "CONFIGURE_EDGE_SEALING_KEYS",
                "ALLOWED_RETURN_ORIGINS",
                "PUBLIC_URL",
                "CONFIGURE_API_TIMEOUT_MS"
            ]
        );
        let all = format!("{:?}", c.problems);
        assert!(!all.contains("not-a-key-secret-material") && !all.contains("short\""));
        assert_eq!(c.api_timeout_ms, DEFAULT_API_TIMEOUT_MS);
    }
}
