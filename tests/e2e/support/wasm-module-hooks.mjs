// Node module hooks: `import x from "./file.wasm"` gives the compiled
// WebAssembly.Module, as workerd does for a CompiledWasm module, so Node
// tests can import the built Worker bundle (build/index.js) exactly as
// deployed. Registered with `module.register` by the tests that need it.
export async function load(url, context, nextLoad) {
  if (url.endsWith(".wasm")) {
    const source =
      `import { readFileSync } from "node:fs";\n` +
      `export default new WebAssembly.Module(readFileSync(new URL(${JSON.stringify(url)})));\n`;
    return { format: "module", source, shortCircuit: true };
  }
  return nextLoad(url, context);
}
