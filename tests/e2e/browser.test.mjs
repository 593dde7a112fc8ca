// The pages people see, in a real browser (Debian's Chromium driven by
// playwright-core): the link builder against the official SDK for typed
// inputs, its inline errors, and both flows clicked through in local mode
// (the Worker pointed at the Configure stand-in and its hosted-page
// stand-in). The web flow ends where a real app's does: at the app's
// returnAfter page, whose server redeems configure_code with the subject of
// its own signed-in user (a tiny app on 127.0.0.1 here). The Worker is
// reached through a loopback proxy on a port known before it starts, so
// PUBLIC_URL can name it. A screenshot of each page goes to
// tests/artifacts/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Configure } from "configure";
import { startWorker, ROOT } from "../support/worker.mjs";
import { startStandin } from "../support/configure-standin.mjs";
import { launchBrowser } from "../support/browser.mjs";

const SHOTS = path.join(ROOT, "tests/artifacts/screenshots");
const AGENT = "local-agent";
const API_KEY = "sk_local_standin";
const SECRET = "browser-test-api-secret-0123456789-abcdefghij";

let standin;
let worker;
let edge; // the loopback proxy in front of the Worker: PUBLIC_URL
let app; // the web app whose returnAfter page redeems the code
let browser;
const offsite = [];

/** An HTTP server on 127.0.0.1 (a free port) with `handler`. */
async function listen(handler) {
  const server = http.createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(error));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/** Forwards every request, as it is, to the Worker (started later). */
function proxyToWorker(req, res) {
  const target = new URL(req.url, worker.url);
  const upstream = http.request(target, { method: req.method, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", (error) => {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(String(error));
  });
  req.pipe(upstream);
}

const escapeHtml = (t) => String(t).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const appPage = (title, text) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
  `<body><main><h1>${escapeHtml(title)}</h1><p id="result">${escapeHtml(text)}</p></main></body></html>`;

/**
 * The web app: /login?user=… signs a user in to the app (its own session
 * cookie); /connect asks the Worker for a ticket for that user and sends the
 * browser there; /account is returnAfter, whose server redeems configure_code
 * with the subject of the user signed in to the app.
 */
