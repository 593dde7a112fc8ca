// A stand-in for Spectrum's message stream (spectrum-ts): `messages` is an
// async iterable of [space, message] pairs, `message.reply(content)` answers
// in the thread, and `text(s)` builds a text content. Messages are pushed in
// with `send`, which resolves to the replies the agent made to that message
// once the agent has handled it (asked for the next one).
import type { OtherContent, SpectrumApp, SpectrumMessage, SpectrumSpace, TextContent } from "./agent.ts";

export function text(value: string): TextContent {
  return { type: "text", text: value };
}

export interface FakeSpectrum extends SpectrumApp {
  /** Delivers one message; resolves to the agent's replies to it. */
  send(
    space: SpectrumSpace,
    sender: SpectrumMessage["sender"],
    content: string | TextContent | OtherContent,
  ): Promise<TextContent[]>;
  /** Ends the stream: the agent's loop finishes after the queued messages. */
  close(): void;
}

interface Delivery {
  pair: [SpectrumSpace, SpectrumMessage];
  replies: TextContent[];
  handled: (replies: TextContent[]) => void;
  failed: (error: Error) => void;
}

export function fakeSpectrum(): FakeSpectrum {
  const queue: Delivery[] = [];
  let current: Delivery | undefined;
  let wake: ((delivery: Delivery | undefined) => void) | undefined;
  let closed = false;

  // The loop asks for the next message only once it has handled the current one.
  function finishCurrent(): void {
    current?.handled(current.replies);
    current = undefined;
  }

  async function nextDelivery(): Promise<Delivery | undefined> {
    const queued = queue.shift();
    if (queued || closed) return queued;
    return new Promise((resolve) => {
      wake = resolve;
    });
  }

  const iterator: AsyncIterator<[SpectrumSpace, SpectrumMessage]> = {
    async next() {
      finishCurrent();
      current = await nextDelivery();
      return current ? { done: false, value: current.pair } : { done: true, value: undefined };
    },
    // The loop stopped early (it threw): what it was handling and what is queued will get no answer.
    async return() {
      closed = true;
      const stopped = new Error("the agent's loop stopped");
      for (const delivery of [current, ...queue.splice(0)]) delivery?.failed(stopped);
      current = undefined;
      return { done: true, value: undefined };
    },
  };

  return {
    messages: { [Symbol.asyncIterator]: () => iterator },
    send(space, sender, content) {
      if (closed) return Promise.reject(new Error("the stream is closed"));
      return new Promise((handled, failed) => {
        const replies: TextContent[] = [];
        const message: SpectrumMessage = {
          content: typeof content === "string" ? text(content) : content,
          sender,
          async reply(reply) {
            replies.push(reply);
          },
        };
        const delivery: Delivery = { pair: [space, message], replies, handled, failed };
        if (wake) {
          const waiting = wake;
          wake = undefined;
          waiting(delivery);
        } else {
          queue.push(delivery);
        }
      });
    },
    close() {
      closed = true;
      if (wake) {
        const waiting = wake;
        wake = undefined;
        waiting(undefined);
      }
    },
  };
}
