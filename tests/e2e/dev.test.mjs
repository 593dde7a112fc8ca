// `make dev`'s script (scripts/dev.sh) serves the Worker with `wrangler dev`
// on 127.0.0.1, with generated local secrets, simulated KV, and (with no
// real key) the local Configure stand-in: a message journey completes
// end to end through it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { freePort } from "../support/ports.mjs";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./support/worker.mjs";


function devVar(name) {
  const text = fs.readFileSync(path.join(ROOT, ".dev.vars"), "utf8");
  return new RegExp(`^${name}=(.*)$`, "m").exec(text)?.[1];
}

test("scripts/dev.sh serves the Worker on 127.0.0.1 in local mode", { timeout: 150_000 }, async () => {
  const port = await freePort();
  const standinPort = await freePort();
  const child = spawn("bash", ["scripts/dev.sh"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), STANDIN_PORT: String(standinPort) },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 120_000;
    let health;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) assert.fail(`dev.sh exited early (${child.exitCode}):\n${output}`);
      try {
        const response = await fetch(`${base}/healthz`);
        if (response.status === 200) {
          health = await response.json();
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(health, `no answer from wrangler dev within 120 s:\n${output}`);
    assert.equal(health.ok, true);
    assert.equal(health.settings.CONFIGURE_KV, true);
    assert.equal(health.settings.CONFIGURE_EDGE_API_SECRET, true, ".dev.vars secrets are loaded");
    assert.equal(health.settings.CONFIGURE_EDGE_SEALING_KEYS, true);
    assert.deepEqual(health.problems, []);
    // The link builder and the helpers it loads are served as assets; the
    // templates the Worker renders itself are not.
    const builder = await fetch(`${base}/`);
    assert.match(await builder.text(), /Link builder/);
    assert.equal((await fetch(`${base}/pkg/browser.js`)).status, 200);
    assert.equal((await fetch(`${base}/pkg/wasm/configure_edge_bg.wasm`)).headers.get("content-type"), "application/wasm");
    assert.match((await fetch(`${base}/`)).headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.equal((await fetch(`${base}/error.html`)).status, 404);
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get("content-type"), /^application\/json/);

    if (devVar("CONFIGURE_API_KEY")) {
      console.log("a real CONFIGURE_API_KEY is in .dev.vars: local-mode round trip skipped");
      return;
    }
    assert.match(output, /LOCAL MODE/);
    // A journey through the stand-in: create, complete, read the link.
    const secret = devVar("CONFIGURE_EDGE_API_SECRET");
    const auth = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
    const subject = `dev-test-${Date.now()}`;
    const created = await fetch(`${base}/v1/journeys`, { method: "POST", headers: auth, body: JSON.stringify({ subject }) });
    assert.equal(created.status, 201, await created.clone().text());
    const { journeyId, url } = await created.json();
    assert.ok(url.startsWith(`http://127.0.0.1:${standinPort}/`), `hosted URL on the stand-in: ${url}`);
    const minted = await (await fetch(`http://127.0.0.1:${standinPort}/__standin/tokens`, { method: "POST", body: "{}" })).json();
    const completed = await fetch(`${base}/auth/configure/complete`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: `http://127.0.0.1:${standinPort}` },
      body: JSON.stringify({ token: minted.token, userId: minted.userId, journeyId }),
    });
    assert.equal(completed.status, 200, await completed.clone().text());
    const link = await (await fetch(`${base}/v1/links/${subject}`, { headers: auth })).json();
    assert.equal(link.token, minted.token);
    await fetch(`${base}/v1/links/${subject}`, { method: "DELETE", headers: auth });
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
