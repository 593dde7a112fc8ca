// The ledger's Durable Object (src/worker/ledger.rs, class ConfigureLedger,
// bound as CONFIGURE_LEDGER) under workerd, talked to directly: commands
// POSTed as JSON to the stub of the object their key names, as the
// Worker's DurableLedger sends them. One claim wins among many, a release
// gives the item back, a spent item stays spent, swap compares (the
// semantics of storage/ledger.rs, run by the object as is), a session
// slides, a malformed command is 400, rows survive a new stub and a
// restart, and the alarm purges expired rows. Without the binding the
// Worker still answers, on KV alone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startWorker, LEDGER_BINDING } from "../support/worker.mjs";

let worker;
let namespace;
before(async () => {
  worker = await startWorker({ assets: false });
  namespace = await worker.ledgerNamespace();
});
after(async () => {
  await worker?.dispose();
});

/** The object a key lives in: the key up to its first `#` (storage/ledger.rs `object_name`). */
const objectName = (key) => key.split("#")[0];

/** POSTs `body` to the object `name`, as DurableLedger does. */
async function post(name, body, ns = namespace, init = {}) {
  const stub = ns.get(ns.idFromName(name));
  const response = await stub.fetch("https://ledger/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    ...init,
  });
  const text = await response.text();
  return { status: response.status, text };
}

/** Runs one command in its object and answers the parsed `Answer`. */
async function run(command, ns = namespace) {
  const { status, text } = await post(objectName(command.key ?? command.prefix), JSON.stringify(command), ns);
  assert.equal(status, 200, `${command.op} ${command.key ?? command.prefix}: ${text}`);
  return JSON.parse(text);
}

const unique = (kind) => `${kind}:${Math.random().toString(36).slice(2)}`;

test("100 concurrent claims of one item: exactly one wins", async () => {
  const key = unique("journey");
  const now = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) => run({ op: "claim", key, holder: `h${i}`, now, until: now + 60_000 })),
  );
  assert.equal(answers.filter((a) => a.ok === true).length, 1, "one winner");
  assert.equal(answers.filter((a) => a.ok === false).length, 99, "every other claim loses");
  // Another item in another object is independent.
  assert.equal((await run({ op: "claim", key: unique("journey"), holder: "h", now, until: now + 60_000 })).ok, true);
});

test("release by its holder gives an item back; spend keeps it used, and release does not revive it", async () => {
  const key = unique("state");
  const now = Date.now();
  const claim = (holder) => run({ op: "claim", key, holder, now, until: now + 60_000 });
  assert.equal((await claim("a")).ok, true);
  assert.equal((await claim("b")).ok, false, "held");
  await run({ op: "release", key, holder: "b" });
  assert.equal((await claim("c")).ok, false, "only its holder releases it");
  assert.equal((await run({ op: "release", key, holder: "a" })).ok, true);
  assert.equal((await claim("d")).ok, true, "released: usable again");
  assert.equal((await run({ op: "spend", key, until: now + 600_000 })).ok, true);
  assert.equal((await claim("e")).ok, false, "spent");
  await run({ op: "release", key, holder: "d" });
  assert.equal((await claim("f")).ok, false, "a release does not revive a spent item");
  // A lease that ended: the item is usable again (the command's clock).
  const other = unique("ticket");
  assert.equal((await run({ op: "claim", key: other, holder: "a", now, until: now + 10 })).ok, true);
  assert.equal((await run({ op: "claim", key: other, holder: "b", now: now + 10, until: now + 60_000 })).ok, true);
});

test("swap writes only over the expected value; a tombstone matches neither a value nor absence", async () => {
  const key = `${unique("link")}#refresh`;
  const now = Date.now();
  const swap = (expected, value, more = {}) => run({ op: "swap", key, now, expected, value, until: 0, ...more });
  const read = () => run({ op: "read", key, now });
  assert.deepEqual(await read(), { ok: true, known: false }, "never written");
  assert.equal((await swap(null, "one")).ok, true);
  assert.equal((await swap(null, "two")).ok, false, "not absent any more");
  assert.equal((await swap("zero", "two")).ok, false, "another value");
  assert.equal((await swap("one", "two")).ok, true);
  assert.deepEqual(await read(), { ok: true, value: "two", known: true });
  assert.equal((await swap("two", null)).ok, true, "a tombstone");
  assert.deepEqual(await read(), { ok: true, known: true }, "known, with no value");
  assert.equal((await swap(null, "three")).ok, false, "a tombstone is not absent: nothing deleted comes back");
  assert.equal((await swap("", "three")).ok, false, "nor an empty value");
  assert.equal((await swap(null, "three", { orDeleted: true })).ok, true, "unless orDeleted lets it");
  assert.equal((await read()).value, "three");
  // put and delete, whatever was there; the rest of the object stays.
  await run({ op: "put", key: `${objectName(key)}#other`, value: "kept", until: 0 });
  await run({ op: "delete", key });
  assert.deepEqual(await read(), { ok: true, known: false });
  assert.equal((await run({ op: "read", key: `${objectName(key)}#other`, now })).value, "kept");
});

