// `configure-edge/worker`: the whole configure-edge Worker (its wasm and
// worker-build's entry, copied into worker/ by scripts/build-worker.sh) as a
// module a JavaScript Worker imports and mounts beside its own routes, so no
// Rust toolchain is needed to deploy it. wrangler bundles the entry's
// `import "./index_bg.wasm"` as a compiled WebAssembly module by default.
import ConfigureEdgeEntrypoint, { ConfigureLedger } from "./worker/index.js";

// The ledger's Durable Object class. A Durable Object class must be exported
// by the Worker's own main module under the name its binding gives
// (CONFIGURE_LEDGER -> class_name "ConfigureLedger"), so the app re-exports
// this one: `export { ConfigureLedger } from "configure-edge/worker";`.
export { ConfigureLedger };

/**
 * Answers one request as the configure-edge Worker would. worker-build's
 * default export is a WorkerEntrypoint class wrapped in a Proxy: the wrapper
 * starts a fresh wasm instance after a panic and re-creates instances made
 * before it, so an entrypoint is constructed per request, with the
 * runtime's (ctx, env) as workerd itself would, and its `fetch` (which reads
 * `this.env` and `this.ctx`) answers. `ctx` must be the ExecutionContext
 * workerd passed to the app's fetch (under Hono, `c.executionCtx`): the
 * WorkerEntrypoint constructor accepts no other, and configure-edge runs its
 * after-answer deletes under `ctx.waitUntil`.
 */
function fetchThroughEdge(request, env, ctx) {
  return new ConfigureEdgeEntrypoint(ctx, env).fetch(request);
}

/** The configure-edge Worker as a fetch handler: `configureEdge.fetch(request, env, ctx)`. */
export const configureEdge = Object.freeze({ fetch: fetchThroughEdge });

export default configureEdge;
