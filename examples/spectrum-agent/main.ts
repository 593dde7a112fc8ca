// The agent, runnable: each line on stdin is a message from one sender, and
// the agent's replies are printed. Against `make dev` (see README.md):
//   CONFIGURE_EDGE_URL=http://127.0.0.1:8787 CONFIGURE_EDGE_API_SECRET=... node main.ts
// With Photon, `app` would be `await Spectrum({ projectId, projectSecret,
// providers: [imessage.config()] })` and `text` spectrum-ts's own.
import { createConfigureEdge } from "configure-edge";
import { runAgent } from "./agent.ts";
import { fakeSpectrum, text } from "./fake-spectrum.ts";

// Node's `process`, typed for what this file reads (the example installs no @types/node).
interface NodeProcess {
  env: Record<string, string | undefined>;
  stdin: AsyncIterable<Uint8Array>;
  exitCode?: number;
}
const { env, stdin } = (globalThis as unknown as { process: NodeProcess }).process;

function required(name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set (see README.md)`);
  return value;
}

/** stdin, a line at a time. */
async function* lines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, end).replace(/\r$/, "");
      pending = pending.slice(end + 1);
    }
  }
  pending += decoder.decode();
  if (pending) yield pending;
}

const edge = createConfigureEdge({
  url: required("CONFIGURE_EDGE_URL"),
  secret: required("CONFIGURE_EDGE_API_SECRET"),
});
const app = fakeSpectrum();
const space = { id: "stdin" };
const sender = { id: env.SPECTRUM_SENDER_ID || "local-tester", phone: env.SPECTRUM_SENDER_PHONE };

const agent = runAgent({
  app,
  edge,
  text,
  displayName: "Spectrum example",
  messageLinePhone: env.AGENT_PHONE_NUMBER,
  // The agent's own work would go here; this one says who it is talking to.
  runAgentTurn({ message, identity }) {
    const said = message.content.type === "text" ? message.content.text : message.content.type;
    const who = identity.linked ? `linked user ${identity.userId} (${identity.source})` : `${identity.externalId}, not linked`;
    console.log(`(agent turn: "${said}" from ${who})`);
  },
});

for await (const line of lines(stdin)) {
  if (!line.trim()) continue;
  const replies = await app.send(space, sender, line).catch(() => undefined);
  if (!replies) break; // the agent's loop stopped: `await agent` below throws its error
  for (const reply of replies) console.log(`agent> ${reply.text}`);
}
app.close();
await agent;
