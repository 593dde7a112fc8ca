// The package's public functions, re-exported by each entry (node.js,
// browser.js, workerd.js) once that entry has loaded the wasm. The agent API
// client (client.js) is exported by each entry itself: node.js and
// workerd.js export it, browser.js a stub that refuses to run.
export {
  signInUrl,
  validateAgentHandle,
  normalizePhoneCandidates,
  validatePhone,
  resolveSsoRedirectUri,
} from "./wasm/configure_edge.js";
export { configureBetterAuthOAuthProvider } from "./better-auth.js";
