// Host calls of the Worker's wasm (src/worker.rs) that cost less made whole
// in JS than piece by piece from Rust: one boundary crossing per Configure
// API request and per KV write, instead of one per header and property.
// Imported by the wasm-bindgen glue (`#[wasm_bindgen(module = ...)]`).

/**
 * `fetch` with a timeout that also covers reading the body. Never rejects:
 * resolves `[status, body text]`, or `[0, "timeout"]`, or `[-1, message]`
 * when the request could not be made.
 */
export async function sendApiRequest(url, method, packedHeaders, body, timeoutMs) {
  // `name LF value LF …`, as http::pack_headers writes them.
  const headers = [];
  const parts = packedHeaders.split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) headers.push([parts[i], parts[i + 1]]);
  try {
    const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    return [response.status, await response.text()];
  } catch (error) {
    if (error?.name === "TimeoutError" || error?.name === "AbortError") return [0, "timeout"];
    return [-1, String(error?.message ?? error)];
  }
}

/** `kv.put`, with `expirationTtl` when `ttlSeconds` is above 0. */
export function kvPut(kv, key, value, ttlSeconds) {
  return kv.put(key, value, ttlSeconds > 0 ? { expirationTtl: ttlSeconds } : undefined);
}
