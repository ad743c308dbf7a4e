import { once } from "node:events";
import http from "node:http";
import { describe, expect, test } from "vitest";
import WebSocket from "ws";
import { show } from "../../shared/testing/bytes.ts";
import { within } from "../../shared/testing/patience.ts";
import { client, next, record, startChat } from "./socketio-helpers.ts";

/** The acknowledgement of `event`, bounded: the server must answer it. */
function ack(
  socket: Awaited<ReturnType<typeof client>>,
  event: string,
  ...args: unknown[]
): Promise<Record<string, unknown>> {
  return within(
    socket.timeout(1_000).emitWithAck(event, ...args) as Promise<Record<string, unknown>>,
    `an acknowledgement of "${event}" ${JSON.stringify(args)}: the handler calls the ack callback, its last argument`,
  );
}

/** A plain WebSocket (the `ws` client), with every text message it gets, as text, in order. */
async function plainWebSocket(url: string) {
  const ws = new WebSocket(url);
  const messages: string[] = [];
  const waiters = new Set<() => void>();
  let closed = false;
  ws.on("message", (data: Buffer) => {
    messages.push(data.toString("utf8"));
    for (const wake of [...waiters]) wake();
  });
  ws.on("close", () => {
    closed = true;
    for (const wake of [...waiters]) wake();
  });
  ws.on("error", () => {});
  await within(once(ws, "open"), `the WebSocket handshake at ${url} to succeed (101)`);
  const until = (done: (m: string[]) => boolean, what: string): Promise<string[]> =>
    within(
      new Promise<string[]>((resolve, reject) => {
        const check = (): void => {
          if (done(messages)) {
            waiters.delete(check);
            resolve(messages);
          } else if (closed) {
            waiters.delete(check);
            reject(
              new Error(`The connection closed before ${what}. Got: ${JSON.stringify(messages)}`),
            );
          }
        };
        waiters.add(check);
        check();
      }),
      () => `Expected ${what}. Got: ${JSON.stringify(messages)}`,
    );
  const whenClosed = (what: string): Promise<void> =>
    within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!closed) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
      () => `Expected ${what}. It is still open; it got: ${JSON.stringify(messages)}`,
    );
  return { ws, messages, until, whenClosed };
}

/** A GET or POST without fetch's extras, so the test sees Engine.IO's own answer as it is. */
function request(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const req = http.request(url, { method: options.method ?? "GET", headers: options.headers });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      });
      req.on("error", reject);
      req.end(options.body);
    }),
    `an answer to ${options.method ?? "GET"} ${url}`,
  );
}

