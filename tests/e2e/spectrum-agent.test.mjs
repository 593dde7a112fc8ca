// The example under examples/spectrum-agent: the seed's Photon/Spectrum
// agent loop ported to configure-edge. It is copied into a consumer project
// whose node_modules/configure-edge links to pkg/ (as after `npm install`),
// type-checked there with the repo's tsc, then run as it is by Node's type
// stripping (no compile step: the test imports the .ts modules) against the
// built Worker in workerd and the Configure stand-in, fed by the example's
// fake Spectrum stream. Also main.ts as a process, lines on its stdin.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { consumerDir, ROOT } from "../support/consumer.mjs";
import { startWorker } from "../support/worker.mjs";
import { startStandin } from "../support/configure-standin.mjs";

const EXAMPLE = path.join(ROOT, "examples/spectrum-agent");
const SOURCES = ["agent.ts", "fake-spectrum.ts", "main.ts"];
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");

const API_KEY = "sk_test_e2e_spectrum_agent";
// >= 32 characters, >= 16 distinct: a weaker secret counts as missing.
const SECRET = "e2e-spectrum-agent-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const SIGN_IN = "https://sign-in.me";
const AGENT_LINE = "+14155550000";

/** A consumer project holding the example's files (and `files`, name -> text). */
function exampleProject(files = {}) {
  const consumer = consumerDir("configure-edge-spectrum-");
  for (const name of [...SOURCES, "tsconfig.json"]) {
    consumer.write(name, fs.readFileSync(path.join(EXAMPLE, name), "utf8"));
  }
  consumer.write("package.json", JSON.stringify({ private: true, type: "module", dependencies: { "configure-edge": "*" } }));
  for (const [name, text] of Object.entries(files)) consumer.write(name, text);
  return consumer;
}

