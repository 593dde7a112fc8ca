//! An app's own Worker, on workers-rs, that serves its own routes and
//! mounts every configure-edge route beside them under its `Router`: the
//! crate's library entry `configure_edge::worker::handle` answers the paths
//! configure-edge owns, with the bindings and settings of this Worker's env.
//! It also declares the Durable Object class of configure-edge's ledger
//! (`CONFIGURE_LEDGER` in wrangler.toml): a class is exported by the final
//! Worker, so the library gives the object and this crate names the class.

use configure_edge::worker::LedgerObject;
use worker::durable::State;
// `#[durable_object]`'s expansion names `wasm_bindgen` (through wasm-bindgen's
// derive): in scope here, so no direct wasm-bindgen dependency is needed.
use worker::wasm_bindgen;
use worker::{
    durable_object, event, Context, DurableObject, Env, Request, Response, Result, RouteContext, Router,
};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    // The context rides as the router's data: configure-edge uses it to run
    // work that need not delay the answer (`Context::wait_until`).
    Router::with_data(ctx)
        // The app's own routes.
        .get("/", |_, _| Response::ok("The app's own home page."))
        .get("/app/hello/:name", |_, route| {
            let name = route.param("name").map_or("stranger", String::as_str);
            Response::ok(format!("Hello, {name}, from the app's own route."))
        })
        // Every path configure-edge serves, whatever the method: it answers
        // 404 and 405 (with Allow) itself, in its own error shape.
        .or_else_any_method_async("/healthz", configure_edge_route)
        .or_else_any_method_async("/v1/*rest", configure_edge_route)
        .or_else_any_method_async("/auth/configure/*rest", configure_edge_route)
        .or_else_any_method_async("/api/configure/callback", configure_edge_route)
        .run(req, env)
        .await
}

async fn configure_edge_route(req: Request, route: RouteContext<Context>) -> Result<Response> {
    configure_edge::worker::handle(req, route.env, route.data).await
}

/// configure-edge's ledger: single use, link writes and sessions, one
/// object per item. Bound as `CONFIGURE_LEDGER`; without the binding the
/// mounted routes run on KV alone (their `/healthz` says so).
#[durable_object(alarm)]
pub struct ConfigureLedger {
    object: LedgerObject,
}

impl DurableObject for ConfigureLedger {
    fn new(state: State, env: Env) -> Self {
        ConfigureLedger { object: LedgerObject::new(state, env) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        self.object.fetch(req).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.object.alarm().await
    }
}
