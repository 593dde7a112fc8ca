// Injected by the build (esbuild --inject) in place of the global
// `queueMicrotask` in the bundle: wasm-bindgen's executor schedules every
// wake-up of the Rust future with it, several times a request, and under
// workerd that call costs measurably more than a resolved promise's `then`
// (see README, Performance). Same meaning: the callback runs as a microtask.
export function queueMicrotask(callback) {
  Promise.resolve().then(callback);
}
