// The pages people see, in a real browser (Debian's Chromium driven by
// playwright-core): the link builder against the official SDK for typed
// inputs, its inline errors, and both flows clicked through in local mode
// (the Worker pointed at the Configure stand-in and its hosted-page
// stand-in). A screenshot of each page goes to tests/artifacts/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Configure } from "configure";
import { startWorker, ROOT } from "./support/worker.mjs";
import { startStandin } from "../standin/configure-standin.mjs";
import { launchBrowser } from "../support/browser.mjs";

const SHOTS = path.join(ROOT, "tests/artifacts/screenshots");
const AGENT = "local-agent";
const API_KEY = "sk_local_standin";
const SECRET = "browser-test-api-secret-0123456789";

let standin;
let worker;
let browser;
const offsite = [];

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  standin = await startStandin({ apiKey: API_KEY, agent: AGENT });
  worker = await startWorker({
    vars: {
      CONFIGURE_AGENT: AGENT,
      CONFIGURE_API_KEY: API_KEY,
      CONFIGURE_BASE_URL: standin.url,
      CONFIGURE_SIGN_IN_ORIGIN: standin.url,
      CONFIGURE_PUBLISHABLE_KEY: "pk_local_standin",
      CONFIGURE_EDGE_API_SECRET: SECRET,
      CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    },
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await worker?.dispose();
  await standin?.close();
});

async function newPage({ dark = false } = {}) {
  const page = await browser.context.newPage();
  await page.emulateMedia({ colorScheme: dark ? "dark" : "light" });
  page.on("request", (request) => {
    const { hostname } = new URL(request.url());
    if (hostname !== "127.0.0.1" && !request.url().startsWith("data:")) offsite.push(request.url());
  });
  return page;
}

function api(method, pathname, body) {
  return fetch(`${worker.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const sdkUrl = (options) => {
  try {
    return new Configure({ apiKey: "sk_test", agent: options.agent }).auth.signInUrl(options);
  } catch (error) {
    return `${error.name} ${error.code}: ${error.message}`;
  }
};

test("the link builder gives the SDK's URL for typed inputs, live", async () => {
  const page = await newPage();
  await page.goto(`${worker.url}/`);
  await page.waitForFunction(() => window.builderReady === true);
  const cases = [
    { agent: "my-agent", publishableKey: "pk_test_123", delivery: "message", connectors: ["gmail", "calendar"], theme: "dark",
      displayName: "Your Agent", messageLinePhone: "+1 (415) 555-1234", messageBody: "done" },
    { agent: "travel-agent", returnTo: "https://app.example/api/configure/callback?x=1&y=2", journeyId: "j-123" },
    { agent: "ab", displayName: "Hé 😀 & <b>", messageBody: "c'est fini 100%", connectors: ["notion"] },
  ];
  for (const options of cases) {
    for (const field of ["agent", "publishableKey", "displayName", "messageLinePhone", "messageBody", "returnTo", "journeyId"]) {
      await page.fill(`#${field}`, "");
      if (options[field]) await page.locator(`#${field}`).pressSequentially(options[field]);
    }
    await page.selectOption("#delivery", options.delivery ?? "");
    await page.selectOption("#theme", options.theme ?? "");
    for (const connector of ["gmail", "outlook", "calendar", "drive", "notion", "sheets"]) {
      await page.setChecked(`input[name=connectors][value=${connector}]`, (options.connectors ?? []).includes(connector));
    }
    const shown = await page.locator("#url").textContent();
    const ordered = { ...options };
    if (options.connectors) ordered.connectors = ["gmail", "outlook", "calendar", "drive", "notion", "sheets"].filter((c) => options.connectors.includes(c));
    assert.equal(shown, sdkUrl(ordered), JSON.stringify(options));
  }
  await page.waitForFunction(() => document.querySelectorAll("#health-settings li").length > 0);
  const health = await page.locator("#health-summary").textContent();
  assert.match(health, /settings present/);
  assert.match(await page.locator("#curl-journey").textContent(), /\/v1\/journeys/);
  assert.match(await page.locator("#curl-identity").textContent(), /\/v1\/identity\/resolve/);
  // Every form control has a label.
  const unlabeled = await page.evaluate(() =>
    [...document.querySelectorAll("input:not([type=checkbox]), select")].filter((el) => !document.querySelector(`label[for="${el.id}"]`)).map((el) => el.id),
  );
  assert.deepEqual(unlabeled, []);
  await shot(page, "link-builder");
  await page.close();
});

