//! The Cloudflare Worker shell on workers-rs (wasm32 with the `worker`
//! feature): the request in, the core's answer out, and the adapters from
//! the core's ports to the runtime's bindings. No routing or rules live
//! here.
//!
//! [`handle`] is the library entry another workers-rs Worker mounts
//! (examples/mounted-worker); this crate's own `#[event(fetch)]` (feature
//! `entry`) only calls it. worker-build's generated shim exports the Worker
//! and recovers from a panic by starting a fresh instance.

mod bindings;
mod exchange;
mod transport;

use crate::app::App;
use crate::log::Log;
use crate::settings::config::Config;
use crate::settings::{SettingKind, SettingSource, SETTINGS};
use bindings::{ConsoleLog, EnvSettings, KvAdapter, RateLimiterAdapter};
use std::rc::Rc;
use worker::{Context, Env, Request, Response};

/// The KV namespace binding (README: Storage).
pub const KV_BINDING: &str = "CONFIGURE_KV";
/// The Workers Rate Limiting binding of the public routes.
pub const RATE_LIMITER_BINDING: &str = "CONFIGURE_RATE_LIMITER";

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
    let config = config_for(&env, &settings);
    let store = env.kv(KV_BINDING).ok().map(KvAdapter::new);
    let api = transport::api_for(&config);
    let limiter = match env.rate_limiter(RATE_LIMITER_BINDING) {
        Ok(limiter) => Some(RateLimiterAdapter(limiter)),
        // Bound to something else: say so on every request rather than
        // lose the limit silently.
        Err(error) if settings.has_binding(RATE_LIMITER_BINDING) => {
            ConsoleLog.warn(&format!(
                "{RATE_LIMITER_BINDING} is bound but is not a rate limiter ({error}); nothing is limited"
            ));
            None
        }
        Err(_) => None,
    };
    let request = match exchange::read_request(&mut req).await {
        Ok(request) => request,
        Err(error) => return exchange::write_response(&crate::http::answer::json_error(&error)),
    };
    let app = App {
        settings: &settings,
        config: &config,
        store: store.as_ref(),
        api: api.as_ref(),
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

/// A parsed configuration with what it was parsed from: the `env` object and
/// the raw setting values.
type CachedConfig = (Env, Vec<Option<String>>, Rc<Config>);

thread_local! {
    /// The parsed settings of this isolate. Settings do not change within an
    /// isolate, but parsing them (sealing key schedules, origins) on every
    /// request is measurable CPU. The same `env` object is reused as is;
    /// another one is compared value by value, so a change is still picked up.
    static CONFIG: std::cell::RefCell<Option<CachedConfig>> = const { std::cell::RefCell::new(None) };
}

fn config_for(env: &Env, settings: &EnvSettings) -> Rc<Config> {
    let same_env = CONFIG.with(|cache| {
        cache
            .borrow()
            .as_ref()
            .filter(|(seen, _, _)| js_sys::Object::is(seen, env))
            .map(|(_, _, config)| config.clone())
    });
    if let Some(config) = same_env {
        return config;
    }
    let raw: Vec<Option<String>> =
        SETTINGS.iter().filter(|s| s.kind != SettingKind::Binding).map(|s| settings.text(s.name)).collect();
    CONFIG.with(|cache| {
        let mut cache = cache.borrow_mut();
        let config = match cache.as_ref() {
            Some((_, seen, config)) if *seen == raw => config.clone(),
            _ => Rc::new(Config::from_source(settings)),
        };
        *cache = Some((env.clone(), raw, config.clone()));
        config
    })
}

#[cfg(test)]
mod tests;
