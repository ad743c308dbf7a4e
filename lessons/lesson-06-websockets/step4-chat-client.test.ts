import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { describe, expect, onTestFinished, test } from "vitest";
import { WebSocketServer } from "ws";
import {
  connectChat,
  type ChatClient,
  type ChatClientOptions,
  type Retry,
} from "#lesson/lesson-06-websockets/chat-client.ts";
import type { ChatMessage, PresenceMessage } from "#lesson/lesson-06-websockets/chat-protocol.ts";
// The client is checked against the reference server, so that a failure here is the client's.
import { createChatServer } from "#reference/lesson-06-websockets/chat.ts";
import { codeOf, thrownBy } from "../../shared/testing/errors.ts";
import { listen } from "../../shared/testing/net.ts";
import { PATIENCE_MS } from "../../shared/testing/patience.ts";
import { bounded, member, reportIfNotWritten, startChat, tokens } from "./chat-helpers.ts";

/** Short waits, so that a test with reconnections stays quick. */
const FAST = { baseMs: 4, maxMs: 40 };

/** What a test keeps of a client's events, and a bounded wait on them. */
interface Watched {
  client: ChatClient;
  messages: ChatMessage[];
  presences: PresenceMessage[];
  retries: Retry[];
  errors: unknown[];
  opens: number;
  until(done: () => boolean, expected: () => string, ms?: number): Promise<void>;
}

/**
 * Every wait of the test, woken by an event of any of its clients: a wait on cy's messages and
 * on ada's acks ends with whichever event comes last.
 */
const waiters = new Set<() => void>();

function wake(): void {
  for (const waiter of [...waiters]) waiter();
}

function open(options: Omit<ChatClientOptions, "backoff"> & Partial<ChatClientOptions>): Watched {
  const client = connectChat({ backoff: FAST, ...options });
  onTestFinished(() => client.close());
  const watched: Watched = {
    client,
    messages: [],
    presences: [],
    retries: [],
    errors: [],
    opens: 0,
    until(done, expected, ms) {
      let check = (): void => {};
      const reached = new Promise<void>((resolve, reject) => {
        check = () => {
          if (done()) resolve();
          else if (watched.errors.length > 0) reject(watched.errors[0]);
        };
        waiters.add(check);
        check();
      });
      return bounded(reached, () => `Expected ${expected()}`, ms).finally(() =>
        waiters.delete(check),
      );
    },
  };
  client.on("open", () => {
    watched.opens++;
    wake();
  });
  client.on("message", (message) => {
    watched.messages.push(message);
    wake();
  });
  client.on("presence", (presence) => {
    watched.presences.push(presence);
    wake();
  });
  client.on("retry", (retry) => {
    watched.retries.push(retry);
    wake();
  });
  client.on("ack", wake);
  client.on("error", (error) => {
    reportIfNotWritten(error);
    watched.errors.push(error);
    wake();
  });
  return watched;
}

/** A port nothing listens on now: taken from the OS, then let go. */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function texts(messages: ChatMessage[], from: string): string[] {
  return messages.filter((message) => message.from === from).map((message) => message.text);
}

