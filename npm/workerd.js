// Cloudflare Workers (wrangler picks this through the "workerd" condition):
// Workers cannot compile wasm from bytes at run time, so the module is
// imported (wrangler bundles .wasm imports as compiled modules).
import wasmModule from "./wasm/configure_edge_bg.wasm";
import { initSync } from "./wasm/configure_edge.js";

initSync({ module: wasmModule });

export * from "./exports.js";
// The agent API client (servers only: it holds the bearer secret).
export { createConfigureEdge, ConfigureEdgeError } from "./client.js";
