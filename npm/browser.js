// Browsers and bundlers: the wasm is fetched from beside this file (bundlers
// rewrite the URL) before the module finishes loading (top-level await), so
// the helpers are ready on import.
import init from "./wasm/configure_edge.js";

await init({ module_or_path: new URL("./wasm/configure_edge_bg.wasm", import.meta.url) });

export * from "./exports.js";
// The agent API client holds CONFIGURE_EDGE_API_SECRET, which a page would
// hand to every visitor: in a browser it refuses to start. The error class
// stays exported so shared code's `instanceof` checks still load.
export { ConfigureEdgeError } from "./client.js";

export function createConfigureEdge() {
  throw new Error(
    "createConfigureEdge holds CONFIGURE_EDGE_API_SECRET and runs on servers (Node, Workers), not in browsers: " +
      "call your own server, which calls the Worker",
  );
}
