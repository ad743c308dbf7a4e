import http from "node:http";
import { afterEach, describe, expect, test, vi } from "vitest";
import { createChat } from "#lesson/lesson-06-websockets/chat.ts";
import { show } from "../../shared/testing/bytes.ts";
import { listen } from "../../shared/testing/net.ts";
import { RawClient } from "../../shared/testing/raw.ts";
import { PATIENCE_MS } from "../../shared/testing/patience.ts";
import {
  bounded,
  member,
  ofType,
  Peer,
  startChat,
  tokens,
  uncaught,
  type Started,
} from "./chat-helpers.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** An upgrade request written out, as a browser would send it (RFC 6455 §4.1). */
function upgradeRequest(target: string, extra: string[] = []): string {
  return [
    `GET ${target} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...extra,
    "",
    "",
  ].join("\r\n");
}

/**
 * Sends an upgrade request on a raw socket; resolves with every byte before the server closed, or
 * with the head of a 101 at once: a server that accepts is not waited for until it closes.
 */
async function refusal(chat: Started, target: string, extra: string[] = []): Promise<string> {
  const client = await RawClient.open(chat.address);
  await client.send(upgradeRequest(target, extra));
  const switched = client
    .until((bytes) => {
      const text = bytes.toString("latin1");
      return text.startsWith("HTTP/1.1 101 ") && text.includes("\r\n\r\n");
    })
    .catch(() => new Promise<never>(() => {})); // closed first: closed() has the answer
  const bytes = await bounded(
    Promise.race([client.closed(), switched]),
    () =>
      `the server to answer ${target} with an HTTP error and close the connection; ` +
      `received so far: ${show(client.received)}`,
  );
  return bytes.toString("latin1");
}

function statusLine(response: string): string {
  return response.split("\r\n")[0] ?? "";
}

function say(room: string, client: string, seq: number, text: string) {
  return { type: "say", room, client, seq, text };
}

describe("Step 4: A chat on the ws package", () => {
  test("an upgrade without a valid access_token gets 401 as a plain HTTP response, and never a 101", async () => {
    const chat = await startChat();
    for (const target of ["/chat", "/chat?access_token=wrong", "/chat?token=ada-token"]) {
      const response = await refusal(chat, target);
      expect(
        response,
        `The token is checked in the "upgrade" event, before the handshake: a request for ` +
          `${target} must never get 101 Switching Protocols`,
      ).not.toContain(" 101 ");
      expect(
        statusLine(response),
        `Expected "HTTP/1.1 401 Unauthorized" for ${target}, and the socket destroyed after it. ` +
          `Received: ${show(response)}`,
      ).toMatch(/^HTTP\/1\.1 401 /);
      expect(
        response,
        `A 401 says how to authenticate (RFC 9110 §15.5.2): a WWW-Authenticate field, here ` +
          `Bearer (RFC 6750 §3). Received: ${show(response)}`,
      ).toMatch(/\r\nWWW-Authenticate: *Bearer\b/i);
    }
    // The real client agrees, and a valid token opens.
    await expect(Peer.open(chat.url, { token: "nobody" })).rejects.toThrow(/answered 401/);
    await Peer.open(chat.url, { token: "bob-token" });
  });

  test("an Origin not on the list gets 403 before any upgrade; a listed Origin, or none, is let in", async () => {
    const chat = await startChat({ origins: ["http://chat.example"] });
    const response = await refusal(chat, "/chat?access_token=ada-token", [
      "Origin: http://evil.example",
    ]);
    expect(
      statusLine(response),
      `A page from an Origin not on the list must not open the chat (cross-site WebSocket ` +
        `hijacking): expected 403 Forbidden. Received: ${show(response)}`,
    ).toMatch(/^HTTP\/1\.1 403 /);
    await Peer.open(chat.url, { origin: "http://chat.example" });
    await Peer.open(chat.url);
  });

  test("join tells every member of the room who is in it; leave and a dropped connection update it", async () => {
    const { url } = await startChat();
    const ada = await member(url, "lobby");
    expect(ofType(ada, "presence").at(-1)).toEqual({
      type: "presence",
      room: "lobby",
      members: ["ada"],
    });
    const bob = await member(url, "lobby", { token: "bob-token" });
    const both = (message: Record<string, unknown>) =>
      message.type === "presence" && JSON.stringify(message.members) === '["ada","bob"]';
    await ada.next(both, 'presence ["ada","bob"] for every member once bob has joined the lobby');
    await bob.next(both, 'presence ["ada","bob"] for bob himself, the one who joined');

    let seen = ada.received.length;
    bob.send({ type: "leave", room: "lobby" });
    const alone = (message: Record<string, unknown>) =>
      message.type === "presence" && JSON.stringify(message.members) === '["ada"]';
    await ada.next(alone, 'presence ["ada"] once bob has left the lobby', seen);

    const cy = await member(url, "lobby", { token: "cy-token" });
    await ada.next(
      (message) =>
        message.type === "presence" && JSON.stringify(message.members) === '["ada","cy"]',
      'presence ["ada","cy"] once cy has joined',
    );
    seen = ada.received.length;
    cy.socket.terminate();
    await ada.next(
      alone,
      'presence ["ada"] once cy\'s connection has dropped: a closed connection leaves every room it was in',
      seen,
    );
  });

  test("a message reaches every other member of its room once, not the sender, not another room", async () => {
    const { url } = await startChat();
    const ada = await member(url, "lobby");
    const bob = await member(url, "lobby", { token: "bob-token" });
    const cy = await member(url, "kitchen", { token: "cy-token" });

    ada.send(say("lobby", "ada-1", 1, "hello"));
    const got = await bob.next(
      (message) => message.type === "message",
      'bob, in the lobby, to receive ada\'s {"type":"message",...}',
    );
    expect(got).toEqual({
      type: "message",
      room: "lobby",
      id: 1,
      from: "ada",
      client: "ada-1",
      seq: 1,
      text: "hello",
    });
    await ada.next(
      (message) => message.type === "ack" && message.seq === 1,
      'ada to get {"type":"ack","client":"ada-1","seq":1} for her message',
    );

    // Whatever the server sent ada and cy because of her message has arrived by the time they get
    // what it sends them later, on the same connection.
    bob.send(say("lobby", "bob-1", 1, "hi ada"));
    await ada.next((message) => message.type === "message", "ada to receive bob's reply");
    expect(
      ofType(ada, "message").map((message) => message.text),
      "The sender must not receive its own message: broadcast to the other members only",
    ).toEqual(["hi ada"]);
    cy.send(say("kitchen", "cy-1", 1, "anyone?"));
    await cy.next((message) => message.type === "ack", "cy to get an ack in the kitchen");
    expect(
      ofType(cy, "message"),
      "A message in the lobby must not reach cy, who is in the kitchen only",
    ).toEqual([]);
    expect(
      ofType(bob, "message").map((message) => message.text),
      "bob got hello once",
    ).toEqual(["hello"]);
  });

  test("a message that is not JSON, or not a valid message, gets an error naming the field, and the connection goes on", async () => {
    const { url } = await startChat();
    const ada = await Peer.open(url);
    const cases: [sent: string, code: string, field: string | undefined][] = [
      ["hello", "CHAT_BAD_JSON", undefined],
      ['{"type":"shout","room":"lobby"}', "CHAT_BAD_MESSAGE", "type"],
      ['{"type":"join"}', "CHAT_BAD_MESSAGE", "room"],
      ['{"type":"join","room":"lobby","after":-1}', "CHAT_BAD_MESSAGE", "after"],
      [
        '{"type":"say","room":"lobby","client":"c","seq":"one","text":"hi"}',
        "CHAT_BAD_MESSAGE",
        "seq",
      ],
      ['{"type":"say","room":"lobby","client":"c","seq":1}', "CHAT_BAD_MESSAGE", "text"],
      [
        '{"type":"say","room":"lobby","client":"c","seq":1,"text":"hi"}',
        "CHAT_NOT_A_MEMBER",
        "room",
      ],
      ['{"type":"leave","room":"lobby"}', "CHAT_NOT_A_MEMBER", "room"],
    ];
    for (const [sent, code, field] of cases) {
      const from = ada.received.length;
      ada.send(sent);
      const error = await ada.next(
        (message) => message.type === "error",
        `{"type":"error","code":"${code}"${field === undefined ? "" : `,"field":"${field}"`},...} ` +
          `in answer to ${sent}, with the connection left open`,
        from,
      );
      expect(
        { code: error.code, field: error.field },
        `the error sent in answer to ${sent}`,
      ).toEqual({ code, field });
      expect(typeof error.message, "an error message says what is wrong in words").toBe("string");
    }
    const beforeBinary = ada.received.length;
    ada.socket.send(Buffer.from('{"type":"join","room":"lobby"}'), { binary: true });
    const answer = await ada.next(
      (message) => message.type === "error" || message.type === "presence",
      "CHAT_BAD_JSON for a binary message: the chat speaks JSON in text messages",
      beforeBinary,
    );
    expect(
      answer.code,
      "a binary message, even one whose bytes are a valid join, is refused with CHAT_BAD_JSON: " +
        "the chat speaks JSON in text messages (ws's isBinary)",
    ).toBe("CHAT_BAD_JSON");
    ada.send({ type: "join", room: "lobby" });
    await ada.next(
      (message) => message.type === "presence",
      "a presence message for a valid join after all those errors: one bad message does not end a connection",
    );
  });

  test("a message over maxPayload is refused by ws with close code 1009", async () => {
    const { url } = await startChat({ maxPayload: 1_000 });
    const ada = await member(url, "lobby");
    const escaped = uncaught();
    ada.send(say("lobby", "ada-1", 1, "x".repeat(2_000)));
    const closed = await ada.closing(
      "the server to close with 1009 (Message Too Big) for a 2 kB message over a maxPayload of 1000",
    );
    expect(closed.code, "the close code for a message over maxPayload (RFC 6455 §7.4.1)").toBe(
      1009,
    );
    const [thrown] = escaped.errors;
    if (thrown !== undefined && !String((thrown as { code?: unknown }).code).startsWith("WS_ERR")) {
      throw new Error(`Thrown where no caller could catch it: ${thrown.message}`, {
        cause: thrown,
      });
    }
    if (thrown !== undefined) {
      throw new Error(
        `ws closed the connection with 1009, and it also emitted "error" on the server's ` +
          `WebSocket (${thrown.message}). Nobody listened, so Node threw it: in a real server ` +
          `that ends the process, and every other connection with it. ws reports a message over ` +
          `maxPayload, or any bad frame, as an "error" event on that WebSocket: listen for ` +
          `"error" on every WebSocket the server accepts (the close that follows is handled ` +
          `by ws).`,
        { cause: thrown },
      );
    }
  });

  test("a repeat of a message (same client and seq) is acknowledged again, and delivered only once", async () => {
    const { url } = await startChat();
    const ada = await member(url, "lobby");
    const bob = await member(url, "lobby", { token: "bob-token" });
    ada.send(say("lobby", "ada-1", 1, "one"));
    ada.send(say("lobby", "ada-1", 1, "one"));
    ada.send(say("lobby", "ada-1", 2, "two"));
    ada.send(say("lobby", "ada-1", 1, "one"));
    await ada.until(
      () => ofType(ada, "ack").length === 4,
      "an ack for each of the 4 messages sent, repeats included: a repeat is one whose ack was lost, " +
        "and without a new ack the client would send it forever",
    );
    expect(
      ofType(ada, "ack").map((ack) => ack.seq),
      "the acks, in order",
    ).toEqual([1, 1, 2, 1]);
    bob.send({ type: "leave", room: "lobby" });
    await bob.next(
      (message) =>
        message.type === "presence" &&
        message.members !== undefined &&
        !(message.members as string[]).includes("bob"),
      "bob's own presence after leaving",
    );
    expect(
      ofType(bob, "message").map((message) => `${message.client}:${message.seq}`),
      "bob must get each message once: the server keeps the highest seq it has accepted from each client, and drops a message at or below it",
    ).toEqual(["ada-1:1", "ada-1:2"]);
  });

  test("presence lists the members sorted by name, whatever the order they joined in", async () => {
    const { url } = await startChat();
    const bob = await member(url, "lobby", { token: "bob-token" });
    await member(url, "lobby");
    await bob.next(
      (message) => message.type === "presence" && (message.members as unknown[]).length === 2,
      "presence with both members once ada has joined after bob",
    );
    expect(
      ofType(bob, "presence").at(-1)?.members,
      "presence.members: the names sorted (chat-protocol.ts), not in the order of joining",
    ).toEqual(["ada", "bob"]);
  });

  test("a join without after gets no history, only what is said from then on", async () => {
    const { url } = await startChat();
    const ada = await member(url, "lobby");
    ada.send(say("lobby", "ada-1", 1, "before bob"));
    await ada.until(() => ofType(ada, "ack").length === 1, "an ack for ada's first message");
    const bob = await member(url, "lobby", { token: "bob-token" });
    ada.send(say("lobby", "ada-1", 2, "after bob"));
    await bob.until(
      () => ofType(bob, "message").some((message) => message.text === "after bob"),
      'ada\'s "after bob", said once bob had joined',
    );
    expect(
      ofType(bob, "message").map((message) => message.text),
      "bob joined without after: a first join asks for no history (after names the last id " +
        "a client has seen; without it the client has seen nothing it wants back)",
    ).toEqual(["after bob"]);
  });

  test("without an origins list, any Origin is let in", async () => {
    const chat = await startChat();
    await Peer.open(chat.url, { origin: "http://anywhere.example" });
  });

  test("a member that joins again with after gets what it missed, in the room's order", async () => {
    const { url } = await startChat();
    const ada = await member(url, "lobby");
    for (const [seq, text] of ["one", "two", "three"].entries()) {
      ada.send(say("lobby", "ada-1", seq + 1, text));
    }
    await ada.until(() => ofType(ada, "ack").length === 3, "an ack for each of ada's 3 messages");
    const bob = await Peer.open(url, { token: "bob-token" });
    bob.send({ type: "join", room: "lobby", after: 1 });
    await bob.until(
      () => ofType(bob, "message").length >= 2,
      'messages 2 and 3 of the lobby for bob, who joined with "after":1: the room keeps its history for clients that come back',
    );
    expect(ofType(bob, "message").map((message) => [message.id, message.text])).toEqual([
      [2, "two"],
      [3, "three"],
    ]);
  });

  test("pings every heartbeatMs and terminates a peer that does not answer, while one that answers stays", async () => {
    const { url } = await startChat({ heartbeatMs: 100 });
    const mute = await member(url, "lobby", { autoPong: false });
    const live = await member(url, "lobby", { token: "bob-token" });
    const seen = live.received.length;
    await mute.until(
      () => mute.pings >= 1,
      "a ping from the server within one heartbeatMs (100 ms)",
    );
    await live.until(
      () => live.pings >= 4,
      "4 pings to bob, who answers each with a pong, and his connection still open: a pong " +
        "must mark the peer alive again before the next tick",
    );
    await live.next(
      (message) => message.type === "presence" && JSON.stringify(message.members) === '["bob"]',
      "ada, whose client never answers pings, to be terminated at the tick after the ping she " +
        "missed, and bob told she is gone",
      seen,
    );
    expect(live.closed).toBeUndefined();
  });

  test("a member that stops reading is disconnected once its backlog passes maxBufferedBytes, and the room goes on", async () => {
    const { url } = await startChat({ maxBufferedBytes: 64 * 1024 });
    const slow = await member(url, "lobby");
    const talker = await member(url, "lobby", { token: "bob-token" });
    const reader = await member(url, "lobby", { token: "cy-token" });
    // The slow member's TCP socket stops reading: the kernel's buffers fill, then ws's queue grows.
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const text = "x".repeat(3_900);
    // About 4 MB fill the kernel's buffers on loopback; four times that is more than enough.
    const MAX_MESSAGES = 4_000;
    let seq = 0;
    let dropped = false;
    const gone = reader.next(
      (message) => message.type === "presence" && !(message.members as string[]).includes("ada"),
      "the member that stopped reading (ada) to be disconnected",
      0,
      3 * PATIENCE_MS,
    );
    gone.then(
      () => (dropped = true),
      () => {},
    );
    // Send in bursts, each once the last was acknowledged, until the server gives up on ada.
    while (!dropped && seq < MAX_MESSAGES) {
      for (let i = 0; i < 50; i++) talker.send(say("lobby", "bob-1", ++seq, text));
      await talker.until(
        () => ofType(talker, "ack").length >= seq,
        `acks for bob's ${seq} messages`,
      );
    }
    if (!dropped) {
      throw new Error(
        `bob sent ${seq} messages of ${text.length} bytes (${Math.round((seq * text.length) / 1e6)} MB) ` +
          "to a room where ada reads nothing, and the server still keeps her connection, and " +
          "everything queued for it, in memory. Before each send, compare the socket's " +
          "bufferedAmount (plus the message) with maxBufferedBytes, and drop a peer that is over " +
          "with terminate(), not close(): a close frame joins the back of the queue she does not " +
          "read, so the connection, and its backlog, stay until ws's 30 s close timeout.",
      );
    }
    await gone;
    const last = seq;
    await reader.until(
      () => ofType(reader, "message").length === last,
      `cy, who reads, to receive all ${last} of bob's messages`,
    );
  }, 10_000);

  test("a join whose after is older than the room keeps is told the gap, then gets what is kept", async () => {
    const { url } = await startChat({ historyLimit: 2 });
    const ada = await member(url, "lobby");
    for (const [seq, text] of ["one", "two", "three", "four"].entries()) {
      ada.send(say("lobby", "ada-1", seq + 1, text));
    }
    await ada.until(() => ofType(ada, "ack").length === 4, "an ack for each of ada's 4 messages");
    // The room keeps 3 and 4. After 0 or 1, a message is gone (1 and 2, or 2); after 2, none is.
    const cases: [after: number, gone: string | undefined][] = [
      [0, "Messages 1 and 2 are gone"],
      [1, "Message 2 is gone"],
      [2, undefined],
    ];
    for (const [after, gone] of cases) {
      const bob = await Peer.open(url, { token: "bob-token" });
      bob.send({ type: "join", room: "lobby", after });
      await bob.until(
        () => ofType(bob, "message").length >= 2,
        `the 2 messages the room keeps (historyLimit 2) for bob, who joined with after ${after}`,
      );
      const gap = bob.received.find((message) => message.type === "error");
      if (gone === undefined) {
        expect(
          gap,
          "bob has messages 1 and 2, and the room keeps 3 and 4: nothing is missing, so there " +
            "is no CHAT_HISTORY_GONE (the oldest kept is after + 1)",
        ).toBeUndefined();
      } else {
        expect(
          gap,
          `${gone} from the room, and bob joined with after ${after}: he must be told, with ` +
            '{"type":"error","code":"CHAT_HISTORY_GONE","field":"after",...}, before the ' +
            "replay, never a silent gap",
        ).toMatchObject({ code: "CHAT_HISTORY_GONE", field: "after" });
        expect(
          bob.received.indexOf(gap as Record<string, unknown>),
          "the gap is told before the replay",
        ).toBeLessThan(bob.received.indexOf(ofType(bob, "message")[0] as Record<string, unknown>));
      }
      expect(
        ofType(bob, "message").map((message) => message.text),
        `the replay after ${after}`,
      ).toEqual(["three", "four"]);
      bob.socket.terminate();
    }
  });

  test("an upgrade to another path gets 404, and a plain request 426 Upgrade Required", async () => {
    const chat = await startChat();
    const response = await refusal(chat, "/elsewhere?access_token=ada-token");
    expect(
      statusLine(response),
      `the answer to an upgrade for /elsewhere: ${show(response)}`,
    ).toMatch(/^HTTP\/1\.1 404 /);
    const plain = await bounded(
      fetch(`http://${chat.address.host}:${chat.address.port}/chat`),
      "an answer to a plain GET /chat",
    );
    await plain.text();
    expect(plain.status, "a GET without Upgrade: websocket").toBe(426);
    expect(plain.headers.get("upgrade")).toBe("websocket");
  });

  test("close() closes every client with 1001 Going Away", async () => {
    // The chat on an http.Server of the test's own, as Step 5's combined server uses it.
    const chat = createChat({ tokens });
    const server = http.createServer();
    server.on("upgrade", (request, socket, head) => chat.handleUpgrade(request, socket, head));
    const address = await listen(server);
    const url = `ws://${address.host}:${address.port}/chat`;
    const ada = await member(url, "lobby");
    const bob = await Peer.open(url, { token: "bob-token" });
    await bounded(chat.close(), "chat.close() to resolve once every client has closed");
    for (const peer of [ada, bob]) {
      const closed = await peer.closing("the server to close every client on close()");
      expect(closed.code, "the close code of a server going down (RFC 6455 §7.4.1)").toBe(1001);
    }
  });

  test("close() stops the heartbeat timer", async () => {
    vi.useFakeTimers();
    const chat = createChat({ tokens, heartbeatMs: 1_000 });
    expect(vi.getTimerCount(), "the heartbeat is one setInterval, started by createChat()").toBe(1);
    await chat.close();
    expect(vi.getTimerCount(), "no timer may outlive close()").toBe(0);
  });
});
