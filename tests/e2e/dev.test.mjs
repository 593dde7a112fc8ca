// `make dev`'s script (scripts/dev.sh) serves the Worker with `wrangler dev`
// on 127.0.0.1, with generated local secrets, simulated KV, and (with no
// real key) the local Configure stand-in: a message journey and a web
// sign-in complete end to end through it. Its .dev.vars handling (a strong
// API secret, a weak one replaced) and the settings it passes are checked
// apart, in a scratch ROOT with stand-ins for wrangler and the build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { freePort } from "../support/ports.mjs";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../support/worker.mjs";


/** A setting's value in the text of a .dev.vars. */
function devVarsLine(text, name) {
  return new RegExp(`^${name}=(.*)$`, "m").exec(text)?.[1];
}

/** A setting's value in ROOT's (or `root`'s) .dev.vars. */
function devVar(name, root = ROOT) {
  return devVarsLine(fs.readFileSync(path.join(root, ".dev.vars"), "utf8"), name);
}

/** The Worker's rule for CONFIGURE_EDGE_API_SECRET. */
function strongSecret(secret) {
  return typeof secret === "string" && secret.length >= 32 && new Set(secret).size >= 16;
}

/**
 * Runs scripts/dev.sh with ROOT set to a scratch directory whose setup,
 * build, stand-in and `wrangler` are stubs: the stub wrangler records its
 * arguments and returns. `devVars`: the .dev.vars to start with (none when
 * undefined). Answers the output, the arguments and the .dev.vars after.
 */