describe("Step 5: The same chat on Socket.IO", () => {
  describe("rooms and acknowledgements", () => {
    test("a client without a name in its auth payload is refused by the middleware, with its message as connect_error", async () => {
      const { url } = await startChat();
      const error = await client(url, "").catch((e: unknown) => e as Error);
      expect(error, "io.use() must call next(new Error(...)) for a missing name").toBeInstanceOf(
        Error,
      );
      expect((error as Error).message).toContain("auth.name");
    });

    test("join answers with the room's members, and the members already there get a presence event", async () => {
      const { url } = await startChat();
      const ada = await client(url, "ada");
      const bob = await client(url, "bob");
      expect(await ack(ada, "join", "lobby")).toMatchObject({ ok: true, members: ["ada"] });
      const presence = next(ada, "presence", "bob joined the lobby, where ada is");
      expect(await ack(bob, "join", "lobby")).toMatchObject({
        ok: true,
        members: ["ada", "bob"],
      });
      const [update] = await presence;
      expect(update).toEqual({ room: "lobby", members: ["ada", "bob"] });
    });

    test("a message goes to the room's other members only, as one event to the room: every member gets the same offset", async () => {
      const { url } = await startChat();
      const [ada, bob, cy, eve] = await Promise.all([
        client(url, "ada"),
        client(url, "bob"),
        client(url, "cy"),
        client(url, "eve"),
      ]);
      await ack(ada, "join", "lobby");
      await ack(bob, "join", "lobby");
      await ack(cy, "join", "lobby");
      await ack(eve, "join", "elsewhere");
      const toAda = record(ada, "chat");
      const toEve = record(eve, "chat");
      const toBob = next(bob, "chat", "ada said hi in the lobby, where bob is");
      const toCy = next(cy, "chat", "ada said hi in the lobby, where cy is");
      expect(await ack(ada, "chat", { room: "lobby", id: "m1", text: "hi" })).toEqual({
        ok: true,
        seq: 1,
      });
      const [atBob, atCy] = await Promise.all([toBob, toCy]);
      expect(atBob[0]).toEqual({ room: "lobby", id: "m1", seq: 1, from: "ada", text: "hi" });
      expect(
        atBob,
        "with connection state recovery (connectionStateRecovery on the Server), every event the " +
          "server emits carries its offset as one more argument",
      ).toHaveLength(2);
      expect(typeof atBob[1]).toBe("string");
      expect(
        atCy[1],
        "bob and cy got m1 with different offsets, so the server emitted it once per socket. " +
          "Emit it once to the room (socket.to(room).emit): Socket.IO keeps that one event, under " +
          "one offset, for every member of the room, and replays it to a member who was away; " +
          "an event sent socket by socket reaches only the sockets connected at that moment",
      ).toBe(atBob[1]);
      // One more round trip on each, so that a message sent to them would have arrived by now.
      await ack(ada, "join", "lobby");
      await ack(eve, "join", "elsewhere");
      expect(toAda.seen, "the sender is not sent its own message (socket.to, not io.to)").toEqual(
        [],
      );
      expect(toEve.seen, "a member of another room gets nothing").toEqual([]);
    });

    test("a bad message is refused in the acknowledgement naming the field, and the connection stays", async () => {
      const { url } = await startChat();
      const ada = await client(url, "ada");
      await ack(ada, "join", "lobby");
      expect(await ack(ada, "chat", { room: "lobby", id: "m1", text: 42 })).toMatchObject({
        ok: false,
        error: { code: "SIO_BAD_MESSAGE", field: "text" },
      });
      expect(await ack(ada, "chat", { room: "lobby", text: "hi" })).toMatchObject({
        ok: false,
        error: { code: "SIO_BAD_MESSAGE", field: "id" },
      });
      expect(await ack(ada, "chat", "hi")).toMatchObject({
        ok: false,
        error: { code: "SIO_BAD_MESSAGE" },
      });
      expect(await ack(ada, "chat", { room: "attic", id: "m2", text: "hi" })).toMatchObject({
        ok: false,
        error: { code: "SIO_NOT_IN_ROOM", field: "room" },
      });
      expect(ada.connected, "a bad message is answered, not a dropped connection").toBe(true);
      expect(await ack(ada, "chat", { room: "lobby", id: "m3", text: "hi" })).toEqual({
        ok: true,
        seq: 1,
      });
    });

    test("a message sent again with the same id is acknowledged again, with its seq, and not broadcast twice", async () => {
      const { url } = await startChat();
      const [ada, bob] = await Promise.all([client(url, "ada"), client(url, "bob")]);
      await ack(ada, "join", "lobby");
      await ack(bob, "join", "lobby");
      const toBob = record(bob, "chat");
      const first = await ack(ada, "chat", { room: "lobby", id: "m1", text: "hi" });
      const again = await ack(ada, "chat", { room: "lobby", id: "m1", text: "hi" });
      expect(again, "a resend after a lost ack: the sender must hear it is stored").toMatchObject({
        ok: true,
        seq: first.seq,
      });
      await ack(ada, "chat", { room: "lobby", id: "m2", text: "next" });
      await toBob.until(2, "m1 once and m2");
      await ack(bob, "join", "lobby");
      expect(toBob.seen.map((args) => (args[0] as { id: string }).id)).toEqual(["m1", "m2"]);
    });

    test("emitWithAck with a timeout rejects when the server never acknowledges: an event nobody handles is dropped without a word", async () => {
      const { url } = await startChat();
      const ada = await client(url, "ada");
      const error = await within(
        ada
          .timeout(200)
          .emitWithAck("chta", { room: "lobby", id: "m1", text: "typo" })
          .then(
            () => undefined,
            (e: unknown) => e as Error,
          ),
        "emitWithAck to reject after its 200 ms timeout",
      );
      expect(error?.message).toBe("operation has timed out");
      expect(ada.connected, "the connection is fine: only the ack never came").toBe(true);
    });

    test("join with { after } answers with the room's history after that seq", async () => {
      const { url } = await startChat();
      const ada = await client(url, "ada");
      await ack(ada, "join", "lobby");
      for (const id of ["m1", "m2", "m3"]) await ack(ada, "chat", { room: "lobby", id, text: id });
      const bob = await client(url, "bob");
      const joined = await ack(bob, "join", "lobby", { after: 1 });
      expect((joined.history as { id: string; seq: number }[]).map((m) => [m.id, m.seq])).toEqual([
        ["m2", 2],
        ["m3", 3],
      ]);
    });

    test("the room keeps historyLimit messages", async () => {
      const { url } = await startChat({ historyLimit: 2 });
      const ada = await client(url, "ada");
      await ack(ada, "join", "lobby");
      for (const id of ["m1", "m2", "m3"]) await ack(ada, "chat", { room: "lobby", id, text: id });
      const joined = await ack(ada, "join", "lobby");
      expect((joined.history as { id: string }[]).map((m) => m.id)).toEqual(["m2", "m3"]);
    });

    test("leave takes the client out of the room: presence says so, and it gets no more messages", async () => {
      const { url } = await startChat();
      const [ada, bob] = await Promise.all([client(url, "ada"), client(url, "bob")]);
      await ack(ada, "join", "lobby");
      const presence = record(ada, "presence");
      await ack(bob, "join", "lobby");
      await presence.until(1, "bob joined");
      expect(await ack(bob, "leave", "lobby")).toEqual({ ok: true });
      await presence.until(2, "bob left the lobby");
      expect(presence.seen[1]?.[0]).toEqual({ room: "lobby", members: ["ada"] });
      expect(await ack(bob, "chat", { room: "lobby", id: "m1", text: "hi" })).toMatchObject({
        ok: false,
        error: { code: "SIO_NOT_IN_ROOM" },
      });
    });

    test("a client that disconnects is gone from the room's presence", async () => {
      const { url } = await startChat();
      const [ada, bob] = await Promise.all([client(url, "ada"), client(url, "bob")]);
      await ack(ada, "join", "lobby");
      const presence = record(ada, "presence");
      await ack(bob, "join", "lobby");
      await presence.until(1, "bob joined");
      bob.disconnect();
      await presence.until(2, "bob disconnected");
      expect(presence.seen[1]?.[0]).toEqual({ room: "lobby", members: ["ada"] });
    });
  });

  describe("connection state recovery", () => {
    test("a client that drops and comes back within recoveryMs is recovered: back in its rooms, with every broadcast it missed, each with its offset", async () => {
      const { url, io } = await startChat({ recoveryMs: 60_000 });
      const [ada, bob] = await Promise.all([client(url, "ada"), client(url, "bob")]);
      await ack(ada, "join", "lobby");
      await ack(bob, "join", "lobby");
      const toBob = record(bob, "chat");
      await ack(ada, "chat", { room: "lobby", id: "m1", text: "before" });
      await toBob.until(1, "m1, before the drop");
      expect(
        bob.recovered,
        "bob.recovered is undefined when the server sent no session id (pid) in its connect " +
          "packet: connection state recovery is off. Give the Server connectionStateRecovery: " +
          "{ maxDisconnectionDuration: recoveryMs }. (A first connection is not a recovered one: false.)",
      ).toBe(false);

      // The transport drops under bob, as when a network goes away; no "disconnect" of his own.
      const onServer = io.sockets.sockets.get(bob.id ?? "");
      expect(onServer, "bob's socket on the server, under the id his client has").toBeDefined();
      const gone = within(
        once(onServer as NonNullable<typeof onServer>, "disconnect"),
        "the server to see bob's transport close",
      );
      const dropped = next(bob, "disconnect", "bob's transport was closed");
      bob.io.engine.close();
      expect(
        (await dropped)[0],
        "a drop, not bob's own disconnect() (that one ends the session for good)",
      ).not.toBe("io client disconnect");
      // Both ends know bob is away: what ada sends now, bob can only get by recovery.
      await gone;
      await ack(ada, "chat", { room: "lobby", id: "m2", text: "while away" });
      await ack(ada, "chat", { room: "lobby", id: "m3", text: "still away" });

      const back = next(bob, "connect", "bob connecting again");
      bob.connect();
      await back;
      expect(
        bob.recovered,
        "connectionStateRecovery: { maxDisconnectionDuration } on the server recovers the session",
      ).toBe(true);
      await toBob.until(
        3,
        "m2 and m3, sent to the lobby while bob was away, replayed on recovery. Socket.IO " +
          "replays what was emitted to a room of his (socket.to(room).emit); an event sent " +
          "socket by socket went only to the sockets connected at the time, and bob was not",
      );
      expect(toBob.seen.map((args) => (args[0] as { id: string }).id)).toEqual(["m1", "m2", "m3"]);
      for (const args of toBob.seen) {
        expect(
          args,
          "each replayed event carries its offset, as it did the first time",
        ).toHaveLength(2);
        expect(typeof args[1]).toBe("string");
      }
      expect(new Set(toBob.seen.map((args) => args[1])).size, "every offset is its own").toBe(3);

      await ack(ada, "chat", { room: "lobby", id: "m4", text: "back" });
      await toBob.until(4, "m4: bob is in the lobby again without joining");
    });

    test("a client the server drops (socket.conn.close()) recovers too, and the server sees socket.recovered", async () => {
      const { url, io } = await startChat({ recoveryMs: 60_000 });
      const ada = await client(url, "ada");
      const bob = await client(url, "bob", {
        reconnection: true,
        reconnectionDelay: 20,
        reconnectionDelayMax: 50,
      });
      await ack(ada, "join", "lobby");
      await ack(bob, "join", "lobby");
      // A client recovers from the offset of the last broadcast it got: it needs one.
      const heard = next(bob, "chat", "a first broadcast, so that bob has an offset");
      await ack(ada, "chat", { room: "lobby", id: "m1", text: "hi" });
      await heard;
      const recovered = within(
        new Promise<boolean>((resolve) => {
          io.on("connection", (socket) => resolve(socket.recovered));
        }),
        "bob's socket to connect again",
      );
      const back = next(bob, "connect", "bob reconnecting on his own");
      const bobs = [...io.sockets.sockets.values()].filter((s) => s.data.name === "bob");
      for (const socket of bobs) socket.conn.close();
      expect(await recovered, "on the server too, socket.recovered is true").toBe(true);
      await back;
      expect(bob.recovered).toBe(true);
      expect(bob.connected).toBe(true);
    });
  });

  describe("on the wire", () => {
    test("a session opens with a long-polling GET: the body is Engine.IO's open packet, 0 and JSON", async () => {
      const { url } = await startChat({ pingIntervalMs: 25_000 });
      const open = await request(`${url}/socket.io/?EIO=4&transport=polling`);
      expect(open.status).toBe(200);
      expect(open.body, `the open packet, got ${show(open.body)}`).toMatch(/^0\{/);
      const handshake = JSON.parse(open.body.slice(1)) as Record<string, unknown>;
      expect(handshake).toMatchObject({ upgrades: ["websocket"], pingInterval: 25_000 });
      expect(typeof handshake.sid).toBe("string");

      // The Socket.IO connect packet, 40, over plain HTTP: POST it, GET the answer.
      const sid = String(handshake.sid);
      const session = `${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      const posted = await request(session, { method: "POST", body: '40{"name":"ada"}' });
      expect(posted).toEqual({ status: 200, body: "ok" });
      const connected = await request(session);
      expect(connected.body, "40 and the socket's id (and pid, for recovery)").toMatch(
        /^40\{"sid":"[^"]+","pid":"[^"]+"\}$/,
      );
    });

    test("socket.io-client starts on polling and upgrades the same session to a WebSocket", async () => {
      const { url, io } = await startChat();
      const transports = within(
        new Promise<string[]>((resolve) => {
          io.on("connection", (socket) => {
            const first = socket.conn.transport.name;
            socket.conn.once("upgrade", (transport: { name: string }) =>
              resolve([first, transport.name]),
            );
          });
        }),
        "the Engine.IO session to upgrade",
      );
      const ada = await client(url, "ada");
      expect(await transports).toEqual(["polling", "websocket"]);
      expect(ada.io.engine.transport.name).toBe("websocket");
    });

    test("a plain WebSocket client speaking JSON gets nowhere: the open packet, then the server closes", async () => {
      const { url } = await startChat();
      const base = url.replace("http:", "ws:");
      const plain = await plainWebSocket(`${base}/socket.io/?EIO=4&transport=websocket`);
      await plain.until((m) => m.length >= 1, "the open packet 0{...}");
      expect(plain.messages[0]).toMatch(/^0\{"sid":/);
      plain.ws.send(JSON.stringify({ type: "join", room: "lobby" }));
      await plain.whenClosed("the server to close: { is no Engine.IO packet type");
      expect(plain.messages, "nothing but the open packet").toHaveLength(1);
    });

    test("a plain WebSocket that speaks the packets joins: 40 to connect, 42 events with an ack id, 2 answered by 3", async () => {
      const { url } = await startChat({ pingIntervalMs: 100, pingTimeoutMs: 1_000 });
      const base = url.replace("http:", "ws:");
      const plain = await plainWebSocket(`${base}/socket.io/?EIO=4&transport=websocket`);
      await plain.until((m) => m.length >= 1, "the open packet 0{...}");
      plain.ws.send('40{"name":"ada"}');
      await plain.until((m) => m.some((p) => p.startsWith("40{")), "40{...}: connected");
      plain.ws.send('420["join","lobby"]');
      const answered = await plain.until(
        (m) => m.some((p) => p.startsWith("430")),
        "430[...]: the ack of event 0",
      );
      const reply = answered.find((p) => p.startsWith("430")) as string;
      expect(JSON.parse(reply.slice(3))).toEqual([{ ok: true, members: ["ada"], history: [] }]);
      await plain.until((m) => m.includes("2"), "the server's ping, 2, after pingInterval");
      plain.ws.send("3");
      expect(plain.ws.readyState, "a pong keeps the session").toBe(WebSocket.OPEN);
    });

    test("without EIO in the query, the upgrade is refused with 400: Socket.IO is not a bare WebSocket server", async () => {
      const { url } = await startChat();
      const ws = new WebSocket(`${url.replace("http:", "ws:")}/socket.io/`);
      const [, response] = (await within(
        once(ws, "unexpected-response"),
        "an HTTP answer other than 101",
      )) as [unknown, http.IncomingMessage];
      expect(response.statusCode).toBe(400);
      response.resume();
      ws.on("error", () => {});
      ws.terminate();
    });

    test("a page from an origin not allowed is refused (403); one from an allowed origin is not", async () => {
      const { url } = await startChat({ origins: ["http://good.example"] });
      const polling = `${url}/socket.io/?EIO=4&transport=polling`;
      const evil = await request(polling, { headers: { origin: "http://evil.example" } });
      expect(evil.status, "cross-site WebSocket hijacking: check Origin").toBe(403);
      const good = await request(polling, { headers: { origin: "http://good.example" } });
      expect(good.status).toBe(200);
    });

    test("origins may be a function, asked with the Origin and the request", async () => {
      const asked: string[] = [];
      const { url } = await startChat({
        origins: (origin, req) => {
          asked.push(`${origin} ${req.url?.split("?")[0]}`);
          return origin.endsWith(".good.example");
        },
      });
      const polling = `${url}/socket.io/?EIO=4&transport=polling`;
      const evil = await request(polling, { headers: { origin: "http://evil.example" } });
      const good = await request(polling, { headers: { origin: "http://app.good.example" } });
      expect([evil.status, good.status]).toEqual([403, 200]);
      expect(asked).toEqual([
        "http://evil.example /socket.io/",
        "http://app.good.example /socket.io/",
      ]);
    });
  });
});
