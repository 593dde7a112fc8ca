// Runs the built Worker (build/) in workerd through Miniflare, in-process,
// with the same bindings wrangler.toml declares. Loopback only.
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { fileURLToPath } from "node:url";
import path from "node:path";
import fs from "node:fs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The ledger's Durable Object binding and class (wrangler.toml, src/worker/ledger.rs). */
export const LEDGER_BINDING = "CONFIGURE_LEDGER";
export const LEDGER_CLASS = "ConfigureLedger";

/** The compatibility date of wrangler.toml, so tests and `make dev` agree. */
export function compatibilityDate() {
  const toml = fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  return /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)[1];
}

/** The compatibility flags of wrangler.toml (none today). */
export function compatibilityFlags() {
  const toml = fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const list = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

/** The crate version from Cargo.toml, which /healthz must report. */
export function crateVersion() {
  const toml = fs.readFileSync(path.join(ROOT, "Cargo.toml"), "utf8");
  return /^version\s*=\s*"([^"]+)"/m.exec(toml)[1];
}

/**
 * Starts the Worker. `vars` are the string settings (vars and secrets alike);
 * `persist` is a directory for KV and the ledger's objects that outlives the
 * instance; `bundle` the directory of the built Worker
 * (examples/mounted-worker/build for the example, which declares the ledger's
 * class too); `assets: false` leaves the static pages out; `ledger: false`
 * leaves the ledger's Durable Object binding out (KV alone, best effort).
 */
export async function startWorker({
  vars = {},
  persist,
  rateLimit,
  onLog,
  bundle = "build",
  assets = true,
  // KV alone when CONFIGURE_EDGE_TEST_LEDGER=off: `make test` runs the flow
  // suites that way too, so the KV-only path keeps passing them.
  ledger = process.env.CONFIGURE_EDGE_TEST_LEDGER !== "off",
} = {}) {
  for (const file of [`${bundle}/index.js`, `${bundle}/index_bg.wasm`]) {
    if (!fs.existsSync(path.join(ROOT, file))) {
      throw new Error(`${file} is missing: run \`make build\` (make test does it) first`);
    }
  }
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: [
        { type: "ESModule", path: path.join(ROOT, bundle, "index.js") },
        { type: "CompiledWasm", path: path.join(ROOT, bundle, "index_bg.wasm") },
      ],
      modulesRoot: ROOT,
      compatibilityDate: compatibilityDate(),
      compatibilityFlags: compatibilityFlags(),
      kvNamespaces: ["CONFIGURE_KV"],
      // The ledger (wrangler.toml): the bundle's own SQLite-backed class.
      ...(ledger ? { durableObjects: { [LEDGER_BINDING]: { className: LEDGER_CLASS, useSQLite: true } } } : {}),
      // KV and objects that outlive the instance (miniflare 5: one persistence root).
      ...(persist ? { resourcePersistencePath: persist } : {}),
      // The Workers Rate Limiting binding, simulated: { limit, period }.
      ...(rateLimit ? { ratelimits: { CONFIGURE_RATE_LIMITER: { namespace_id: "1001", simple: rateLimit } } } : {}),
      bindings: vars,
      ...(assets
        ? {
            assets: {
              directory: path.join(ROOT, "www"),
              binding: "ASSETS",
              routerConfig: { has_user_worker: true },
            },
          }
        : {}),
      host: "127.0.0.1",
      cf: false,
      // Every console line of the Worker, for tests that scan the logs.
      ...(onLog ? { handleStructuredLogs: (entry) => onLog(entry) } : {}),
    }),
  );
  const url = await mf.ready;
  return {
    mf,
    /** Where the Worker listens (127.0.0.1, a free port), for browsers. */
    url: new URL(url).origin,
    /** fetch against the Worker; `target` is a path like "/healthz". */
    fetch: (target, init) => mf.dispatchFetch(new URL(target, "http://127.0.0.1:8787"), init),
    kv: () => mf.getKVNamespace("CONFIGURE_KV"),
    /** The ledger's namespace (`ledger: true` only), for tests that talk to its objects. */
    ledgerNamespace: () => mf.getDurableObjectNamespace(LEDGER_BINDING),
    dispose: () => mf.dispose(),
  };
}
