//! An app's own Worker, on workers-rs, that serves its own routes and
//! mounts every configure-edge route beside them under its `Router`: the
//! crate's library entry `configure_edge::worker::handle` answers the paths
//! configure-edge owns, with the bindings and settings of this Worker's env.

use worker::{event, Context, Env, Request, Response, Result, RouteContext, Router};

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
