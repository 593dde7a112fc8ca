// The package's public functions, re-exported by each entry (node.js,
// browser.js, workerd.js) once that entry has loaded the wasm.
export {
  signInUrl,
  validateAgentHandle,
  normalizePhoneCandidates,
  validatePhone,
  resolveSsoRedirectUri,
} from "./wasm/configure_edge.js";
export { configureBetterAuthOAuthProvider } from "./better-auth.js";
