// What worker-build's shim takes from the runtime, for Node tests that
// import the built Worker (see wasm-module-hooks.mjs):
// - `WorkerEntrypoint`: the class the Worker extends; `new Worker(ctx, env)`
//   then `.fetch(request)`, as workerd calls it;
// - the global `error` event, which workerd raises for an exception nothing
//   caught (the shim listens to it to notice a trapped instance): here
//   `raiseUncaught(error)` raises it, as the test's uncaught-exception
//   handler does.
export class WorkerEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

const errorListeners = [];
if (typeof globalThis.addEventListener !== "function") {
  globalThis.addEventListener = (type, listener) => {
    if (type === "error") errorListeners.push(listener);
  };
}

/** Delivers an uncaught exception to the `error` listeners, as workerd does. */
export function raiseUncaught(error) {
  for (const listener of errorListeners) listener({ error });
  return errorListeners.length;
}

/** A fetch context: `waitUntil` collects the promises, `settled()` awaits them. */
export function executionContext() {
  const pending = [];
  return {
    waitUntil: (promise) => void pending.push(promise),
    passThroughOnException: () => {},
    settled: () => Promise.allSettled(pending),
    pending,
  };
}
