/**
 * The push rows: "1,000 updates to 50 subscribers", over every way the course has of telling a
 * client that something happened. Each row's server is its lesson's reference; each subscriber is
 * a client nobody in this course wrote wherever there is one.
 *
 *   row                server (reference)                   subscriber
 *   short polling      lesson 05 createServer               lesson 05 shortPoll, every 1,000 ms
 *   long polling       lesson 05 createServer               lesson 05 longPoll, wait 25 s
 *   SSE                lesson 07 createServer (GET /events) the eventsource package
 *   WebSocket          lesson 06 createChatServer (ws)      ws, joined to one room
 *   Socket.IO          lesson 06 createSocketIoServer       socket.io-client, joined to one room
 *   gRPC stream        lesson 10 createServer: Chat         grpc-js, a Chat call that only reads
 *   tRPC subscription  lesson 11 createServer: feed.onMessage  @trpc/client httpSubscriptionLink
 *
 * An update is the text "update <index>". Where the server has a feed (lessons 05, 07, 11),
 * publishing appends it to the feed, as its POST would; where updates come from a client (the
 * chats of lessons 06 and 10), a publisher connected straight to the server, not through the
 * network, sends it, and publish() resolves on the server's acknowledgement (or, for gRPC, which
 * has none, on the publisher's own copy coming back).
 *
 * gRPC's server stream: lesson 10's only server-streaming method, ListUsers, sends what the store
 * holds and ends; it has no "next" to wait for. Chat is the method that pushes: bidirectional, but
 * a subscriber that never writes uses it as a server stream, every message of the room sent to it.
 */
import http from "node:http";
import * as grpc from "@grpc/grpc-js";
import { EventSource } from "eventsource";
import { io as connectSocketIo, type Socket as SocketIoClient } from "socket.io-client";
import { WebSocket } from "ws";
import { longPoll, shortPoll } from "#reference/lesson-05-polling/client.ts";
import { MessageFeed, type Message } from "#reference/lesson-05-polling/feed.ts";
import { createServer as createPollingServer } from "#reference/lesson-05-polling/server.ts";
import { createChatServer } from "#reference/lesson-06-websockets/chat.ts";
import { parseServerMessage } from "#reference/lesson-06-websockets/chat-protocol.ts";
import {
  createSocketIoServer,
  type Ack,
  type ChatMessage as SocketIoMessage,
} from "#reference/lesson-06-websockets/socketio.ts";
import { createServer as createSseServer } from "#reference/lesson-07-sse/server.ts";
import { createServer as createGrpcServer } from "#reference/lesson-10-grpc/server.ts";
import { createUserClient, type ChatMessage } from "#reference/lesson-10-grpc/user-proto.ts";
import { createClient as createTrpcClient } from "#reference/lesson-11-trpc/client.ts";
import { createServer as createTrpcServer } from "#reference/lesson-11-trpc/server.ts";
import { serve, type PushServer, type PushTransport } from "./transport.ts";

/** Room enough in a feed for the warm-up and the 1,000 updates, several times over. */
const FEED_CAPACITY = 100_000;
const ROOM = "updates";
/** Lessons 10 and 11's demo token: the user "demo". */
const TOKEN = "demo-token";

type Subscription = { close(): Promise<void> };

export const pushTransports: PushTransport[] = [
  {
    name: "short polling",
    lesson: "lesson-05",
    start: () => feedServer((feed) => createPollingServer({ feed })),
    subscribe: (port, received) =>
      pollSubscription(received, (signal) =>
        shortPoll({ url: feedUrl(port), intervalMs: 1_000, signal }),
      ),
  },
  {
    name: "long polling",
    lesson: "lesson-05",
    start: () => feedServer((feed) => createPollingServer({ feed })),
    subscribe: (port, received) =>
      pollSubscription(received, (signal) =>
        longPoll({ url: feedUrl(port), waitMs: 25_000, signal }),
      ),
  },
  {
    name: "SSE",
    lesson: "lesson-07",
    start: () => feedServer((feed) => createSseServer({ feed })),
    subscribe: sseSubscription,
  },
  {
    name: "WebSocket",
    lesson: "lesson-06",
    start: startWebSocketChat,
    subscribe: webSocketSubscription,
  },
  {
    name: "Socket.IO",
    lesson: "lesson-06",
    start: startSocketIoChat,
    subscribe: socketIoSubscription,
  },
  {
    name: "gRPC stream",
    lesson: "lesson-10",
    start: startGrpcChat,
    subscribe: grpcSubscription,
  },
  {
    name: "tRPC subscription",
    lesson: "lesson-11",
    start: () => feedServer((feed) => createTrpcServer({ feed })),
    subscribe: trpcSubscription,
  },
];

