/**
 * Lesson 07's rows of the delivery benchmark (shared/bench/delivery.ts): the same feed pushed over
 * an event stream (this lesson's server), and over a WebSocket (a small server on the `ws`
 * package, for comparison; lesson 06 builds WebSockets). Beside them, lesson 05's polling rows,
 * run on lesson 05's reference: they are the baseline the push rows are compared with, so they
 * need no lesson 05 of the learner's.
 */
import http from "node:http";
import { longPoll, shortPoll } from "#reference/lesson-05-polling/client.ts";
import { MessageFeed, type Message } from "#reference/lesson-05-polling/feed.ts";
import {
  createApp,
  createServer as createPollingServer,
} from "#reference/lesson-05-polling/server.ts";
import { createServer } from "#lesson/lesson-07-sse/server.ts";
import { createParser } from "eventsource-parser";
import { WebSocket, WebSocketServer } from "ws";
import type { DeliveryStrategy, DeliveryTarget } from "../../shared/bench/delivery.ts";

/** A feed with room for the whole stream, and the publisher's side: POST /messages, as lesson 05. */
function feedTarget(createServerOver: (feed: MessageFeed) => http.Server): DeliveryTarget {
  const feed = new MessageFeed({ maxMessages: 100_000 });
  return {
    createServer: () => createServerOver(feed),
    async publish(origin, index) {
      const response = await fetch(`${origin}/messages`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ author: "bench", text: `message ${index}` }),
      });
      const body = await response.text();
      if (response.status !== 201) throw new Error(`POST answered ${response.status}: ${body}`);
    },
    onAccepted(accepted) {
      feed.on("message", (message) => accepted(message.id));
    },
  };
}

async function deliverAll(
  messages: AsyncIterable<Message>,
  delivered: (id: number) => void,
): Promise<void> {
  for await (const message of messages) delivered(message.id);
}

/** Lesson 05's three polling rows, named as in its own table, on lesson 05's reference. */
export const baselinePollingStrategies: DeliveryStrategy[] = [
  ...[1_000, 100].map((intervalMs): DeliveryStrategy => ({
    name: `short poll, every ${intervalMs} ms`,
    target: () => feedTarget((feed) => createPollingServer({ feed })),
    consume: ({ origin, signal, delivered }) =>
      deliverAll(shortPoll({ url: `${origin}/messages`, intervalMs, signal }), delivered),
  })),
  {
    name: "long poll, wait up to 25 s",
    target: () => feedTarget((feed) => createPollingServer({ feed })),
    consume: ({ origin, signal, delivered }) =>
      deliverAll(longPoll({ url: `${origin}/messages`, waitMs: 25_000, signal }), delivered),
  },
];

/** One GET /events, read with fetch and eventsource-parser until the signal aborts. */
export const serverSentEvents: DeliveryStrategy = {
  name: "Server-Sent Events",
  target: () => feedTarget((feed) => createServer({ feed })),
  async consume({ origin, signal, delivered }) {
    const parser = createParser({ onEvent: (event) => delivered(Number(event.id)) });
    try {
      const response = await fetch(`${origin}/events`, {
        headers: { Accept: "text/event-stream" },
        signal,
      });
      if (response.status !== 200 || response.body === null) {
        throw new Error(`GET /events answered ${response.status}`);
      }
      const decoder = new TextDecoder();
      for await (const chunk of response.body) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  },
};

/**
 * Lesson 05's feed API, and a WebSocket at /ws that sends each message the feed accepts as one
 * text message of its JSON. Nothing is replayed: the benchmark's consumer connects before the
 * first message and stays.
 */
function webSocketServer(feed: MessageFeed): http.Server {
  const server = http.createServer(createApp({ feed }));
  const sockets = new WebSocketServer({ server, path: "/ws" });
  feed.on("message", (message) => {
    const text = JSON.stringify(message);
    for (const socket of sockets.clients) socket.send(text);
  });
  server.on("close", () => sockets.close());
  return server;
}

/** One WebSocket, read with the `ws` client until the signal aborts. */
export const webSocket: DeliveryStrategy = {
  name: "WebSocket (ws)",
  target: () => feedTarget(webSocketServer),
  consume: ({ origin, signal, delivered }) =>
    new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(`${origin.replace(/^http/, "ws")}/ws`);
      socket.on("message", (data) => {
        delivered((JSON.parse(String(data)) as { id: number }).id);
      });
      socket.on("error", (error) => (signal.aborted ? resolve() : reject(error)));
      socket.on("close", () => resolve());
      signal.addEventListener("abort", () => socket.close(1000), { once: true });
    }),
};

/** The rows this lesson adds to the table. */
export const pushStrategies: DeliveryStrategy[] = [serverSentEvents, webSocket];
