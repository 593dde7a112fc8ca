//! Hosted sign-in URLs, byte for byte as the official SDK's
//! `auth.signInUrl(options)` builds them: the agent in the path, the
//! parameters in a fixed order, application/x-www-form-urlencoded values.

use crate::sdk::agent::AgentHandle;
use crate::sdk::configure_error::ConfigureError;
use crate::sdk::js_text;
use crate::sdk::strict_url::StrictUrl;

/// The hosted sign-in origin when none is given.
pub const DEFAULT_SIGN_IN_ORIGIN: &str = "https://sign-in.me";

pub const ORIGIN_NOT_ABSOLUTE: &str = "signInOrigin must be an absolute URL";

/// The options of a hosted sign-in URL, as strings. `None` is absent and
/// `Some` is sent, even when empty: the SDK drops only `undefined`, `null` and
/// `""` *before* stringifying, so a value that stringifies to "" (such as an
/// empty array) is still sent. Use [`text`] to apply the SDK's rule to a
/// plain string. For the aliased pairs the first present one wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInUrlOptions {
    /// The hosted origin; any path, query and fragment are dropped.
    pub sign_in_origin: Option<String>,
    pub publishable_key: Option<String>,
    pub return_to: Option<String>,
    pub state: Option<String>,
    pub journey_id: Option<String>,
    pub display_name: Option<String>,
    /// Alias of `display_name`, used when that is absent.
    pub agent_name: Option<String>,
    pub agent_logo: Option<String>,
    pub delivery: Option<String>,
    pub message_line_phone: Option<String>,
    /// Alias of `message_line_phone`, used when that is absent.
    pub agent_phone: Option<String>,
    pub message_body: Option<String>,
    pub message_complete_url: Option<String>,
    /// Connector names: each trimmed, empties dropped, joined with `,`. A
    /// single string is a one-item list.
    pub connectors: Vec<String>,
    pub theme: Option<String>,
}

/// The SDK's rule for a string option: the empty string is absent.
pub fn text(value: impl Into<String>) -> Option<String> {
    Some(value.into()).filter(|v| !v.is_empty())
}

fn first_present<'a>(first: &'a Option<String>, second: &'a Option<String>) -> Option<&'a str> {
    first.as_deref().or(second.as_deref())
}