// --- Updates ------------------------------------------------------------------------------------

function updateText(index: number): string {
  return `update ${index}`;
}

/** The index in "update <index>", or undefined for any other text (a presence, a greeting). */
function indexOf(text: string): number | undefined {
  const match = /^update (\d+)$/.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/** Calls `received` for an update's text, and ignores any other. */
function deliver(received: (index: number) => void, text: string): void {
  const index = indexOf(text);
  if (index !== undefined) received(index);
}

// --- Servers ------------------------------------------------------------------------------------

/** Lessons 05, 07 and 11: a server over a feed; publishing appends to the feed. */
async function feedServer(create: (feed: MessageFeed) => http.Server): Promise<PushServer> {
  const feed = new MessageFeed({ maxMessages: FEED_CAPACITY });
  // One "message" listener per open stream, 50 or more here: that many is the workload, not a leak.
  feed.setMaxListeners(0);
  const running = await serve(create(feed));
  return {
    ...running,
    async publish(index) {
      feed.append({ author: "bench", text: updateText(index) });
    },
  };
}

/**
 * Lesson 06's ws chat at /chat; any token is a name. The publisher is a member of the room: the
 * chat sends a `say` to every other member, then acknowledges it to the sender.
 */
async function startWebSocketChat(): Promise<PushServer> {
  const running = await serve(createChatServer({ tokens: (token) => token }));
  const publisher = await joinWebSocketChat(running.port, "publisher");
  const acks = new Map<number, () => void>();
  publisher.on("message", (data) => {
    const message = parseServerMessage(data.toString());
    if (message.type === "ack") acks.get(message.seq)?.();
  });
  return {
    port: running.port,
    publish: (index) =>
      new Promise<void>((resolve) => {
        // seq counts from 1 on each sender (lesson 06's protocol).
        const seq = index + 1;
        acks.set(seq, () => {
          acks.delete(seq);
          resolve();
        });
        publisher.send(
          JSON.stringify({
            type: "say",
            room: ROOM,
            client: "publisher",
            seq,
            text: updateText(index),
          }),
        );
      }),
    async close() {
      publisher.terminate();
      await running.close();
    },
  };
}

/** A ws client of the chat, in the room once the chat has told it who is there. */
async function joinWebSocketChat(port: number, name: string): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/chat?access_token=${name}`);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const joined = new Promise<void>((resolve) => {
    socket.on("message", function onPresence(data) {
      const message = parseServerMessage(data.toString());
      if (message.type === "presence" && message.members.includes(name)) {
        socket.off("message", onPresence);
        resolve();
      }
    });
  });
  socket.send(JSON.stringify({ type: "join", room: ROOM }));
  await joined;
  return socket;
}

let subscribers = 0;

async function webSocketSubscription(
  port: number,
  received: (index: number) => void,
): Promise<Subscription> {
  const socket = await joinWebSocketChat(port, `subscriber-${++subscribers}`);
  socket.on("message", (data) => {
    const message = parseServerMessage(data.toString());
    if (message.type === "message") deliver(received, message.text);
  });
  return { close: () => closeWebSocket(socket) };
}

function closeWebSocket(socket: WebSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) return resolve();
    socket.once("close", () => resolve());
    socket.close(1000);
  });
}

/** Lesson 06's Socket.IO chat; the publisher's "chat" goes to the room's other members. */
async function startSocketIoChat(): Promise<PushServer> {
  const running = await serve(createSocketIoServer());
  const publisher = await joinSocketIoChat(running.port, "publisher");
  return {
    port: running.port,
    publish: async (index) => {
      const ack = (await publisher.emitWithAck("chat", {
        room: ROOM,
        id: String(index),
        text: updateText(index),
      })) as Ack<{ seq: number }>;
      if (!ack.ok)
        throw new Error(`Socket.IO: the chat refused update ${index}: ${ack.error.message}`);
    },
    async close() {
      publisher.disconnect();
      await running.close();
    },
  };
}

/** A socket.io-client socket, as it connects by default (long polling, then the upgrade), joined. */
async function joinSocketIoChat(port: number, name: string): Promise<SocketIoClient> {
  const socket = connectSocketIo(`http://127.0.0.1:${port}`, {
    auth: { name },
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  const ack = (await socket.emitWithAck("join", ROOM)) as Ack<object>;
  if (!ack.ok) throw new Error(`Socket.IO: could not join ${ROOM}: ${ack.error.message}`);
  return socket;
}