function tsc(dir) {
  const run = spawnSync(process.execPath, [TSC, "-p", dir, "--pretty", "false"], { encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The 1-based line of `needle` in `text` (which must hold it once). */
function lineOf(text, needle) {
  const at = text.indexOf(needle);
  assert.ok(at >= 0 && text.indexOf(needle, at + 1) < 0, `exactly one "${needle}"`);
  return text.slice(0, at).split("\n").length;
}

test("the example type-checks against the built package, and tsc does fail on its type errors", () => {
  const project = exampleProject();
  try {
    const checked = tsc(project.dir);
    assert.equal(checked.status, 0, `tsc failed:\n${checked.output}`);
  } finally {
    project.remove();
  }
  // The same files with three mistakes: a number where the package's journey
  // options take a string, a field MessageIdentity does not have, and an enum
  // (not erasable: Node could not run it by type stripping).
  const agent = fs.readFileSync(path.join(EXAMPLE, "agent.ts"), "utf8");
  const broken = agent
    .replace('messageBody: "done",', "messageBody: 42,")
    .replace("You are ${identity.userId}.", "You are ${identity.userIdentifier}.")
    .concat("\nexport enum Mode { Listening }\n");
  assert.notEqual(broken, agent);
  const mistakes = exampleProject({ "agent.ts": broken });
  try {
    const checked = tsc(mistakes.dir);
    assert.notEqual(checked.status, 0, "tsc accepted the broken example");
    for (const needle of ["messageBody: 42,", "identity.userIdentifier", "export enum Mode"]) {
      assert.match(checked.output, new RegExp(`agent\\.ts\\(${lineOf(broken, needle)},`), `no error at ${needle}:\n${checked.output}`);
    }
  } finally {
    mistakes.remove();
  }
});

test("the example holds no sk_ key, no token store and no import of the configure SDK", () => {
  for (const name of [...SOURCES, "tsconfig.json"]) {
    const source = fs.readFileSync(path.join(EXAMPLE, name), "utf8");
    assert.doesNotMatch(source, /sk_/, `${name} mentions an sk_ key`);
    assert.doesNotMatch(source, /\bfrom\s*["']configure(\/[^"']*)?["']|import\s*\(\s*["']configure["']/, `${name} imports the SDK`);
    assert.doesNotMatch(source, /CONFIGURE_API_KEY|CONFIGURE_PUBLISHABLE_KEY/, `${name} reads a Configure key`);
    assert.doesNotMatch(source, /\bstore\s*\.\s*\w+\s*\(/, `${name} calls a token store`);
  }
  // The loop is the seed's: one import from the package, and it is types only.
  const agent = fs.readFileSync(path.join(EXAMPLE, "agent.ts"), "utf8");
  assert.deepEqual(
    [...agent.matchAll(/^import .*$/gm)].map(([line]) => line),
    ['import type { ConfigureEdgeClient, MessageIdentity } from "configure-edge";'],
  );
  assert.match(agent, /for await \(const \[space, message\] of app\.messages\)/);
  assert.match(agent, /const subjectKey = message\.sender\?\.id \|\| space\.id;/);
});

describe("against the Worker and the Configure stand-in", () => {
  let standin;
  let worker;
  let project;
  let agent; // the running example: { say, turns, stop }

  before(async () => {
    standin = await startStandin({ apiKey: API_KEY, agent: AGENT });
    worker = await startWorker({
      vars: {
        CONFIGURE_AGENT: AGENT,
        CONFIGURE_API_KEY: API_KEY,
        CONFIGURE_BASE_URL: standin.url,
        CONFIGURE_EDGE_API_SECRET: SECRET,
        CONFIGURE_EDGE_SEALING_KEYS: `k1:${randomBytes(32).toString("base64")}`,
        CONFIGURE_PUBLISHABLE_KEY: "pk_test_spectrum",
        CONFIGURE_API_TIMEOUT_MS: "2000",
        CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
      },
    });
    // A client.mjs in the consumer project: createConfigureEdge by name from "configure-edge".
    project = exampleProject({ "client.mjs": 'export { createConfigureEdge } from "configure-edge";\n' });
    agent = await startExample(project, worker.url);
  });
  after(async () => {
    await agent?.stop();
    await worker?.dispose();
    await standin?.close();
    project?.remove();
  });

  test("phone binding: connect, the hosted completion links at once, then the agent knows the user", async () => {
    const phone = "+14155557001";
    const space = { id: "space-phone" };
    const sender = { id: "imessage-phone-user", phone };
    const subject = "spectrum:imessage-phone-user";

    // Before linking: the agent's turn gets the externalId fallback.
    assert.deepEqual(await agent.say(space, sender, "hello"), []);
    assert.deepEqual(agent.turns.at(-1), {
      text: "hello",
      identity: { externalId: subject, linked: false, approved: false, recognized: false, source: "external_id" },
    });
    assert.deepEqual(texts(await agent.say(space, sender, "who am I?")), ['You are not linked yet: send "connect" to link your profile.']);

    const turnsBefore = agent.turns.length;
    const url = hostedUrl(await agent.say(space, sender, "please connect my calendar"));
    assert.equal(agent.turns.length, turnsBefore, "a connect message is not an agent turn");
    assert.equal(url.searchParams.get("connectors"), "gmail,calendar");
    assert.equal(url.searchParams.get("agent_name"), "Spectrum test");
    assert.equal(url.searchParams.get("message_line_phone"), AGENT_LINE);
    assert.match(url.searchParams.get("message_body"), /^done [0-9]{6}$/);

    // sign-in.me verifies the user's phone on the hosted page: from then on
    // Configure knows it, and the completion's token is that phone's owner's.
    const { userId } = standin.registerPhone(phone);
    const signedIn = standin.issueToken({ userId });
    assert.deepEqual(await completeHosted(url, signedIn), [200, { ok: true, linked: true }]);

    await agent.say(space, sender, "what is on my calendar today?");
    assert.deepEqual(agent.turns.at(-1), {
      text: "what is on my calendar today?",
      identity: { externalId: subject, token: signedIn.token, userId, linked: true, approved: true, recognized: false, source: "token" },
    });
    assert.deepEqual(texts(await agent.say(space, sender, "who am i")), [`You are ${userId}.`]);
    // Another sender in the same space is someone else.
    assert.deepEqual(texts(await agent.say(space, { id: "imessage-someone-else" }, "who am I")), [
      'You are not linked yet: send "connect" to link your profile.',
    ]);
  });

  test("confirmation word: an unknown phone leaves the completion pending until the user texts the word back", async () => {
    const space = { id: "space-word", phone: "+14155557002" }; // never registered at the stand-in
    const sender = { id: "imessage-word-user" };
    const url = hostedUrl(await agent.say(space, sender, "link my account"));
    const textBack = url.searchParams.get("message_body");
    assert.match(textBack, /^done [0-9]{6}$/);

    const signedIn = standin.issueToken();
    assert.deepEqual(await completeHosted(url, signedIn), [200, { ok: true, linked: false, pending: true }]);
    assert.deepEqual(texts(await agent.say(space, sender, "who am I")), ['You are not linked yet: send "connect" to link your profile.']);
    // A wrong word links nothing.
    const [, word] = textBack.split(" ");
    const wrong = `done ${String((Number(word) + 1) % 1_000_000).padStart(6, "0")}`;
    await agent.say(space, sender, wrong);
    assert.equal(agent.turns.at(-1).identity.linked, false);

    // The text-back the hosted page suggests, sent from the same conversation.
    assert.deepEqual(await agent.say(space, sender, textBack), []);
    assert.deepEqual(agent.turns.at(-1), {
      text: textBack,
      identity: {
        externalId: "spectrum:imessage-word-user", token: signedIn.token, userId: signedIn.userId,
        linked: true, approved: true, recognized: false, source: "token",
      },
    });
    assert.deepEqual(texts(await agent.say(space, sender, "who am I")), [`You are ${signedIn.userId}.`]);
  });

  test("non-text messages are skipped, and a sender without an id is its space", async () => {
    const space = { id: "space-no-sender" };
    const turnsBefore = agent.turns.length;
    assert.deepEqual(await agent.say(space, { id: "x" }, { type: "reaction", emoji: "👍" }), []);
    assert.deepEqual(await agent.say(space, { id: "x" }, { type: "attachment", name: "photo.jpg" }), []);
    assert.equal(agent.turns.length, turnsBefore);
    await agent.say(space, undefined, "hi");
    assert.equal(agent.turns.at(-1).identity.externalId, "spectrum:space-no-sender");
  });

  test("one sender's message the Worker refuses does not stop the agent for the others", async () => {
    const space = { id: "space-hostile" };
    // A 20,000-character text is cut to what the Worker takes: no error at all.
    await agent.say(space, { id: "long-talker" }, `done ${"x".repeat(20_000)}`);
    assert.equal(agent.turns.at(-1).identity.externalId, "spectrum:long-talker");
    // A sender id longer than the Worker's subject limit: refused (400), reported, skipped.
    const before = agent.errors.length;
    assert.deepEqual(await agent.say(space, { id: "x".repeat(2000) }, "hello"), []);
    assert.equal(agent.errors.length, before + 1);
    assert.deepEqual([agent.errors.at(-1).status, agent.errors.at(-1).code], [400, "bad_request"]);
    // The next sender is answered.
    assert.deepEqual(texts(await agent.say(space, { id: "next-sender" }, "who am I")), [
      'You are not linked yet: send "connect" to link your profile.',
    ]);
  });

  test("main.ts runs by type stripping: stdin lines in, the agent's replies out", async () => {
    const run = await runMain(project, { CONFIGURE_EDGE_URL: worker.url, CONFIGURE_EDGE_API_SECRET: SECRET }, "hello\n\nwho am i\nconnect\n");
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n");
    assert.equal(lines.length, 3, run.stdout);
    assert.equal(lines[0], '(agent turn: "hello" from spectrum:local-tester, not linked)');
    assert.equal(lines[1], 'agent> You are not linked yet: send "connect" to link your profile.');
    assert.match(lines[2], /^agent> Connect your profile: https:\/\/sign-in\.me\/my-agent\?\S*journey=/);
    // A wrong secret: the Worker's 401 ends the run with the client's error.
    const refused = await runMain(project, { CONFIGURE_EDGE_URL: worker.url, CONFIGURE_EDGE_API_SECRET: `${SECRET}-wrong` }, "hello\n");
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /ConfigureEdgeError/);
    assert.doesNotMatch(refused.stderr + refused.stdout, new RegExp(SECRET), "the secret is not printed");
    // No settings: it says which one is missing.
    const unset = await runMain(project, {}, "");
    assert.notEqual(unset.code, 0);
    assert.match(unset.stderr, /CONFIGURE_EDGE_URL is not set/);
  });

  /** The sign-in.me page's completion: POST message_complete_url from the sign-in origin. */
  async function completeHosted(url, signedIn) {
    const completeUrl = url.searchParams.get("message_complete_url");
    assert.equal(new URL(completeUrl).origin, worker.url, "the completion goes to this Worker");
    const response = await fetch(completeUrl, {
      method: "POST",
      headers: { "content-type": "application/json", origin: SIGN_IN },
      body: JSON.stringify({ token: signedIn.token, userId: signedIn.userId, agent: AGENT, journeyId: url.searchParams.get("journey") }),
    });
    return [response.status, await response.json()];
  }
});

/**
 * Runs the example's runAgent with its fake stream and a client for the
 * Worker, importing the consumer's .ts modules by Node's type stripping.
 */
async function startExample(project, workerUrl) {
  const load = (name) => import(pathToFileURL(path.join(project.dir, name)).href);
  const { runAgent } = await load("agent.ts");
  const { fakeSpectrum, text } = await load("fake-spectrum.ts");
  const { createConfigureEdge } = await load("client.mjs");
  const app = fakeSpectrum();
  const turns = [];
  const errors = [];
  const running = runAgent({
    app,
    edge: createConfigureEdge({ url: workerUrl, secret: SECRET, timeoutMs: 5000 }),
    text,
    displayName: "Spectrum test",
    messageLinePhone: AGENT_LINE,
    runAgentTurn: ({ message, identity }) => {
      turns.push({ text: message.content.text, identity });
    },
    onError: (error) => errors.push(error),
  });
  // If the loop throws, a pending say() fails with the loop's own error.
  const ended = running.then(() => {
    throw new Error("the agent's loop ended");
  });
  ended.catch(() => {});
  return {
    turns,
    errors,
    say: (space, sender, content) => Promise.race([app.send(space, sender, content), ended]),
    async stop() {
      app.close();
      await running;
    },
  };
}

const texts = (replies) => replies.map((reply) => {
  assert.equal(reply.type, "text");
  return reply.text;
});

/** The one reply to a connect message: its hosted URL, checked. */
function hostedUrl(replies) {
  const [reply, ...more] = texts(replies);
  assert.equal(more.length, 0, `one reply: ${JSON.stringify(replies)}`);
  const match = /^Connect your profile: (\S+)$/.exec(reply);
  assert.ok(match, reply);
  const url = new URL(match[1]);
  assert.equal(`${url.origin}${url.pathname}`, `${SIGN_IN}/${AGENT}`);
  assert.equal(url.searchParams.get("delivery"), "message");
  assert.match(url.searchParams.get("journey"), /^[A-Za-z0-9_-]{43}$/);
  assert.ok(url.searchParams.get("message_complete_url"), "the URL carries message_complete_url");
  return url;
}

/** main.ts as a process with `env` and `input` on stdin: { code, stdout, stderr }. */
function runMain(project, env, input) {
  const childEnv = { ...process.env, ...env };
  // Only the settings given here (and not the test runner's own marker).
  for (const name of ["CONFIGURE_EDGE_URL", "CONFIGURE_EDGE_API_SECRET", "NODE_TEST_CONTEXT"]) {
    if (!(name in env)) delete childEnv[name];
  }
  const child = spawn(process.execPath, ["main.ts"], { cwd: project.dir, env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`main.ts did not finish:\n${stdout}\n${stderr}`));
    }, 20_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