/// Trims each connector, drops empties, joins with `,`; `None` when nothing is left.
pub fn join_connectors<S: AsRef<str>>(items: &[S]) -> Option<String> {
    let kept: Vec<&str> =
        items.iter().map(|item| js_text::trim(item.as_ref())).filter(|item| !item.is_empty()).collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// The hosted origin: `None` is the default; anything else must be an
/// http(s) URL (its path, query and fragment are dropped, as the SDK drops
/// them). The Worker's origins come from settings checked the same way; the
/// npm build parses arbitrary origins with the runtime's own URL instead.
pub fn parse_origin(origin: Option<&str>) -> Result<String, ConfigureError> {
    let origin = origin.unwrap_or(DEFAULT_SIGN_IN_ORIGIN);
    match StrictUrl::parse(origin) {
        Ok(url) => Ok(url.origin()),
        Err(_) => Err(ConfigureError::invalid_input(ORIGIN_NOT_ABSOLUTE)),
    }
}

/// The query string (without `?`) of a hosted sign-in URL: the parameters
/// in the SDK's order, application/x-www-form-urlencoded (URLSearchParams
/// serialization). Empty when no parameter is present.
pub fn query_string(options: &SignInUrlOptions) -> String {
    let connectors = join_connectors(&options.connectors);
    let params: [(&str, Option<&str>); 12] = [
        ("pk", options.publishable_key.as_deref()),
        ("return_to", options.return_to.as_deref()),
        ("state", options.state.as_deref()),
        ("journey", options.journey_id.as_deref()),
        ("agent_name", first_present(&options.display_name, &options.agent_name)),
        ("agent_logo", options.agent_logo.as_deref()),
        ("delivery", options.delivery.as_deref()),
        ("message_line_phone", first_present(&options.message_line_phone, &options.agent_phone)),
        ("message_body", options.message_body.as_deref()),
        ("message_complete_url", options.message_complete_url.as_deref()),
        ("connectors", connectors.as_deref()),
        ("theme", options.theme.as_deref()),
    ];
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

/// The path of the hosted page for an agent. Handles are `[a-z0-9-]` only,
/// so `encodeURIComponent` leaves them as they are.
pub fn agent_path(agent: &AgentHandle) -> String {
    format!("/{}", agent.as_str())
}

/// Joins the origin URL (path set, query and fragment cleared) and the query.
pub fn with_query(base: &str, query: &str) -> String {
    if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    }
}

/// Builds the hosted sign-in URL for a validated agent on an http(s)
/// origin (`parse_origin`); the npm build takes any origin the runtime's
/// `URL` takes, as the SDK does (src/js.rs).
pub fn sign_in_url(agent: &AgentHandle, options: &SignInUrlOptions) -> Result<String, ConfigureError> {
    let origin = parse_origin(options.sign_in_origin.as_deref())?;
    Ok(with_query(&format!("{origin}{}", agent_path(agent)), &query_string(options)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> AgentHandle {
        AgentHandle::parse("my-agent").unwrap()
    }

    #[test]
    fn seed_example() {
        let options = SignInUrlOptions {
            publishable_key: Some("pk_test_1".into()),
            delivery: Some("message".into()),
            display_name: Some("Your Agent".into()),
            message_line_phone: Some("+1 (415) 555-1234".into()),
            message_body: Some("done".into()),
            connectors: vec!["gmail".into(), " calendar ".into(), "".into()],
            ..Default::default()
        };
        assert_eq!(
            sign_in_url(&agent(), &options).unwrap(),
            "https://sign-in.me/my-agent?pk=pk_test_1&agent_name=Your+Agent&delivery=message\
             &message_line_phone=%2B1+%28415%29+555-1234&message_body=done&connectors=gmail%2Ccalendar"
        );
    }

    #[test]
    fn no_options_no_query() {
        assert_eq!(sign_in_url(&agent(), &Default::default()).unwrap(), "https://sign-in.me/my-agent");
    }

    #[test]
    fn origin_path_query_and_fragment_are_dropped() {
        let options = SignInUrlOptions {
            sign_in_origin: Some("HTTP://Example.COM:80/a/b?c=d#e".into()),
            state: Some("s t*-._~!".into()),
            ..Default::default()
        };
        assert_eq!(
            sign_in_url(&agent(), &options).unwrap(),
            "http://example.com/my-agent?state=s+t*-._%7E%21"
        );
    }

    #[test]
    fn aliases_first_non_empty_wins() {
        let options = SignInUrlOptions {
            display_name: text(""),
            agent_name: text("B"),
            message_line_phone: text("1"),
            agent_phone: text("2"),
            ..Default::default()
        };
        assert_eq!(
            sign_in_url(&agent(), &options).unwrap(),
            "https://sign-in.me/my-agent?agent_name=B&message_line_phone=1"
        );
    }

    #[test]
    fn present_but_empty_is_sent() {
        let options = SignInUrlOptions { state: Some(String::new()), ..Default::default() };
        assert_eq!(sign_in_url(&agent(), &options).unwrap(), "https://sign-in.me/my-agent?state=");
    }

    #[test]
    fn bad_origin_is_invalid_input() {
        let options = SignInUrlOptions { sign_in_origin: Some("sign-in.me".into()), ..Default::default() };
        let err = sign_in_url(&agent(), &options).unwrap_err();
        assert_eq!((err.code.as_str(), err.message.as_str()), ("INVALID_INPUT", ORIGIN_NOT_ABSOLUTE));
    }

    #[test]
    fn only_http_origins_without_credentials() {
        for origin in ["mailto:x@y", "https://u:p@sign-in.me", "sign-in.me", ""] {
            let options = SignInUrlOptions { sign_in_origin: Some(origin.into()), ..Default::default() };
            assert!(sign_in_url(&agent(), &options).is_err(), "{origin}");
        }
    }
}