test("a session row slides under its cap, ends when idle, and a user's sessions go at once", async () => {
  const user = unique("session");
  const key = `${user}#s1`;
  const now = Date.now();
  const cap = now + 10_000;
  await run({ op: "put", key, value: String(cap), until: now + 100 });
  const touch = (at) => run({ op: "touch", key, now: at, idleMs: 100 });
  assert.equal((await touch(now + 50)).ok, true);
  assert.equal((await touch(now + 149)).ok, true, "slid past its first window");
  assert.equal((await touch(now + 240)).ok, true);
  assert.equal((await touch(now + 341)).ok, false, "idle past its window");
  // Never past the cap.
  await run({ op: "put", key, value: String(cap), until: cap - 10 });
  assert.equal((await touch(cap - 20)).ok, true);
  assert.equal((await touch(cap)).ok, false, "at the cap");
  // delete-prefix: every session of the user, none of another's.
  const other = `${unique("session")}#s9`;
  for (const k of [`${user}#s2`, `${user}#s3`, other]) {
    await run({ op: "put", key: k, value: String(cap), until: cap });
  }
  await run({ op: "deletePrefix", prefix: `${user}#` });
  assert.equal((await run({ op: "touch", key: `${user}#s2`, now, idleMs: 100 })).ok, false);
  assert.equal((await run({ op: "touch", key: `${user}#s3`, now, idleMs: 100 })).ok, false);
  assert.equal((await run({ op: "touch", key: other, now, idleMs: 100 })).ok, true);
});

test("a malformed command is 400, another method 405; the object still answers after", async () => {
  const name = unique("journey");
  for (const body of ["{not json", "{}", JSON.stringify({ op: "steal", key: name }), JSON.stringify({ op: "claim", key: name, holder: "h" })]) {
    const { status, text } = await post(name, body);
    assert.equal(status, 400, `${body}: ${text}`);
    assert.match(text, /not a ledger command/);
  }
  const stub = namespace.get(namespace.idFromName(name));
  const get = await stub.fetch("https://ledger/");
  assert.equal(get.status, 405);
  await get.text();
  const now = Date.now();
  assert.equal((await run({ op: "claim", key: name, holder: "h", now, until: now + 1000 })).ok, true);
});

test("a row is there for a new stub of the same name", async () => {
  const key = unique("link");
  await run({ op: "put", key, value: "sealed-link", until: 0 });
  const fresh = await worker.ledgerNamespace();
  const stub = fresh.get(fresh.idFromName(key));
  const response = await stub.fetch("https://ledger/", {
    method: "POST",
    body: JSON.stringify({ op: "read", key, now: Date.now() }),
  });
  assert.deepEqual(await response.json(), { ok: true, value: "sealed-link", known: true });
});

test("the alarm purges expired rows (claims, spent markers, tombstones)", async () => {
  const now = Date.now();
  const keys = [unique("journey"), unique("state"), unique("link")];
  await run({ op: "claim", key: keys[0], holder: "h", now, until: now + 500 });
  await run({ op: "spend", key: keys[1], until: now + 500 });
  await run({ op: "put", key: keys[2], value: null, until: now + 500 });
  // A row that stays: the alarm is set again for it and it survives.
  const stays = `${keys[2]}#stays`;
  await run({ op: "put", key: stays, value: "v", until: now + 600_000 });
  // Read with a clock before the rows expire: only a purge makes them unknown.
  const deadline = Date.now() + 10_000;
  let known;
  do {
    await new Promise((resolve) => setTimeout(resolve, 250));
    known = await Promise.all(keys.map((key) => run({ op: "read", key, now }).then((a) => a.known)));
  } while (known.some(Boolean) && Date.now() < deadline);
  assert.deepEqual(known, [false, false, false], "purged by the object's alarm");
  assert.equal((await run({ op: "read", key: stays, now })).value, "v");
});

test("rows outlive a restart with `persist`", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ledger-persist-"));
  const key = unique("link");
  try {
    const first = await startWorker({ assets: false, persist: dir });
    try {
      await run({ op: "put", key, value: "kept", until: 0 }, await first.ledgerNamespace());
    } finally {
      await first.dispose();
    }
    const second = await startWorker({ assets: false, persist: dir });
    try {
      const answer = await run({ op: "read", key, now: Date.now() }, await second.ledgerNamespace());
      assert.deepEqual(answer, { ok: true, value: "kept", known: true });
    } finally {
      await second.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("/healthz: the ledger is taken when bound; without the binding the Worker still answers, on KV alone", async () => {
  const bound = await (await worker.fetch("/healthz")).json();
  assert.equal(bound.settings[LEDGER_BINDING], true);
  assert.ok(!bound.problems.some((p) => p.setting === LEDGER_BINDING), JSON.stringify(bound.problems));
  const kvOnly = await startWorker({ assets: false, ledger: false });
  try {
    const response = await kvOnly.fetch("/healthz");
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.settings[LEDGER_BINDING], false);
    assert.ok(body.problems.some((p) => p.setting === LEDGER_BINDING), "names the missing ledger");
  } finally {
    await kvOnly.dispose();
  }
});

test("the mounted example declares the class too: its routes take the ledger", async () => {
  const mounted = await startWorker({ bundle: "examples/mounted-worker/build", assets: false });
  try {
    const health = await (await mounted.fetch("/healthz")).json();
    assert.ok(!health.problems.some((p) => p.setting === LEDGER_BINDING), JSON.stringify(health.problems));
    const ns = await mounted.ledgerNamespace();
    const key = unique("journey");
    const now = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => run({ op: "claim", key, holder: `h${i}`, now, until: now + 60_000 }, ns)));
    assert.equal(answers.filter((a) => a.ok).length, 1);
  } finally {
    await mounted.dispose();
  }
});