function runDevScript(devVars) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-dev-"));
  try {
    const write = (file, text, mode = 0o644) => {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text, { mode });
    };
    write("scripts/setup.sh", "exit 0\n");
    write("scripts/build-worker.sh", "exit 0\n");
    write("tests/support/configure-standin.mjs", "// stub: exits at once\n");
    write("node_modules/.bin/wrangler", '#!/usr/bin/env bash\nprintf \'%s\\n\' "$@" > "$ROOT/wrangler.args"\n', 0o755);
    if (devVars !== undefined) write(".dev.vars", devVars, 0o600);
    const run = spawnSync("bash", [path.join(ROOT, "scripts/dev.sh")], {
      env: { ...process.env, ROOT: root, PORT: "18787", STANDIN_PORT: "18788" },
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(run.status, 0, `dev.sh failed:\n${run.stdout}${run.stderr}`);
    const args = fs.readFileSync(path.join(root, "wrangler.args"), "utf8").trimEnd().split("\n");
    const vars = Object.fromEntries(
      args.flatMap((arg, i) => (args[i - 1] === "--var" ? [[arg.slice(0, arg.indexOf(":")), arg.slice(arg.indexOf(":") + 1)]] : [])),
    );
    return {
      output: run.stdout + run.stderr,
      args,
      vars,
      devVars: fs.readFileSync(path.join(root, ".dev.vars"), "utf8"),
      mode: fs.statSync(path.join(root, ".dev.vars")).mode & 0o777,
      secret: devVar("CONFIGURE_EDGE_API_SECRET", root),
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test("dev.sh writes a strong API secret and passes PUBLIC_URL and ALLOWED_RETURN_ORIGINS in local mode", () => {
  const secrets = new Set();
  for (let run = 0; run < 3; run++) {
    const fresh = runDevScript(undefined);
    assert.match(fresh.output, /wrote \.dev\.vars/);
    assert.ok(strongSecret(fresh.secret), `generated secret too weak: ${fresh.secret}`);
    assert.match(fresh.secret, /^[A-Za-z0-9_-]+$/);
    secrets.add(fresh.secret);
    assert.equal(fresh.mode, 0o600, ".dev.vars is private");
    assert.match(devVarsLine(fresh.devVars, "CONFIGURE_EDGE_SEALING_KEYS"), /^local1:[A-Za-z0-9+/=]{44}$/);
    assert.match(fresh.output, /LOCAL MODE/);
    assert.equal(fresh.vars.PUBLIC_URL, "http://127.0.0.1:18787");
    assert.equal(fresh.vars.ALLOWED_RETURN_ORIGINS, "http://127.0.0.1:18787");
    assert.equal(fresh.vars.CONFIGURE_BASE_URL, "http://127.0.0.1:18788");
    assert.deepEqual(fresh.args.slice(0, 5), ["dev", "--ip", "127.0.0.1", "--port", "18787"]);
    // The help shows the web flow with its returnAfter and the redeem, with the secret filled in.
    assert.ok(fresh.output.includes(`-d '{"subject":"demo","returnAfter":"http://127.0.0.1:18787/"}'`), fresh.output);
    assert.ok(fresh.output.includes("/v1/sign-ins/redeem"));
    assert.ok(fresh.output.includes(`Bearer ${fresh.secret}`));
  }
  assert.equal(secrets.size, 3, "every run generates its own secret");
});

test("dev.sh replaces a weak API secret in an existing .dev.vars, keeps a strong one, and respects set URLs", () => {
  const sealing = `local1:${Buffer.alloc(32, 1).toString("base64")}`;
  const session = `local1:${Buffer.alloc(32, 2).toString("base64")}`;
  const rest = `# kept comment\nCONFIGURE_EDGE_SEALING_KEYS=${sealing}\nCONFIGURE_EDGE_SESSION_KEYS=${session}\n`;
  for (const weak of ["short-secret", "abcd".repeat(10), ""]) {
    const run = runDevScript(`CONFIGURE_EDGE_API_SECRET=${weak}\n${rest}`);
    assert.ok(strongSecret(run.secret), `still weak after dev.sh: ${run.secret}`);
    assert.notEqual(run.secret, weak);
    assert.match(run.output, weak ? /replaced the weak CONFIGURE_EDGE_API_SECRET/ : /added a generated CONFIGURE_EDGE_API_SECRET/);
    assert.ok(!run.output.includes(`Bearer ${weak}"`), "the help no longer shows the weak secret");
    assert.ok(run.output.includes(`Bearer ${run.secret}"`), "the help shows the new secret");
    assert.equal(run.devVars.match(/^CONFIGURE_EDGE_API_SECRET=/gm).length, 1, "one secret line");
    assert.equal(devVarsLine(run.devVars, "CONFIGURE_EDGE_SEALING_KEYS"), sealing, "other settings kept");
    assert.equal(devVarsLine(run.devVars, "CONFIGURE_EDGE_SESSION_KEYS"), session);
    assert.match(run.devVars, /^# kept comment$/m);
    assert.equal(run.mode, 0o600, "still private");
  }
  // A strong secret is left alone; PUBLIC_URL and ALLOWED_RETURN_ORIGINS from .dev.vars win.
  const strong = "kept-local-secret-0123456789-abcdefghij";
  const kept = runDevScript(
    `CONFIGURE_EDGE_API_SECRET=${strong}\n${rest}PUBLIC_URL=http://localhost:9999\nALLOWED_RETURN_ORIGINS=http://localhost:3000\n`,
  );
  assert.equal(kept.secret, strong);
  assert.doesNotMatch(kept.output, /replaced|added a generated CONFIGURE_EDGE_API_SECRET/);
  assert.equal(kept.vars.PUBLIC_URL, undefined, "no --var over the .dev.vars value");
  assert.equal(kept.vars.ALLOWED_RETURN_ORIGINS, undefined);
  assert.equal(kept.devVars, `CONFIGURE_EDGE_API_SECRET=${strong}\n${rest}PUBLIC_URL=http://localhost:9999\nALLOWED_RETURN_ORIGINS=http://localhost:3000\n`);
});

test("scripts/dev.sh serves the Worker on 127.0.0.1 in local mode", { timeout: 150_000 }, async () => {
  const port = await freePort();
  const standinPort = await freePort();
  const child = spawn("bash", ["scripts/dev.sh"], {
    cwd: ROOT,
    env: { ...process.env, ROOT, PORT: String(port), STANDIN_PORT: String(standinPort) },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const base = `http://127.0.0.1:${port}`;
  const standin = `http://127.0.0.1:${standinPort}`;
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
    // No problem at all: the secret is strong, and (in local mode) PUBLIC_URL is this server.
    assert.deepEqual(health.problems, []);
    assert.ok(strongSecret(devVar("CONFIGURE_EDGE_API_SECRET")), "the .dev.vars secret meets the Worker's rule");
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
      console.log("a real CONFIGURE_API_KEY is in .dev.vars: local-mode round trips skipped");
      return;
    }
    assert.match(output, /LOCAL MODE/);
    assert.equal(health.settings.PUBLIC_URL, true);
    const secret = devVar("CONFIGURE_EDGE_API_SECRET");
    const auth = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
    const post = (target, body) => fetch(`${base}${target}`, { method: "POST", headers: auth, body: JSON.stringify(body) });

    // The message flow: a journey through the stand-in, pending until the
    // conversation texts back the word the hosted page shows.
    const subject = `dev-test-${Date.now()}`;
    const created = await post("/v1/journeys", { subject });
    assert.equal(created.status, 201, await created.clone().text());
    const { journeyId, url, confirmation } = await created.json();
    assert.ok(url.startsWith(`${standin}/`), `hosted URL on the stand-in: ${url}`);
    assert.equal(new URL(url).searchParams.get("message_complete_url"), `${base}/auth/configure/complete`);
    const hosted = await (await fetch(url)).text();
    assert.ok(hosted.includes(`Text back: <strong>done ${confirmation}</strong>`), "the hosted stand-in shows the text-back");
    const minted = await (await fetch(`${standin}/__standin/tokens`, { method: "POST", body: "{}" })).json();
    const completed = await fetch(`${base}/auth/configure/complete`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: standin },
      body: JSON.stringify({ token: minted.token, userId: minted.userId, journeyId }),
    });
    assert.equal(completed.status, 200, await completed.clone().text());
    assert.deepEqual(await completed.json(), { ok: true, linked: false, pending: true });
    assert.equal((await fetch(`${base}/v1/links/${subject}`, { headers: auth })).status, 404);
    const resolved = await (await post("/v1/identity/resolve", { subject, messageText: `done ${confirmation}` })).json();
    assert.deepEqual([resolved.linked, resolved.source, resolved.token], [true, "webhook", minted.token]);
    const link = await (await fetch(`${base}/v1/links/${subject}`, { headers: auth })).json();
    assert.equal(link.token, minted.token);
    await fetch(`${base}/v1/links/${subject}`, { method: "DELETE", headers: auth });

    // The web flow, as the help shows it: PUBLIC_URL and the allowed
    // returnAfter are this server, so the ticket, the stand-in's hosted page
    // and the callback all work, and the app redeems the code.
    const webSubject = `dev-web-${Date.now()}`;
    const signIn = await post("/v1/sign-ins", { subject: webSubject, returnAfter: `${base}/` });
    assert.equal(signIn.status, 201, await signIn.clone().text());
    const ticket = (await signIn.json()).url;
    assert.ok(ticket.startsWith(`${base}/auth/configure/sign-in?ticket=`), ticket);
    const toHosted = await fetch(ticket, { redirect: "manual" });
    assert.equal(toHosted.status, 302, await toHosted.clone().text());
    const cookie = toHosted.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    assert.match(cookie, /__Host-configure-edge-state=/);
    const hostedUrl = new URL(toHosted.headers.get("location"));
    assert.equal(hostedUrl.origin, standin);
    const params = Object.fromEntries(hostedUrl.searchParams);
    assert.equal(params.return_to, `${base}/api/configure/callback`);
    const finished = await (await fetch(`${standin}/__standin/hosted/finish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...params, agent: hostedUrl.pathname.slice(1), phone: "+14155550123", cancel: false }),
    })).json();
    assert.ok(finished.redirect, JSON.stringify(finished));
    const back = await fetch(finished.redirect, { redirect: "manual", headers: { cookie } });
    assert.equal(back.status, 302, await back.clone().text());
    const landing = new URL(back.headers.get("location"));
    assert.equal(`${landing.origin}${landing.pathname}`, `${base}/`);
    const code = landing.searchParams.get("configure_code");
    assert.ok(code, landing.href);
    const redeemed = await post("/v1/sign-ins/redeem", { subject: webSubject, code });
    assert.equal(redeemed.status, 200, await redeemed.clone().text());
    assert.deepEqual((await redeemed.json()).linked, true);
    assert.equal((await (await fetch(`${base}/v1/links/${webSubject}`, { headers: auth })).json()).source, "callback");
    await fetch(`${base}/v1/links/${webSubject}`, { method: "DELETE", headers: auth });
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
