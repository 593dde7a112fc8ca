// The Worker's entry (wrangler's `main` is its bundle, build/index.js). It
// hands each request to the wasm core in one call (`handleRequest`, in
// src/worker.rs) and turns the answer back into a Response; all routing and
// rules live in Rust. `scripts/build-worker.sh` bundles it with the
// wasm-bindgen glue; the .wasm stays a separate module (CompiledWasm).
import wasmModule from "./index_bg.wasm";
import { initSync, handleRequest, __wbg_reset_state } from "../build/bindgen/index.js";
import { onExecutorFailure } from "./microtask.js";

initSync({ module: wasmModule });

// Methods whose body the core reads; others are never buffered.
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// EdgeError::Internal's answer (src/error.rs), for a failure of the wasm.
const INTERNAL_ERROR =
  '{"ok":false,"error":{"code":"internal_error","message":"The Worker failed to answer; try again."}}';

// The core answers every failure of a request itself; what reaches here is
// a failure of the wasm instance (a panic, or an exception thrown through
// it), after which its memory cannot be trusted. Every request it was
// answering gets a 500, and the next request starts a fresh instance.
const inFlight = new Set();
let broken = false;
onExecutorFailure((error) => {
  console.error("configure-edge: the wasm instance failed; answering 500 and starting a fresh one", error);
  broken = true;
  for (const reject of inFlight) reject(error);
  inFlight.clear();
});

/** `handleRequest`, settled even when the wasm fails while answering. */
function answerFromWasm(...args) {
  if (broken) {
    __wbg_reset_state();
    broken = false;
  }
  return new Promise((resolve, reject) => {
    inFlight.add(reject);
    const settle = (done) => (value) => {
      inFlight.delete(reject);
      done(value);
    };
    try {
      handleRequest(...args).then(settle(resolve), settle(reject));
    } catch (error) {
      settle(reject)(error);
    }
  });
}

export default {
  async fetch(request, env) {
    // Headers cross as one string, `name LF value LF …` (http::unpack_headers).
    let headers = "";
    for (const [name, value] of request.headers) headers += `${name}\n${value}\n`;
    let body;
    let bodyUnreadable = false;
    if (BODY_METHODS.has(request.method)) {
      try {
        body = new Uint8Array(await request.arrayBuffer());
      } catch {
        bodyUnreadable = true;
      }
    }
    let answer;
    try {
      answer = await answerFromWasm(
        request.method,
        request.url,
        headers,
        body,
        bodyUnreadable,
        env,
        env.CONFIGURE_KV,
        env.CONFIGURE_RATE_LIMITER,
      );
    } catch (error) {
      if (!broken) {
        // Thrown by the call itself (a trap while passing the arguments).
        console.error("configure-edge: the wasm instance failed", error);
        broken = true;
      }
      return new Response(INTERNAL_ERROR, {
        status: 500,
        headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
      });
    }
    const [status, packedHeaders, responseBody] = answer;
    const responseHeaders = new Headers();
    const parts = packedHeaders.split("\n");
    for (let i = 0; i + 1 < parts.length; i += 2) responseHeaders.append(parts[i], parts[i + 1]);
    return new Response(responseBody, { status, headers: responseHeaders });
  },
};
