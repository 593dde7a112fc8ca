// Browsers and bundlers: the wasm is fetched from beside this file (bundlers
// rewrite the URL) before the module finishes loading (top-level await), so
// the helpers are ready on import.
import init from "./wasm/configure_edge.js";

await init({ module_or_path: new URL("./wasm/configure_edge_bg.wasm", import.meta.url) });

export * from "./exports.js";
