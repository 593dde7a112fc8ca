// An app's own JavaScript Worker (Hono) that serves its own routes and mounts
// configure-edge's beside them, from the npm package alone: no Rust toolchain.
import { Hono } from "hono";
import configureEdge, { ConfigureLedger } from "configure-edge/worker";

// The ledger's Durable Object class: wrangler.toml binds CONFIGURE_LEDGER to
// the class of this name, which must be exported by this main module.
export { ConfigureLedger };

const app = new Hono();

// The app's own routes.
app.get("/", (c) => c.text("The app's own home page."));
app.get("/app/hello/:name", (c) => c.text(`Hello, ${c.req.param("name")}, from the app's own route.`));

// configure-edge answers the paths it owns with this Worker's bindings and
// settings (c.env) and the runtime's execution context (its after-answer
// deletes run under ctx.waitUntil). Everything else stays the app's (Hono's 404).
const edge = (c) => configureEdge.fetch(c.req.raw, c.env, c.executionCtx);
app.all("/auth/configure/*", edge); // the completion webhook and the web sign-in
app.all("/v1/*", edge); // the agent API
app.all("/api/configure/callback", edge); // the return-code callback
app.get("/healthz", edge);

export default app;
