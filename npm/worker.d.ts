/**
 * `configure-edge/worker`: the configure-edge Worker (its wasm and entry) as
 * a module a JavaScript or TypeScript Worker mounts beside its own routes.
 *
 * The types are structural so that they need neither `@cloudflare/workers-types`
 * nor the DOM lib: where the global `Request`/`Response` are declared (either
 * of those, or `@types/node`), they are used as they are; elsewhere the
 * minimal shapes below stand in.
 */

/** The part of a Request the fallback type names (when no global `Request` is declared). */
export interface RequestLike {
  readonly url: string;
  readonly method: string;
}

/** The part of a Response the fallback type names (when no global `Response` is declared). */
export interface ResponseLike {
  readonly status: number;
}

/** The global `Request` where one is declared, else {@link RequestLike}. */
export type EdgeRequest = typeof globalThis extends { Request: { prototype: infer R } } ? R : RequestLike;

/** The global `Response` where one is declared, else {@link ResponseLike}. */
export type EdgeResponse = typeof globalThis extends { Response: { prototype: infer R } } ? R : ResponseLike;

/**
 * The execution context workerd passes to a Worker's fetch (under Hono,
 * `c.executionCtx`). It must be that very object, not a look-alike: the
 * Worker's entrypoint class accepts no other. configure-edge runs its
 * after-answer deletes under `waitUntil`.
 */
export interface EdgeExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * The Worker's env: its bindings (`CONFIGURE_KV`, `CONFIGURE_LEDGER`,
 * `CONFIGURE_RATE_LIMITER`) and settings (vars and secrets such as
 * `CONFIGURE_AGENT`, `CONFIGURE_EDGE_API_SECRET`), read by name. Any object:
 * the app's own bindings may sit beside them.
 */
export type EdgeEnv = object;

/** The configure-edge Worker as a fetch handler. */
export interface ConfigureEdge {
  /**
   * Answers `request` as the configure-edge Worker: its routes (`/healthz`,
   * `/v1/...`, `/auth/configure/...`, `/api/configure/callback`, ...) and its
   * own JSON 404 and 405 for anything else. Each call gets a fresh
   * entrypoint; after a panic the next call gets a fresh wasm instance.
   */
  fetch(request: EdgeRequest, env: EdgeEnv, ctx: EdgeExecutionContext): Promise<EdgeResponse>;
}

/** The configure-edge Worker: `configureEdge.fetch(request, env, ctx)`. Also a valid Worker default export. */
export declare const configureEdge: ConfigureEdge;
export default configureEdge;

/** What workerd passes a Durable Object's constructor (its `DurableObjectState`). */
export type LedgerState = object;

/**
 * The ledger's Durable Object class (SQLite-backed). Re-export it from the
 * Worker's main module under this name, and bind it as `CONFIGURE_LEDGER`
 * with a `new_sqlite_classes = ["ConfigureLedger"]` migration.
 */
export declare class ConfigureLedger {
  constructor(state: LedgerState, env: EdgeEnv);
  fetch(request: EdgeRequest): Promise<EdgeResponse>;
  alarm(): Promise<void>;
}
