// Injected by the build (esbuild --inject) in place of the global
// `queueMicrotask` in the bundle: wasm-bindgen's executor schedules every
// wake-up of the Rust future with it, several times a request, and under
// workerd that call costs measurably more than a resolved promise's `then`
// (see README, Performance). Same meaning: the callback runs as a microtask.
//
// It is also where a failure of the wasm surfaces: the Rust future is
// polled inside these callbacks, so a panic (an `unreachable` trap, with
// panic = "abort") or a JS exception escaping the wasm is thrown here, not
// to the caller of `handleRequest`, whose promise would then never settle.
// The entry (worker/index.js) listens with `onExecutorFailure`.

let failureListener = (error) => {
  throw error;
};

/** `listener(error)` is called with whatever a wasm-driven microtask threw. */
export function onExecutorFailure(listener) {
  failureListener = listener;
}

export function queueMicrotask(callback) {
  Promise.resolve().then(() => {
    try {
      callback();
    } catch (error) {
      failureListener(error);
    }
  });
}
