//! The Cloudflare Worker shell on workers-rs (wasm32 with the `worker`
//! feature): the request in, the core's answer out, and the adapters from
//! the core's ports to the runtime's bindings. No routing or rules live
//! here.
//!
//! [`handle`] is the library entry another workers-rs Worker mounts
//! (examples/mounted-worker); this crate's own `#[event(fetch)]` (feature
//! `entry`) only calls it. The ledger's Durable Object is [`LedgerObject`],
//! which the final crate wraps in its `#[durable_object]` class
//! (`ConfigureLedger`, under `entry` here; see ledger.rs). worker-build's
//! generated shim exports the Worker and that class, and recovers from a
//! panic by starting a fresh instance.

mod bindings;
mod exchange;
mod ledger;
mod transport;

use crate::app::App;
use crate::settings::config::Config;
use crate::settings::{SettingKind, SettingSource, SETTINGS};
use crate::storage::ledger::Ledger;
use bindings::{ConsoleLog, EnvSettings, KvAdapter};
#[cfg(feature = "entry")]
pub use ledger::ConfigureLedger;
pub use ledger::{DurableLedger, LedgerObject, SqlTable};
use std::rc::Rc;
use worker::{Context, Env, Request, Response};

/// The KV namespace binding (README: Storage).
pub const KV_BINDING: &str = "CONFIGURE_KV";
/// The Workers Rate Limiting binding of the public routes.
pub const RATE_LIMITER_BINDING: &str = "CONFIGURE_RATE_LIMITER";
/// The Durable Object binding of the ledger (README: Storage); its class
/// wraps [`LedgerObject`] (`ConfigureLedger` in this crate's own build).
pub use crate::storage::ledger::LEDGER_BINDING;

/// Answers one request with every configure-edge route, reading its
/// settings and bindings from `env` (README: Settings). Never fails for a
/// request's sake: every failure is an answer; `Err` only when the runtime
/// cannot build a response at all.
///
/// Mount it under your own `Router` for the paths it serves
/// (`/healthz`, `/v1/*`, `/auth/configure/*`, `/api/configure/callback`),
/// see examples/mounted-worker.
pub async fn handle(mut req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let settings = EnvSettings(&env);
    let config = config_for(&settings);
    let store = env.kv(KV_BINDING).ok().map(KvAdapter::new);
    let api = transport::api_for(&config);
    let limiter = bindings::rate_limiter(&env, RATE_LIMITER_BINDING);
    // Without the binding the Worker runs on KV alone (`/healthz` says so).
    let ledger = DurableLedger::from_env(&env, LEDGER_BINDING);
    let request = match exchange::read_request(&mut req).await {
        Ok(request) => request,
        Err(error) => return exchange::write_response(&crate::http::answer::json_error(&error)),
    };
    let app = App {
        settings: &settings,
        config: &config,
        store: store.as_ref(),
        api: api.as_ref(),
        ledger: ledger.as_ref().map(|transport| Ledger::new(transport)),
        limiter: limiter.as_ref(),
        now_ms: worker::Date::now().as_millis(),
        log: &ConsoleLog,
    };
    let answer = app.handle(&request).await;
    // The deletes the answer did not wait for (`Store::delete_after_answer`).
    if let Some(deletes) = store.and_then(KvAdapter::into_deferred_deletes) {
        ctx.wait_until(deletes);
    }
    exchange::write_response(&answer)
}

#[cfg(feature = "entry")]
#[worker::event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    handle(req, env, ctx).await
}

/// A parsed configuration with the raw setting values it was parsed from.
type CachedConfig = (Vec<Option<String>>, Rc<Config>);

thread_local! {
    /// The parsed settings of this isolate. Parsing them (sealing key
    /// schedules, origins) on every request is measurable CPU, so the parse
    /// is reused while the raw values are the same. They are read and
    /// compared on every request, never trusted by the `env` object's
    /// identity: a Worker that mounts these routes may hand over one `env`
    /// object whose values change.
    static CONFIG: std::cell::RefCell<Option<CachedConfig>> = const { std::cell::RefCell::new(None) };
}

fn config_for(settings: &EnvSettings) -> Rc<Config> {
    let raw: Vec<Option<String>> =
        SETTINGS.iter().filter(|s| s.kind != SettingKind::Binding).map(|s| settings.text(s.name)).collect();
    CONFIG.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((seen, config)) = cache.as_ref() {
            if *seen == raw {
                return config.clone();
            }
        }
        let config = Rc::new(Config::from_source(settings));
        *cache = Some((raw, config.clone()));
        config
    })
}

#[cfg(test)]
mod tests;
