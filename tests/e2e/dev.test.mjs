// `make dev`'s script (scripts/dev.sh) serves the Worker with `wrangler dev`
// on 127.0.0.1, with generated local secrets and simulated KV.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./support/worker.mjs";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

test("scripts/dev.sh serves /healthz on 127.0.0.1 with local secrets", { timeout: 120_000 }, async () => {
  const port = await freePort();
  const child = spawn("bash", ["scripts/dev.sh"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port) },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  try {
    const deadline = Date.now() + 90_000;
    let body;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) assert.fail(`dev.sh exited early (${child.exitCode}):\n${output}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (response.status === 200) {
          body = await response.json();
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(body, `no answer from wrangler dev within 90 s:\n${output}`);
    assert.equal(body.ok, true);
    assert.equal(body.settings.CONFIGURE_KV, true);
    assert.equal(body.settings.CONFIGURE_EDGE_API_SECRET, true, ".dev.vars secrets are loaded");
    assert.equal(body.settings.CONFIGURE_EDGE_SEALING_KEYS, true);
    assert.ok(fs.existsSync(path.join(ROOT, ".dev.vars")));
    const missing = await fetch(`http://127.0.0.1:${port}/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get("content-type"), /^application\/json/);
  } finally {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    await new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
        resolve();
      }, 5000);
      child.on("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
});