describe("Step 4: A chat on the ws package", () => {
  test("every member gets every message exactly once, in order per sender, though the connections are cut mid-stream", async () => {
    const chat = await startChat({}, createChatServer);
    const url = chat.url;
    const ada = open({ url, token: "ada-token" });
    const bob = open({ url, token: "bob-token" });
    const cy = open({
      url,
      token: "cy-token",
      backoff: { baseMs: 300, maxMs: 300 },
      random: () => 0.99,
    });
    for (const { client } of [ada, bob, cy]) client.join("lobby");
    for (const watched of [ada, bob, cy]) {
      await watched.until(
        () => watched.presences.at(-1)?.members.length === 3,
        () =>
          `presence with all 3 members for ${watched.client.clientId}; the last presence: ` +
          JSON.stringify(watched.presences.at(-1)),
      );
    }

    const PER_ROUND = 40;
    const ROUNDS = 3;
    let cuts = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const watched of [ada, bob, cy]) {
        await watched.until(
          () => watched.opens > round && watched.client.state === "open",
          () =>
            `the client of ${watched.client.clientId} to reconnect after cut ${round}: ` +
            `state "${watched.client.state}", retries ${JSON.stringify(watched.retries)}`,
        );
      }
      const first = round * PER_ROUND;
      const half = first + PER_ROUND / 2;
      for (let i = first; i < half; i++) {
        ada.client.say("lobby", `ada ${i}`);
        bob.client.say("lobby", `bob ${i}`);
      }
      // Cut every connection as soon as a message of this round has reached cy: the rest are in
      // flight, sent or not, acknowledged or not.
      await cy.until(
        () => cy.messages.some((message) => Number(message.text.split(" ")[1]) >= first),
        () => `cy to receive a message of round ${round + 1}: ${cy.messages.length} so far`,
      );
      for (const socket of chat.sockets) socket.destroy();
      // The clients have not seen the cut yet: these go into connections the server has closed,
      // and are lost unless they are sent again. And cy, who waits longer before reconnecting,
      // is away while the server gets them: cy needs "after" to see them.
      for (let i = half; i < first + PER_ROUND; i++) {
        ada.client.say("lobby", `ada ${i}`);
        bob.client.say("lobby", `bob ${i}`);
      }
      cuts++;
    }

    const total = 2 * PER_ROUND * ROUNDS;
    const expected = (name: string) =>
      Array.from({ length: PER_ROUND * ROUNDS }, (_, i) => `${name} ${i}`);
    await cy.until(
      () =>
        cy.messages.length >= total &&
        ada.client.unacknowledged === 0 &&
        bob.client.unacknowledged === 0,
      () =>
        `cy to receive all ${total} messages after ${cuts} cuts, and every message acknowledged. ` +
        `cy has ${cy.messages.length}; unacknowledged: ada ${ada.client.unacknowledged}, ` +
        `bob ${bob.client.unacknowledged}. After a reconnection the client joins its rooms again ` +
        `with "after" and resends every message the server has not acknowledged`,
      2 * PATIENCE_MS,
    );
    expect(
      texts(cy.messages, "ada"),
      "ada's messages as cy received them: each once, in the order said",
    ).toEqual(expected("ada"));
    expect(texts(cy.messages, "bob"), "bob's messages as cy received them").toEqual(
      expected("bob"),
    );
    await ada.until(
      () => ada.messages.length >= PER_ROUND * ROUNDS,
      () => `ada to receive all of bob's messages: ${ada.messages.length} so far`,
    );
    expect(texts(ada.messages, "bob"), "bob's messages as ada received them").toEqual(
      expected("bob"),
    );
    expect(
      texts(ada.messages, "ada"),
      "ada must not get her own messages back, even in a replay after a reconnection",
    ).toEqual([]);
  }, 10_000);

  test("a room message at or below the last id seen there is not shown again, even when the server sends it twice", async () => {
    // A server of the test's own, that sends what a replay overlapping live delivery looks like:
    // ids 1 and 2, then 1 and 2 again, then 3.
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    onTestFinished(() => {
      for (const socket of wss.clients) socket.terminate();
      wss.close();
    });
    const address = await listen(server);
    const chat = (id: number, text: string): string =>
      JSON.stringify({
        type: "message",
        room: "lobby",
        id,
        from: "bob",
        client: "b",
        seq: id,
        text,
      });
    wss.on("connection", (socket) => {
      socket.on("error", () => {});
      socket.once("message", () => {
        socket.send(JSON.stringify({ type: "presence", room: "lobby", members: ["ada", "bob"] }));
        for (const [id, text] of [
          [1, "one"],
          [2, "two"],
          [1, "one"],
          [2, "two"],
          [3, "three"],
        ] as const) {
          socket.send(chat(id, text));
        }
      });
    });
    const ada = open({ url: `ws://${address.host}:${address.port}/chat`, token: "ada-token" });
    ada.client.join("lobby");
    await ada.until(
      () => ada.messages.some((message) => message.id === 3),
      () =>
        `message 3 of the lobby, after 1, 2, 1, 2 from the server; shown so far: ` +
        JSON.stringify(ada.messages.map((message) => message.id)),
    );
    expect(
      ada.messages.map((message) => `${message.id} ${message.text}`),
      "A message whose room id is at or below the last one seen in that room was shown already " +
        "(a replay after `after` can overlap what came live): keep the last id per room, show " +
        "only a higher one",
    ).toEqual(["1 one", "2 two", "3 three"]);
  });

  test("reconnects after a full-jitter backoff capped at maxMs, and starts over once a connection opens", async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/chat`;
    // random() = 0.5: each delay is half its ceiling. The ceilings: 4, 8, 16, 32, 40, 40.
    const ada = open({ url, token: "ada-token", random: () => 0.5 });
    await ada.until(
      () => ada.retries.length >= 6,
      () =>
        `6 retries while nothing listens at ${url}; the retries so far: ` +
        JSON.stringify(ada.retries),
    );
    expect(
      ada.retries.slice(0, 6),
      "the first 6 retries: attempt 0, 1, 2, ... each after backoffDelay(attempt, backoff, random), " +
        "whose ceiling doubles from baseMs (4) up to maxMs (40)",
    ).toEqual([
      { attempt: 0, delayMs: 2 },
      { attempt: 1, delayMs: 4 },
      { attempt: 2, delayMs: 8 },
      { attempt: 3, delayMs: 16 },
      { attempt: 4, delayMs: 20 },
      { attempt: 5, delayMs: 20 },
    ]);

    const server = createChatServer({ tokens });
    const sockets = new Set<net.Socket>();
    server.on("connection", (socket: net.Socket) => sockets.add(socket));
    server.listen(port, "127.0.0.1");
    onTestFinished(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await once(server, "listening");
    await ada.until(
      () => ada.opens === 1,
      () => `the client to connect once the server listens at ${url}`,
    );
    const retried = ada.retries.length;
    for (const socket of sockets) socket.destroy();
    await ada.until(
      () => ada.retries.length > retried,
      () => "a retry after the open connection was cut",
    );
    expect(
      ada.retries[retried],
      "the first retry after a connection that opened is attempt 0 again: the backoff starts over",
    ).toEqual({ attempt: 0, delayMs: 2 });
  });

  test("a refused token is an error, not a reason to retry", async () => {
    const { url } = await startChat({}, createChatServer);
    const stranger = open({ url, token: "nobody" });
    await stranger.until(
      () => stranger.errors.length > 0 || stranger.retries.length > 0,
      () => 'an "error" event: the server answered 401 to the upgrade',
    );
    expect(
      stranger.retries,
      "A 401 will be answered to this token however often it asks: no retry",
    ).toEqual([]);
    expect(codeOf(stranger.errors[0])).toBe("CHAT_REFUSED");
    expect(stranger.client.state).toBe("closed");
  });

  test("say() in a room not joined throws CHAT_NOT_A_MEMBER, and sends nothing", async () => {
    const { url } = await startChat({}, createChatServer);
    const ada = open({ url, token: "ada-token" });
    expect(codeOf(thrownBy(() => ada.client.say("lobby", "hello?")))).toBe("CHAT_NOT_A_MEMBER");
    expect(ada.client.unacknowledged, "nothing waits to be sent for a room not joined").toBe(0);
  });

  test("close() ends the connection, and the room sees the client leave", async () => {
    const { url } = await startChat({}, createChatServer);
    const bob = await member(url, "lobby", { token: "bob-token" });
    const ada = open({ url, token: "ada-token" });
    ada.client.join("lobby");
    await ada.until(
      () => ada.presences.at(-1)?.members.length === 2,
      () => `presence with ada and bob; the last: ${JSON.stringify(ada.presences.at(-1))}`,
    );
    const seen = bob.received.length;
    await bounded(ada.client.close(), "close() to resolve once the connection has closed");
    expect(ada.client.state).toBe("closed");
    await bob.next(
      (message) => message.type === "presence" && JSON.stringify(message.members) === '["bob"]',
      "bob to see ada leave once her client has closed",
      seen,
    );
    expect(ada.retries, "a client closed with close() does not reconnect").toEqual([]);
  });
});
