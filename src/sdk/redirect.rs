//! Redirect URI rules: the official SDK's `resolveSsoRedirectUri` (an SSO
//! callback must be an exact https URL, http only on localhost).

use crate::sdk::js_text;
use url::Url;

/// The SDK's default SSO callback path under the app URL.
pub const DEFAULT_SSO_CALLBACK_PATH: &str = "/auth/configure/callback";

/// What `resolveSsoRedirectUri` takes. `None` is "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsoRedirectInput {
    pub redirect_uri: Option<String>,
    pub app_url: Option<String>,
    pub callback_path: Option<String>,
}

/// Why a redirect URI was refused; `message` gives the SDK's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoRedirectError {
    NotConfigured,
    /// The candidate did not parse; the message quotes it.
    NotAUrl {
        raw: String,
    },
    NotHttps {
        protocol: String,
    },
    Wildcard,
    Whitespace,
    Fragment,
    Credentials,
}

/// The text after the quoted input of `NotAUrl`.
pub const NOT_A_URL_SUFFIX: &str = " is not a valid URL";

impl SsoRedirectError {
    pub fn message(&self) -> String {
        match self {
            SsoRedirectError::NotConfigured => "no app URL or redirect URI configured".to_owned(),
            SsoRedirectError::NotAUrl { raw } => format!("\"{raw}\"{NOT_A_URL_SUFFIX}"),
            SsoRedirectError::NotHttps { protocol } => format!(
                "the SSO callback must use HTTPS (got {protocol}//); http is only allowed on localhost"
            ),
            SsoRedirectError::Wildcard => {
                "the SSO callback must be an exact URL; wildcards are not allowed".to_owned()
            }
            SsoRedirectError::Whitespace => "the SSO callback must not contain whitespace".to_owned(),
            SsoRedirectError::Fragment => "the SSO callback must not contain a fragment".to_owned(),
            SsoRedirectError::Credentials => "the SSO callback must not embed credentials".to_owned(),
        }
    }
}

/// The candidate redirect URI: the explicit one if given (even empty), else
/// the app URL without trailing slashes plus the callback path.
pub fn candidate(input: &SsoRedirectInput) -> Option<String> {
    if let Some(explicit) = &input.redirect_uri {
        return Some(explicit.clone());
    }
    let app_url = input.app_url.as_deref().filter(|a| !a.is_empty())?;
    let path = input.callback_path.as_deref().unwrap_or(DEFAULT_SSO_CALLBACK_PATH);
    Some(format!("{}{}", app_url.trim_end_matches('/'), path))
}

/// The parts of a parsed URL the rules look at, as WHATWG URL getters
/// give them. Filled from the `url` crate in the Worker and natively, and
/// from the runtime's `URL` in the npm build, so each agrees with the SDK
/// where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// `protocol`, with its colon: `"https:"`.
    pub protocol: String,
    pub hostname: String,
    /// Whether `hash` is non-empty (a bare `#` gives an empty hash).
    pub has_fragment: bool,
    /// Whether `username` or `password` is non-empty.
    pub has_credentials: bool,
}

impl UrlParts {
    pub fn of(url: &Url) -> UrlParts {
        UrlParts {
            protocol: format!("{}:", url.scheme()),
            hostname: url.host_str().unwrap_or("").to_owned(),
            has_fragment: url.fragment().is_some_and(|f| !f.is_empty()),
            has_credentials: !url.username().is_empty() || url.password().is_some_and(|p| !p.is_empty()),
        }
    }
}

/// The SSO callback rules on a parsed candidate, in the SDK's order.
pub fn check_parts(raw: &str, parts: &UrlParts) -> Result<(), SsoRedirectError> {
    let localhost = parts.hostname == "localhost" || parts.hostname == "127.0.0.1";
    if parts.protocol != "https:" && !localhost {
        return Err(SsoRedirectError::NotHttps { protocol: parts.protocol.clone() });
    }
    if raw.contains('*') {
        return Err(SsoRedirectError::Wildcard);
    }
    if js_text::contains_whitespace(raw) {
        return Err(SsoRedirectError::Whitespace);
    }
    if parts.has_fragment {
        return Err(SsoRedirectError::Fragment);
    }
    if parts.has_credentials {
        return Err(SsoRedirectError::Credentials);
    }
    Ok(())
}

/// Checks a candidate against the SSO callback rules, in the SDK's order,
/// with a WHATWG URL parser (native builds; the npm build fills `UrlParts`
/// from the runtime's `URL`).
#[cfg(not(target_arch = "wasm32"))]
pub fn check_redirect_uri(raw: &str) -> Result<Url, SsoRedirectError> {
    let parsed = Url::parse(raw).map_err(|_| SsoRedirectError::NotAUrl { raw: raw.to_owned() })?;
    check_parts(raw, &UrlParts::of(&parsed))?;
    Ok(parsed)
}

/// `resolveSsoRedirectUri`: the redirect URI exactly as given, or why not.
#[cfg(not(target_arch = "wasm32"))]
pub fn resolve_sso_redirect_uri(input: &SsoRedirectInput) -> Result<String, SsoRedirectError> {
    let raw = candidate(input).filter(|r| !r.is_empty()).ok_or(SsoRedirectError::NotConfigured)?;
    check_redirect_uri(&raw)?;
    Ok(raw)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn resolve(redirect: Option<&str>, app: Option<&str>, path: Option<&str>) -> Result<String, String> {
        resolve_sso_redirect_uri(&SsoRedirectInput {
            redirect_uri: redirect.map(Into::into),
            app_url: app.map(Into::into),
            callback_path: path.map(Into::into),
        })
        .map_err(|e| e.message())
    }

    #[test]
    fn builds_from_app_url() {
        assert_eq!(
            resolve(None, Some("https://app.example//"), None).unwrap(),
            "https://app.example/auth/configure/callback"
        );
        assert_eq!(
            resolve(None, Some("http://localhost:3000"), Some("/cb")).unwrap(),
            "http://localhost:3000/cb"
        );
    }

    #[test]
    fn refuses_with_sdk_messages() {
        assert_eq!(resolve(None, None, None).unwrap_err(), "no app URL or redirect URI configured");
        assert_eq!(
            resolve(Some(""), Some("https://a.example"), None).unwrap_err(),
            "no app URL or redirect URI configured"
        );
        assert_eq!(resolve(Some("nope"), None, None).unwrap_err(), "\"nope\" is not a valid URL");
        assert_eq!(
            resolve(Some("http://example.com/cb"), None, None).unwrap_err(),
            "the SSO callback must use HTTPS (got http://); http is only allowed on localhost"
        );
        assert!(resolve(Some("https://*.example.com/cb"), None, None).unwrap_err().contains("wildcards"));
        assert!(resolve(Some("https://example.com/a\u{A0}b"), None, None)
            .unwrap_err()
            .contains("whitespace"));
        assert!(resolve(Some("https://example.com/cb#x"), None, None).unwrap_err().contains("fragment"));
        assert!(resolve(Some("https://u:p@example.com/cb"), None, None).unwrap_err().contains("credentials"));
        assert_eq!(resolve(Some("https://example.com/cb#"), None, None).unwrap(), "https://example.com/cb#");
        assert_eq!(resolve(Some("http://127.1/cb"), None, None).unwrap(), "http://127.1/cb");
    }
}
