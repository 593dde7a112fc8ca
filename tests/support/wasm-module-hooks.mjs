// Node module hooks, so Node tests can import the built Worker bundle
// (build/index.js, worker-build's shim with the wasm-bindgen glue) exactly
// as deployed:
// - `import x from "./file.wasm"` gives the compiled WebAssembly.Module, as
//   workerd does for a CompiledWasm module;
// - `cloudflare:workers` is support/cloudflare-workers.mjs, the part of the
//   runtime module the shim uses (WorkerEntrypoint).
// Registered with `module.register` by the tests that need it.
const RUNTIME_STUB = new URL("./cloudflare-workers.mjs", import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === "cloudflare:workers") return { url: RUNTIME_STUB, shortCircuit: true };
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (url.endsWith(".wasm")) {
    const source =
      `import { readFileSync } from "node:fs";\n` +
      `export default new WebAssembly.Module(readFileSync(new URL(${JSON.stringify(url)})));\n`;
    return { format: "module", source, shortCircuit: true };
  }
  return nextLoad(url, context);
}
