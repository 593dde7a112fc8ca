// Node (ESM, Node 20+): the wasm is read from beside this file and
// instantiated synchronously, so the helpers are ready on import.
import { readFileSync } from "node:fs";
import { initSync } from "./wasm/configure_edge.js";

initSync({ module: readFileSync(new URL("./wasm/configure_edge_bg.wasm", import.meta.url)) });

export * from "./exports.js";
// The agent API client (servers only: it holds the bearer secret).
export { createConfigureEdge, ConfigureEdgeError } from "./client.js";