test("the link builder shows the helpers' errors inline", async () => {
  const page = await newPage({ dark: true });
  await page.goto(`${worker.url}/`);
  await page.waitForFunction(() => window.builderReady === true);
  await page.fill("#agent", "");
  await page.locator("#agent").pressSequentially("api");
  const reserved = page.locator("#agent-error");
  await reserved.waitFor({ state: "visible" });
  assert.equal(await reserved.textContent(), sdkUrl({ agent: "api" }));
  await page.fill("#agent", "Bad_Handle");
  await page.locator("#agent").dispatchEvent("input");
  assert.equal(await reserved.textContent(), sdkUrl({ agent: "Bad_Handle" }));
  assert.equal(await page.locator("#agent").getAttribute("aria-invalid"), "true");
  await page.locator("#messageLinePhone").pressSequentially("12");
  const phone = page.locator("#phone-error");
  await phone.waitFor({ state: "visible" });
  assert.equal(await phone.textContent(), 'INVALID_INPUT: Invalid phone number "12". Must be in E.164 format (e.g., "+14155551234").');
  await shot(page, "link-builder-errors-dark");
  await page.fill("#agent", "my-agent");
  await page.locator("#agent").dispatchEvent("input");
  assert.equal(await reserved.isVisible(), false);
  await page.close();
});

test("message flow, clicked through in local mode, ends on the 'return to your conversation' page", async () => {
  const subject = `browser-message-${Date.now()}`;
  const created = await (await api("POST", "/v1/journeys", { subject, displayName: "Local Agent", connectors: ["gmail"] })).json();
  assert.ok(created.url.startsWith(`${standin.url}/${AGENT}?`), created.url);
  const page = await newPage();
  await page.goto(created.url);
  assert.match(await page.locator(".banner").textContent(), /LOCAL STAND-IN/);
  await shot(page, "local-hosted-page");
  await Promise.all([page.waitForURL(`${worker.url}/message-done`), page.click("#continue")]);
  assert.match(await page.locator("h1").textContent(), /connected/i);
  assert.match(await page.locator("main").textContent(), /return to your conversation/i);
  await shot(page, "message-done");
  const link = await (await api("GET", `/v1/links/${subject}`)).json();
  assert.match(link.token, /^cfgtok_/);
  assert.equal(link.source, "webhook");
  await page.close();
});

test("web flow, clicked through in local mode, ends on the linked page; a cancel ends on the error page", async () => {
  const subject = `browser-web-${Date.now()}`;
  const { url } = await (await api("POST", "/v1/sign-ins", { subject })).json();
  const page = await newPage();
  await page.goto(url);
  assert.ok(page.url().startsWith(`${standin.url}/${AGENT}?`), page.url());
  await Promise.all([page.waitForURL(`${worker.url}/auth/configure/linked`), page.click("#continue")]);
  assert.match(await page.locator("h1").textContent(), /linked/i);
  await shot(page, "web-linked");
  const link = await (await api("GET", `/v1/links/${subject}`)).json();
  assert.equal(link.source, "callback");

  const cancelled = await (await api("POST", "/v1/sign-ins", { subject: `${subject}-cancel` })).json();
  await page.goto(cancelled.url);
  await Promise.all([page.waitForURL(/\/api\/configure\/callback\?/), page.click("#cancel")]);
  assert.match(await page.locator("h1").textContent(), /did not complete/i);
  assert.match(await page.locator("main").textContent(), /cancelled/i);
  await shot(page, "web-error");
  await page.emulateMedia({ colorScheme: "dark" });
  await shot(page, "web-error-dark");
  await page.close();
});

test("no page made a request off this machine, and every screenshot was written", () => {
  assert.deepEqual(offsite, []);
  for (const name of ["link-builder", "link-builder-errors-dark", "local-hosted-page", "message-done", "web-linked", "web-error"]) {
    assert.ok(fs.statSync(path.join(SHOTS, `${name}.png`)).size > 1000, name);
  }
});
