// Links under workerd across sealing-key rotation and tampering: a link read
// under an older key is re-sealed under the first key (so the old key can be
// retired), and every plain field of a link record is authenticated with its
// token (a changed userId, source or date makes the link unreadable).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startWorker } from "../support/worker.mjs";
import { startStandin } from "../support/configure-standin.mjs";

const API_KEY = "sk_test_e2e_key_rotation";
const SECRET = "e2e-rotation-api-secret-0123456789-abcdefghij";
const AGENT = "my-agent";
const OLD_KEYS = `old:${randomBytes(32).toString("base64")}`;
const NEW_KEY = `new:${randomBytes(32).toString("base64")}`;
const SIGN_IN = "https://sign-in.me";

let standin;
let persist;

function vars(sealingKeys) {
  return {
    CONFIGURE_AGENT: AGENT,
    CONFIGURE_API_KEY: API_KEY,
    CONFIGURE_BASE_URL: standin.url,
    CONFIGURE_EDGE_API_SECRET: SECRET,
    CONFIGURE_EDGE_SEALING_KEYS: sealingKeys,
    CONFIGURE_SIGN_IN_ORIGIN: SIGN_IN,
    CONFIGURE_API_TIMEOUT_MS: "2000",
  };
}

before(async () => {
  standin = await startStandin({ apiKey: API_KEY, agent: AGENT });
  persist = fs.mkdtempSync(path.join(os.tmpdir(), "configure-edge-rotation-"));
});
after(async () => {
  await standin?.close();
  if (persist) fs.rmSync(persist, { recursive: true, force: true });
});

const agentApi = (w, method, target, body) =>
  w.fetch(target, {
    method,
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Links `subject` through a `binding: "none"` journey; the token it linked. */
async function linkNow(w, subject) {
  const created = await agentApi(w, "POST", "/v1/journeys", { subject, binding: "none" });
  assert.equal(created.status, 201);
  const { journeyId } = await created.json();
  const issued = standin.issueToken();
  const completed = await w.fetch("/auth/configure/complete", {
    method: "POST",
    headers: { "content-type": "application/json", origin: SIGN_IN },
    body: JSON.stringify({ token: issued.token, userId: issued.userId, agent: AGENT, journeyId }),
  });
  assert.equal(completed.status, 200, await completed.clone().text());
  return issued;
}

/** Every link record in KV: [key, parsed value]. */
async function linkRecords(w) {
  const kv = await w.kv();
  const { keys } = await kv.list({ prefix: "link:" });
  return Promise.all(keys.map(async ({ name }) => [name, JSON.parse(await kv.get(name))]));
}

test("a link sealed under a retired key is re-sealed when read, and the old key can go", async () => {
  let w = await startWorker({ vars: vars(OLD_KEYS), persist });
  let issued;
  try {
    issued = await linkNow(w, "rotation:1");
    const [[, record]] = await linkRecords(w);
    assert.equal(record.v, 2);
    assert.match(record.sealedToken, /^old\./);
  } finally {
    await w.dispose();
  }

  // The new key first, the old one still opening.
  w = await startWorker({ vars: vars(`${NEW_KEY},${OLD_KEYS}`), persist });
  try {
    const read = await agentApi(w, "GET", "/v1/links/rotation%3A1");
    assert.equal(read.status, 200);
    assert.equal((await read.json()).token, issued.token);
    const [[, record]] = await linkRecords(w);
    assert.match(record.sealedToken, /^new\./, "re-sealed under the first key as it was read");
  } finally {
    await w.dispose();
  }

  // The old key retired: the link still reads.
  w = await startWorker({ vars: vars(NEW_KEY), persist });
  try {
    const read = await agentApi(w, "GET", "/v1/links/rotation%3A1");
    assert.equal(read.status, 200);
    const body = await read.json();
    assert.equal(body.token, issued.token);
    assert.equal(body.userId, issued.userId);
  } finally {
    await w.dispose();
  }
});

for (const ledger of [false, true]) {
  test(`every plain field of a link is authenticated: a changed one makes it unreadable (${ledger ? "in the ledger" : "KV alone"})`, async () => {
    const w = await startWorker({ vars: vars(NEW_KEY), ledger });
    try {
      await linkNow(w, "tamper:1");
      const kv = await w.kv();
      const [[key, record]] = (await linkRecords(w)).filter(([, r]) => r.userId);
      const original = JSON.stringify(record);
      // Where the Worker reads links: KV alone, or the ledger's object (its
      // source of truth; the KV copy is not read while the object has it).
      const write = async (text) => {
        if (!ledger) return kv.put(key, text);
        const namespace = await w.ledgerNamespace();
        // The object: the key's kind and the first character of its hash
        // (storage/ledger.rs object_name).
        const stub = namespace.get(namespace.idFromName(key.slice(0, key.indexOf(":") + 2)));
        const answer = await stub.fetch("https://ledger/", { method: "POST", body: JSON.stringify({ op: "put", key, value: text, until: 0 }) });
        assert.equal(answer.status, 200);
      };
      for (const change of [
        { userId: "user_attacker" },
        { source: "callback" },
        { linkedAt: "2020-01-01T00:00:00.000Z" },
        { agent: "other-agent" },
        { expiresAt: "2099-01-01T00:00:00.000Z" },
        { v: 1 },
      ]) {
        await write(JSON.stringify({ ...record, ...change }));
        const read = await agentApi(w, "GET", "/v1/links/tamper%3A1");
        assert.equal(read.status, 404, JSON.stringify(change));
      }
      await write(original);
      assert.equal((await agentApi(w, "GET", "/v1/links/tamper%3A1")).status, 200, "the untouched record reads");
    } finally {
      await w.dispose();
    }
  });
}