async function appHandler(req, res) {
  const url = new URL(req.url, app.origin);
  const user = /(?:^|; )app_user=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
  if (url.pathname === "/login") {
    res.writeHead(303, { location: "/", "set-cookie": `app_user=${encodeURIComponent(url.searchParams.get("user"))}; Path=/; HttpOnly` });
    return res.end();
  }
  if (url.pathname === "/connect") {
    if (!user) return res.writeHead(401).end("sign in to the app first");
    const ticket = await api("POST", "/v1/sign-ins", { subject: decodeURIComponent(user), returnAfter: `${app.origin}/account` });
    if (ticket.status !== 201) return res.writeHead(502).end(await ticket.text());
    res.writeHead(302, { location: (await ticket.json()).url });
    return res.end();
  }
  if (url.pathname === "/account") {
    const code = url.searchParams.get("configure_code");
    if (!code || !user) {
      res.writeHead(400, { "content-type": "text/html; charset=utf-8" });
      return res.end(appPage("Not linked", code ? "not signed in to the app" : "no configure_code"));
    }
    const answer = await api("POST", "/v1/sign-ins/redeem", { code, subject: decodeURIComponent(user) });
    const body = await answer.json();
    res.writeHead(answer.status === 200 ? 200 : 409, { "content-type": "text/html; charset=utf-8" });
    return res.end(
      answer.status === 200
        ? appPage("Configure linked", `${body.subject} is linked to ${body.userId}`)
        : appPage("Not linked", `${answer.status} ${body.error?.code}`),
    );
  }
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  return res.end(appPage("The app", user ? `signed in as ${decodeURIComponent(user)}` : "signed out"));
}

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  standin = await startStandin({ apiKey: API_KEY, agent: AGENT });
  edge = await listen(proxyToWorker);
  app = await listen(appHandler);
  worker = await startWorker({
    vars: {
      CONFIGURE_AGENT: AGENT,
      CONFIGURE_API_KEY: API_KEY,
      CONFIGURE_BASE_URL: standin.url,
      CONFIGURE_SIGN_IN_ORIGIN: standin.url,
      CONFIGURE_PUBLISHABLE_KEY: "pk_local_standin",
      CONFIGURE_EDGE_API_SECRET: SECRET,
      CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
      PUBLIC_URL: edge.origin,
      ALLOWED_RETURN_ORIGINS: app.origin,
    },
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await worker?.dispose();
  await app?.close();
  await edge?.close();
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

test("message flow, clicked through in local mode, ends on the 'return to your conversation' page; the confirmation word links", async () => {
  const subject = `browser-message-${Date.now()}`;
  const response = await api("POST", "/v1/journeys", { subject, displayName: "Local Agent", connectors: ["gmail"] });
  assert.equal(response.status, 201, await response.clone().text());
  const created = await response.json();
  assert.ok(created.url.startsWith(`${standin.url}/${AGENT}?`), created.url);
  // No phone candidates: the journey is bound by a confirmation word the user sends back.
  assert.equal(created.binding, "confirmation");
  assert.match(created.confirmation, /^\d{6}$/);
  const hosted = new URL(created.url);
  assert.equal(hosted.searchParams.get("message_body"), `done ${created.confirmation}`);
  assert.equal(hosted.searchParams.get("message_complete_url"), `${edge.origin}/auth/configure/complete`);
  const page = await newPage();
  await page.goto(created.url);
  assert.match(await page.locator(".banner").textContent(), /LOCAL STAND-IN/);
  await shot(page, "local-hosted-page");
  await Promise.all([page.waitForURL(`${edge.origin}/message-done`), page.click("#continue")]);
  assert.match(await page.locator("h1").textContent(), /return to your conversation/i);
  assert.match(await page.locator("main").textContent(), /return to your conversation/i);
  await shot(page, "message-done");
  await page.close();
  // The completion is pending: nothing linked until the conversation brings the word back.
  assert.equal((await api("GET", `/v1/links/${subject}`)).status, 404);
  const resolve = (messageText) => api("POST", "/v1/identity/resolve", { subject, messageText });
  const wrong = String((Number(created.confirmation) + 1) % 1000000).padStart(6, "0");
  const notYet = await resolve(`done ${wrong}`);
  assert.notEqual((await notYet.json()).linked, true);
  assert.equal((await api("GET", `/v1/links/${subject}`)).status, 404);
  // The user's message "done <word>" arrives in the conversation of this subject: linked.
  const confirmed = await resolve(`done ${created.confirmation}`);
  assert.equal(confirmed.status, 200, await confirmed.clone().text());
  const identity = await confirmed.json();
  assert.equal(identity.linked, true);
  assert.equal(identity.source, "webhook");
  assert.equal(identity.userId, "user_14155550123", "the user the hosted page signed in (its phone field)");
  const link = await (await api("GET", `/v1/links/${subject}`)).json();
  assert.match(link.token, /^cfgtok_/);
  assert.equal(link.source, "webhook");
  assert.equal(link.userId, identity.userId);
});

test("web flow, clicked through in local mode, ends at the app's returnAfter, which redeems the code for its user; a cancel ends on the error page", async () => {
  const subject = `browser-web-${Date.now()}`;
  const page = await newPage();
  await page.goto(`${app.origin}/login?user=${encodeURIComponent(subject)}`);
  await page.goto(`${app.origin}/connect`);
  assert.ok(page.url().startsWith(`${standin.url}/${AGENT}?`), page.url());
  assert.equal(new URL(page.url()).searchParams.get("return_to"), `${edge.origin}/api/configure/callback`);
  await Promise.all([page.waitForURL(`${app.origin}/account?configure_code=*`), page.click("#continue")]);
  assert.match(new URL(page.url()).searchParams.get("configure_code"), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(await page.locator("h1").textContent(), "Configure linked");
  assert.equal(await page.locator("#result").textContent(), `${subject} is linked to user_14155550123`);
  await shot(page, "web-linked");
  const link = await (await api("GET", `/v1/links/${subject}`)).json();
  assert.equal(link.source, "callback");
  assert.equal(link.userId, "user_14155550123");
  assert.match(link.token, /^cfgtok_/);
  // Reloading the returnAfter page replays the code: refused, the link stays.
  await page.reload();
  assert.equal(await page.locator("#result").textContent(), "404 code_not_found");
  assert.equal((await (await api("GET", `/v1/links/${subject}`)).json()).token, link.token);

  const cancelled = await (await api("POST", "/v1/sign-ins", { subject: `${subject}-cancel`, returnAfter: `${app.origin}/account` })).json();
  await page.goto(cancelled.url);
  await Promise.all([page.waitForURL(/\/api\/configure\/callback\?/), page.click("#cancel")]);
  assert.match(await page.locator("h1").textContent(), /did not complete/i);
  assert.match(await page.locator("main").textContent(), /cancelled/i);
  await shot(page, "web-error");
  await page.emulateMedia({ colorScheme: "dark" });
  await shot(page, "web-error-dark");
  assert.equal((await api("GET", `/v1/links/${encodeURIComponent(`${subject}-cancel`)}`)).status, 404);
  await page.close();
});

test("a ticket URL forwarded to someone else links nobody: their app session redeems as them and is refused", async () => {
  const victim = `browser-victim-${Date.now()}`;
  const other = `browser-other-${Date.now()}`;
  const created = await api("POST", "/v1/sign-ins", { subject: victim, returnAfter: `${app.origin}/account` });
  assert.equal(created.status, 201);
  const { url } = await created.json();
  // Another person's browser: no cookies of the victim, signed in to the app as themselves.
  await browser.context.clearCookies();
  const page = await newPage();
  await page.goto(`${app.origin}/login?user=${encodeURIComponent(other)}`);
  await page.goto(url);
  await Promise.all([page.waitForURL(`${app.origin}/account?configure_code=*`), page.click("#continue")]);
  assert.equal(await page.locator("h1").textContent(), "Not linked");
  assert.equal(await page.locator("#result").textContent(), "409 subject_mismatch");
  await shot(page, "web-forwarded");
  assert.equal((await api("GET", `/v1/links/${victim}`)).status, 404);
  assert.equal((await api("GET", `/v1/links/${other}`)).status, 404);
  await page.close();
});

test("no page made a request off this machine, and every screenshot was written", () => {
  assert.deepEqual(offsite, []);
  for (const name of ["link-builder", "link-builder-errors-dark", "local-hosted-page", "message-done", "web-linked", "web-error", "web-forwarded"]) {
    assert.ok(fs.statSync(path.join(SHOTS, `${name}.png`)).size > 1000, name);
  }
});
