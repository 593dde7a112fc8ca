//! The Worker's settings: their fixed names (design.md), which kind each is,
//! and a presence report that never carries a value.

pub mod config;

use std::collections::BTreeMap;
use std::fmt;

/// How a setting reaches the Worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// A binding (KV namespace, rate limiter): present or not.
    Binding,
    /// A plain `[vars]` value from wrangler.toml.
    Var,
    /// A `wrangler secret put` value (or `.dev.vars` locally).
    Secret,
}

/// One setting of the design's table.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    pub name: &'static str,
    pub kind: SettingKind,
}

const fn spec(name: &'static str, kind: SettingKind) -> SettingSpec {
    SettingSpec { name, kind }
}

/// Every setting the Worker reads, in the order of design.md's table.
pub const SETTINGS: &[SettingSpec] = &[
    spec("CONFIGURE_KV", SettingKind::Binding),
    spec("CONFIGURE_LEDGER", SettingKind::Binding),
    spec("CONFIGURE_API_KEY", SettingKind::Secret),
    spec("CONFIGURE_AGENT", SettingKind::Var),
    spec("CONFIGURE_PUBLISHABLE_KEY", SettingKind::Var),
    spec("CONFIGURE_BASE_URL", SettingKind::Var),
    spec("CONFIGURE_SIGN_IN_ORIGIN", SettingKind::Var),
    spec("CONFIGURE_EDGE_API_SECRET", SettingKind::Secret),
    spec("CONFIGURE_EDGE_SEALING_KEYS", SettingKind::Secret),
    spec("PUBLIC_URL", SettingKind::Var),
    spec("ALLOWED_RETURN_ORIGINS", SettingKind::Var),
    spec("CONFIGURE_API_TIMEOUT_MS", SettingKind::Var),
    spec("CONFIGURE_EDGE_JOURNEY_TTL_SECONDS", SettingKind::Var),
    spec("CONFIGURE_EDGE_TICKET_TTL_SECONDS", SettingKind::Var),
    spec("CONFIGURE_EDGE_STATE_TTL_SECONDS", SettingKind::Var),
    spec("CONFIGURE_EDGE_REDEEM_TTL_SECONDS", SettingKind::Var),
    spec("CONFIGURE_EDGE_DISPLAY_NAME", SettingKind::Var),
    spec("CONFIGURE_EDGE_CONNECTORS", SettingKind::Var),
    spec("CONFIGURE_EDGE_THEME", SettingKind::Var),
    spec("CONFIGURE_OAUTH_CLIENT_ID", SettingKind::Var),
    spec("CONFIGURE_OAUTH_CLIENT_SECRET", SettingKind::Secret),
    spec("CONFIGURE_ACCOUNTS_ORIGIN", SettingKind::Var),
    spec("CONFIGURE_OAUTH_SCOPES", SettingKind::Var),
    spec("CONFIGURE_OAUTH_RESOURCE", SettingKind::Var),
    spec("CONFIGURE_EDGE_SESSION_KEYS", SettingKind::Secret),
    spec("CONFIGURE_EDGE_SESSION_TTL_SECONDS", SettingKind::Var),
    spec("CONFIGURE_EDGE_SESSION_IDLE_SECONDS", SettingKind::Var),
    spec("CONFIGURE_RATE_LIMITER", SettingKind::Binding),
    spec("CONFIGURE_EDGE_MESSAGE_LINE_PHONE", SettingKind::Var),
];

/// Where settings come from: the Worker's `Env` in production, a map in tests.
pub trait SettingSource {
    /// The value of a var or secret, `None` when unset.
    fn text(&self, name: &str) -> Option<String>;
    /// Whether a binding (KV namespace, rate limiter) is bound.
    fn has_binding(&self, name: &str) -> bool;
}

impl SettingSource for BTreeMap<String, String> {
    fn text(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
    fn has_binding(&self, name: &str) -> bool {
        self.contains_key(name)
    }
}

/// Which settings are present: name → true/false. An empty or all-blank
/// value counts as missing. Values are never read into the report.
pub fn presence(source: &dyn SettingSource) -> serde_json::Map<String, serde_json::Value> {
    // A JSON map (the answer's own type) filled by insert: a BTreeMap of its
    // own, or one collected (which sorts with the stable sort), is a few KB
    // of wasm used nowhere else. Keys come out sorted either way.
    let mut report = serde_json::Map::new();
    for setting in SETTINGS {
        let present = match setting.kind {
            SettingKind::Binding => source.has_binding(setting.name),
            SettingKind::Var | SettingKind::Secret => {
                source.text(setting.name).is_some_and(|value| !value.trim().is_empty())
            }
        };
        report.insert(setting.name.to_owned(), present.into());
    }
    report
}

/// A secret value (API key, bearer secret, key material). Its `Debug` and
/// `Display` print a placeholder so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value itself, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_reports_booleans_only() {
        let mut source = BTreeMap::new();
        source.insert("CONFIGURE_API_KEY".to_owned(), "sk_test_value".to_owned());
        source.insert("CONFIGURE_AGENT".to_owned(), "   ".to_owned());
        source.insert("CONFIGURE_KV".to_owned(), String::new());
        let report = presence(&source);
        assert_eq!(report.len(), SETTINGS.len());
        assert_eq!(report["CONFIGURE_API_KEY"], true);
        assert_eq!(report["CONFIGURE_AGENT"], false, "blank counts as missing");
        assert_eq!(report["CONFIGURE_KV"], true, "a binding is present when bound");
        assert_eq!(report["PUBLIC_URL"], false);
        assert!(report.values().all(|v| v.is_boolean()));
    }

    #[test]
    fn secret_debug_and_display_are_redacted() {
        let secret = Secret::new("sk_live_very_secret");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), "sk_live_very_secret");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SETTINGS.len());
    }
}
