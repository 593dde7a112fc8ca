// The Worker's entry (wrangler's `main` is its bundle, build/index.js). It
// hands each request to the wasm core in one call (`handleRequest`, in
// src/worker.rs) and turns the answer back into a Response; all routing and
// rules live in Rust. `scripts/build-worker.sh` bundles it with the
// wasm-bindgen glue; the .wasm stays a separate module (CompiledWasm).
import wasmModule from "./index_bg.wasm";
import { initSync, handleRequest, bodyLimit, __wbg_reset_state } from "../build/bindgen/index.js";
import { onExecutorFailure } from "./microtask.js";

initSync({ module: wasmModule });

// Methods whose body the core reads; others are never buffered.
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The body, read only up to `limit` bytes (the route's, from the Rust route
 * table): a larger Content-Length is refused before any byte is read, and a
 * stream that goes past the limit is cancelled, so a huge or endless body
 * is never buffered. `{ body }`, `{ tooLarge: true }` or `{ unreadable: true }`.
 */
async function readCapped(request, limit) {
  if (limit <= 0 || request.body === null) return { body: undefined };
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\s*\d+\s*$/.test(declared) && Number(declared) > limit) {
    request.body.cancel().catch(() => {});
    return { tooLarge: true };
  }
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        reader.cancel().catch(() => {});
        return { tooLarge: true };
      }
      chunks.push(value);
    }
  } catch {
    return { unreadable: true };
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return { body };
}

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

function internalError() {
  return new Response(INTERNAL_ERROR, {
    status: 500,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** A new wasm instance state after a failure, before the next call into it. */
function freshInstance() {
  if (broken) {
    __wbg_reset_state();
    broken = false;
  }
}

/** `handleRequest`, settled even when the wasm fails while answering. */
function answerFromWasm(...args) {
  freshInstance();
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
    let limit = 0;
    if (BODY_METHODS.has(request.method)) {
      freshInstance();
      try {
        limit = bodyLimit(request.method, request.url);
      } catch (error) {
        console.error("configure-edge: the wasm instance failed", error);
        broken = true;
        return internalError();
      }
    }
    const read = await readCapped(request, limit);
    let answer;
    try {
      answer = await answerFromWasm(
        request.method,
        request.url,
        headers,
        read.body,
        read.unreadable === true,
        read.tooLarge === true,
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
      return internalError();
    }
    const [status, packedHeaders, responseBody] = answer;
    const responseHeaders = new Headers();
    const parts = packedHeaders.split("\n");
    for (let i = 0; i + 1 < parts.length; i += 2) responseHeaders.append(parts[i], parts[i + 1]);
    return new Response(responseBody, { status, headers: responseHeaders });
  },
};
