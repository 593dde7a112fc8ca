//! Shared native test support: the app's settings, in-memory doubles of its
//! ports (doubles.rs), a fake Configure API behind the real HTTP client
//! (configure.rs), and a one-call helper around `App::handle`.
#![allow(dead_code)]

pub mod configure;
pub mod doubles;

pub use configure::*;
pub use doubles::*;

use configure_edge::api::{HttpConfigureApi, RequestBuilder};
use configure_edge::settings::config::Config;
use configure_edge::settings::Secret;
use configure_edge::storage::ledger::{Ledger, LedgerTransport};
use configure_edge::{App, HttpRequest, HttpResponse};
use std::collections::BTreeMap;

pub const AGENT: &str = "my-agent";
pub const SECRET: &str = "test-api-secret-0123456789-abcdefghij";
pub const SEALING_KEYS: &str = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
pub const NOW: u64 = 1_795_872_054_000;

pub fn settings(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = [
        ("CONFIGURE_KV", ""),
        ("CONFIGURE_AGENT", AGENT),
        ("CONFIGURE_API_KEY", API_KEY),
        ("CONFIGURE_EDGE_API_SECRET", SECRET),
        ("CONFIGURE_EDGE_SEALING_KEYS", SEALING_KEYS),
        ("CONFIGURE_PUBLISHABLE_KEY", "pk_test_native"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        map.insert(k.to_string(), v.to_string());
    }
    map
}

/// Everything one test needs: settings, store, the Configure client over
/// the fake, log, clock.
pub struct Harness {
    pub source: BTreeMap<String, String>,
    pub config: Config,
    pub store: MemoryStore,
    /// The real client, built from the settings as the Worker builds it.
    pub api: HttpConfigureApi<FakeConfigure>,
    pub log: MemoryLog,
    pub now: std::cell::Cell<u64>,
    pub limiter: Option<CountingLimiter>,
    /// The ledger (present unless a test runs on KV alone).
    pub ledger: Option<MemoryLedger>,
}

impl Harness {
    pub fn new(configure: FakeConfigure) -> Harness {
        Harness::with_settings(configure, &[])
    }
    pub fn with_settings(configure: FakeConfigure, extra: &[(&str, &str)]) -> Harness {
        let source = settings(extra);
        let config = Config::from_source(&source);
        let store = MemoryStore::new();
        store.set_now(NOW);
        let api = HttpConfigureApi {
            requests: RequestBuilder {
                base_url: config.base_url.clone(),
                api_key: config.api_key.clone().unwrap_or_else(|_| Secret::new("")),
                agent: config.agent.as_ref().map(|a| a.as_str().to_owned()).unwrap_or_default(),
            },
            transport: configure,
            timeout_ms: config.api_timeout_ms,
        };
        Harness {
            source,
            config,
            store,
            api,
            log: MemoryLog::default(),
            now: std::cell::Cell::new(NOW),
            limiter: None,
            ledger: Some(MemoryLedger::new()),
        }
    }
    /// Runs on KV alone, as a Worker without the `CONFIGURE_LEDGER` binding.
    pub fn without_ledger(mut self) -> Harness {
        self.ledger = None;
        self
    }
    /// The ledger double.
    pub fn ledger(&self) -> &MemoryLedger {
        self.ledger.as_ref().expect("a ledger")
    }
    /// The fake Configure API behind the client.
    pub fn configure(&self) -> &FakeConfigure {
        &self.api.transport
    }
    /// Every request the client sent to Configure, as `Call::line`s.
    pub fn calls(&self) -> Vec<String> {
        self.configure().lines()
    }
    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
        self.store.set_now(self.now.get());
    }
    /// Runs `requests` concurrently, as requests that overlap at the
    /// Worker: their futures are polled together, so each step that waits
    /// (every ledger command yields once) lets the others run.
    pub fn call_all(&self, requests: Vec<HttpRequest>) -> Vec<HttpResponse> {
        // As the Worker: no client without the agent and the API key.
        let configured = self.config.agent.is_ok() && self.config.api_key.is_ok();
        let app = App {
            settings: &self.source,
            config: &self.config,
            store: Some(&self.store),
            api: configured.then_some(&self.api),
            ledger: self.ledger.as_ref().map(|l| Ledger::new(l as &dyn LedgerTransport)),
            limiter: self.limiter.as_ref(),
            now_ms: self.now.get(),
            log: &self.log,
        };
        pollster::block_on(futures_util::future::join_all(requests.iter().map(|r| app.handle(r))))
    }
    pub fn call(&self, request: HttpRequest) -> HttpResponse {
        self.call_all(vec![request]).pop().expect("one answer")
    }
}

pub fn agent_post(path: &str, body: &str) -> HttpRequest {
    HttpRequest::new("POST", &format!("https://edge.example{path}"))
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"))
        .with_header("Content-Type", "application/json")
        .with_body(body)
}

pub fn agent_get(path: &str) -> HttpRequest {
    HttpRequest::new("GET", &format!("https://edge.example{path}"))
        .unwrap()
        .with_header("Authorization", &format!("Bearer {SECRET}"))
}

pub fn webhook(body: &str) -> HttpRequest {
    HttpRequest::new("POST", "https://edge.example/auth/configure/complete")
        .unwrap()
        .with_header("Origin", "https://sign-in.me")
        .with_header("Content-Type", "application/json")
        .with_body(body)
}

pub fn json(response: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null)
}