async function socketIoSubscription(
  port: number,
  received: (index: number) => void,
): Promise<Subscription> {
  const socket = await joinSocketIoChat(port, `subscriber-${++subscribers}`.slice(0, 32));
  socket.on("chat", (message: SocketIoMessage) => deliver(received, message.text));
  return {
    async close() {
      socket.disconnect();
    },
  };
}

/**
 * grpc-js shares one connection among every client of the same address in a process (its global
 * subchannel pool). Fifty subscribers stand for fifty machines here: each gets a pool, and so a
 * connection, of its own.
 */
const OWN_CONNECTION: grpc.ChannelOptions = { "grpc.use_local_subchannel_pool": 1 };

function withToken(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${TOKEN}`);
  return metadata;
}

/** Lesson 10's server; the publisher's Chat call writes, and gets its own copy back. */
async function startGrpcChat(): Promise<PushServer> {
  const server = createGrpcServer();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const client = createUserClient(`127.0.0.1:${port}`, OWN_CONNECTION);
  const call = client.Chat(withToken());
  call.on("error", () => undefined); // cancelled at close
  const echoes = new Map<number, () => void>();
  call.on("data", (message: ChatMessage) => {
    const index = indexOf(message.text);
    if (index !== undefined) echoes.get(index)?.();
  });
  return {
    port,
    publish: (index) =>
      new Promise<void>((resolve) => {
        // The room includes the sender: its copy back says the server has sent the update on.
        echoes.set(index, () => {
          echoes.delete(index);
          resolve();
        });
        call.write({ text: updateText(index) });
      }),
    async close() {
      call.cancel();
      client.close();
      server.forceShutdown();
    },
  };
}

async function grpcSubscription(
  port: number,
  received: (index: number) => void,
): Promise<Subscription> {
  const client = createUserClient(`127.0.0.1:${port}`, OWN_CONNECTION);
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
  );
  const call = client.Chat(withToken());
  call.on("data", (message: ChatMessage) => deliver(received, message.text));
  call.on("error", () => undefined); // CANCELLED, when the subscription is closed
  return {
    async close() {
      call.cancel();
      client.close();
    },
  };
}

// --- Subscribers over HTTP ----------------------------------------------------------------------

function feedUrl(port: number): string {
  return `http://127.0.0.1:${port}/messages`;
}

/** Reads a lesson 05 poller until close(). */
async function pollSubscription(
  received: (index: number) => void,
  poller: (signal: AbortSignal) => AsyncIterable<Message>,
): Promise<Subscription> {
  const stop = new AbortController();
  const reading = (async () => {
    for await (const message of poller(stop.signal)) deliver(received, message.text);
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) console.error("a poller failed:", error);
  });
  return {
    async close() {
      stop.abort();
      await reading;
    },
  };
}

/** GET /events with the eventsource package, open once its first response has come. */
async function sseSubscription(
  port: number,
  received: (index: number) => void,
): Promise<Subscription> {
  const source = new EventSource(`http://127.0.0.1:${port}/events`);
  source.addEventListener("message", (event) => {
    deliver(received, (JSON.parse(event.data as string) as Message).text);
  });
  await new Promise<void>((resolve, reject) => {
    source.onopen = () => resolve();
    source.onerror = (event) => reject(new Error(`SSE: the stream failed: ${event.message}`));
  });
  source.onerror = null;
  return {
    async close() {
      source.close();
    },
  };
}

/** Lesson 11's client: feed.onMessage over httpSubscriptionLink, an EventSource under it. */
async function trpcSubscription(
  port: number,
  received: (index: number) => void,
): Promise<Subscription> {
  const client = createTrpcClient(`http://127.0.0.1:${port}/trpc`, { token: TOKEN });
  let subscription!: { unsubscribe(): void };
  await new Promise<void>((resolve, reject) => {
    subscription = client.feed.onMessage.subscribe(
      {},
      {
        onStarted: () => resolve(),
        onData: (event) => deliver(received, event.data.text),
        onError: (error) => reject(error),
      },
    );
  });
  return {
    async close() {
      subscription.unsubscribe();
    },
  };
}
