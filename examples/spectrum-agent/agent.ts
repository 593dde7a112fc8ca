// The seed's Photon/Spectrum loop ("Message-Agent SSO"), ported to
// configure-edge. The Worker keeps each sender's link, so the agent has no
// token store and no Configure API key: it holds only the Worker's URL and
// its bearer secret (createConfigureEdge, in main.ts). What changed:
//   1. `configure.auth.resolveMessageIdentity` is `edge.resolveMessageIdentity`,
//      without a stored token and with the message's text (a texted-back
//      confirmation word links a pending completion); the store.get before
//      it and the store.save after it are gone;
//   2. `configure.auth.signInUrl` is `await edge.createJourney`, with the
//      subject and the phone candidates (the Worker adds the publishable key,
//      the journey id and its own completion endpoint);
//   3. `new Configure({ apiKey, agent })` is `createConfigureEdge({ url, secret })`.
import type { ConfigureEdgeClient, MessageIdentity } from "configure-edge";

/** Spectrum as far as this loop uses it (spectrum-ts's objects have more). */
export interface SpectrumSpace {
  id: string;
  phone?: string;
}
export interface TextContent {
  type: "text";
  text: string;
}
/** What else a message can carry; the loop skips it, as the seed does. */
export type OtherContent = { type: "attachment"; name: string } | { type: "reaction"; emoji: string };
export interface SpectrumMessage {
  content: TextContent | OtherContent;
  sender?: { id?: string; address?: string; phone?: string };
  reply(content: TextContent): Promise<unknown>;
}
export interface SpectrumApp {
  messages: AsyncIterable<[SpectrumSpace, SpectrumMessage]>;
}

/** The agent's own turn: whatever it does with a message and who sent it. */
export type AgentTurn = (turn: { message: SpectrumMessage; identity: MessageIdentity }) => Promise<void> | void;

export interface AgentOptions {
  app: SpectrumApp;
  edge: ConfigureEdgeClient;
  /** spectrum-ts's `text()`: a text reply. */
  text: (value: string) => TextContent;
  runAgentTurn: AgentTurn;
  displayName?: string;
  messageLinePhone?: string;
  /** A message that failed (the Worker refused or was unreachable); the loop goes on. Default: console.error. */
  onError?: (error: unknown) => void;
}

/**
 * What the Worker accepts from a message (its agent API limits): the text is
 * only searched for a confirmation word, so a very long one is cut; a
 * phone-like id longer than a phone number is not one.
 */
const MAX_MESSAGE_TEXT = 4000; // characters: at most 16 KiB in UTF-8
const MAX_CANDIDATE = 64;

export const wantsConnect = /\b(connect|link|sign[\s-]?in|log[\s-]?in|login)\b/i;
export const asksWhoAmI = /\bwho\s+am\s+i\b/i;

export function phoneCandidatesFromSpectrum(
  space: { phone?: string },
  message: { sender?: { id?: string; address?: string; phone?: string } },
): string[] {
  return [message.sender?.phone, message.sender?.address, message.sender?.id, space.phone].filter(
    (value): value is string => Boolean(value?.trim()),
  );
}

export async function runAgent({
  app,
  edge,
  text,
  runAgentTurn,
  displayName = "Your Agent",
  messageLinePhone,
  onError = (error) => console.error(error),
}: AgentOptions): Promise<void> {
  for await (const [space, message] of app.messages) {
    try {
      await handleMessage(space, message);
    } catch (error) {
      // One sender's message must not stop the agent for everyone; a wrong
      // secret (401) is the agent's own misconfiguration, so it stops.
      if ((error as { code?: unknown }).code === "unauthorized") throw error;
      onError(error);
    }
  }

  async function handleMessage(space: SpectrumSpace, message: SpectrumMessage): Promise<void> {
    if (message.content.type !== "text") return;

    const subjectKey = message.sender?.id || space.id;
    const phoneCandidates = phoneCandidatesFromSpectrum(space, message).filter((c) => c.length <= MAX_CANDIDATE);
    const identity = await edge.resolveMessageIdentity({
      externalId: `spectrum:${subjectKey}`,
      phoneCandidates,
      messageText: message.content.text.slice(0, MAX_MESSAGE_TEXT),
    });

    if (wantsConnect.test(message.content.text)) {
      const { url } = await edge.createJourney({
        subject: `spectrum:${subjectKey}`,
        displayName,
        messageLinePhone,
        messageBody: "done",
        connectors: ["gmail", "calendar"],
        phoneCandidates,
      });

      await message.reply(text(`Connect your profile: ${url}`));
      return;
    }

    if (asksWhoAmI.test(message.content.text)) {
      await message.reply(
        text(identity.linked ? `You are ${identity.userId}.` : 'You are not linked yet: send "connect" to link your profile.'),
      );
      return;
    }

    await runAgentTurn({ message, identity });
  }
}
