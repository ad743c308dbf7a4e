/**
 * Bytes on the wire per chat message: the hand-written server of Steps 1-3, the chat on `ws` of
 * Step 4 and the chat on Socket.IO of Step 5, side by side, in one run (the README's "Measure it").
 *
 *   npm run bench -- lesson-06              (runs this file against the learner's code)
 *   npm run bench -- lesson-06 --solution   (against the reference solution)
 *
 * One chat message is: a sender sends a short text, and one other member of the room receives
 * it, with whatever else the protocol sends for it (the ws chat's ack, Socket.IO's ack). The
 * hand-written server is an echo, with no rooms: there the sender gets its own message back, which
 * is the same two frames, one masked up and one unmasked down.
 *
 * The bytes are counted on the server's sockets (socket.bytesRead + socket.bytesWritten, both
 * directions, HTTP heads included, TCP/IP headers not). The handshake (the connections, the
 * upgrade, Socket.IO's polling requests, joining the room) is counted apart from the messages:
 * it is paid once per connection, the messages every time. Figures are printed, never asserted.
 */
import { once } from "node:events";
import type net from "node:net";
import os from "node:os";
import { io as connectSocketIo, type Socket as SocketIoClient } from "socket.io-client";
import WebSocket from "ws";
import { createSocketIoServer } from "#lesson/lesson-06-websockets/socketio.ts";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const TEXT = "hello, room: a chat message of 40 bytes!";
const ROOM = "lobby";

interface Row {
  name: string;
  /** Bytes until both clients are connected and in the room. */
  handshake: number;
  /** Bytes for MESSAGES messages. */
  messages: number;
  /** One message as the sender's client put it in its WebSocket frame, and as the receiver got it. */
  sent: string;
  received: string;
}

/** A started server and the sockets it accepted (closed ones too: their counts still stand). */
async function metered(server: net.Server) {
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => sockets.add(socket));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    bytes: () => [...sockets].reduce((sum, s) => sum + s.bytesRead + s.bytesWritten, 0),
    stop: async () => {
      const closed = once(server, "close");
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The next text message on a `ws` client, as a string. */
function nextMessage(ws: WebSocket): Promise<string> {
  return once(ws, "message").then(([data]) => (data as Buffer).toString("utf8"));
}

/** The next `event` of a Socket.IO client or its engine (their emitters are not node:events'). */
function onceIo(
  emitter: { once(event: string, listener: (...args: unknown[]) => void): unknown },
  event: string,
): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args)));
}

async function openWs(url: string): Promise<WebSocket> {
  // No permessage-deflate: the lesson's servers do not negotiate it, and Socket.IO's client does
  // not offer it. Every row sends its bytes uncompressed.
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await once(ws, "open");
  return ws;
}

/** A part of the lesson another step writes, loaded on its own: missing, it is a row not measured. */
async function load<T>(file: string): Promise<T> {
  return (await import(`#lesson/lesson-06-websockets/${file}`)) as T;
}

async function echoRow(): Promise<Row> {
  const { createEchoServer } = await load<{ createEchoServer(): net.Server }>("echo.ts");
  const server = await metered(createEchoServer());
  try {
    const ws = await openWs(`ws://127.0.0.1:${server.port}/echo`);
    const handshake = server.bytes();
    let received = "";
    for (let i = 0; i < MESSAGES; i++) {
      const echoed = nextMessage(ws);
      ws.send(TEXT);
      received = await echoed;
    }
    const messages = server.bytes() - handshake;
    ws.close(1000);
    await once(ws, "close");
    return { name: "hand-written echo (Steps 1-3)", handshake, messages, sent: TEXT, received };
  } finally {
    await server.stop();
  }
}

async function wsChatRow(): Promise<Row> {
  const { createChatServer } = await load<{
    createChatServer(options: { tokens: (token: string) => string | undefined }): net.Server;
  }>("chat.ts");
  const server = await metered(createChatServer({ tokens: (token) => token }));
  try {
    const url = `ws://127.0.0.1:${server.port}/chat?access_token=`;
    const [ada, bob] = await Promise.all([openWs(`${url}ada`), openWs(`${url}bob`)]);
    const joined = nextMessage(ada);
    ada.send(JSON.stringify({ type: "join", room: ROOM }));
    await joined;
    // bob's join tells ada too: both presences arrive before counting starts.
    const told = [nextMessage(ada), nextMessage(bob)];
    bob.send(JSON.stringify({ type: "join", room: ROOM }));
    await Promise.all(told);
    const handshake = server.bytes();
    let sent = "";
    let received = "";
    for (let seq = 1; seq <= MESSAGES; seq++) {
      const acked = nextMessage(ada);
      const heard = nextMessage(bob);
      sent = JSON.stringify({ type: "say", room: ROOM, client: "ada-1", seq, text: TEXT });
      ada.send(sent);
      [received] = await Promise.all([heard, acked]);
    }
    const messages = server.bytes() - handshake;
    for (const ws of [ada, bob]) ws.close(1000);
    await Promise.all([once(ada, "close"), once(bob, "close")]);
    return { name: "chat on ws (Step 4)", handshake, messages, sent, received };
  } finally {
    await server.stop();
  }
}

async function socketIoRow(transports: ("polling" | "websocket")[], name: string): Promise<Row> {
  const server = await metered(createSocketIoServer());
  const clients: SocketIoClient[] = [];
  try {
    const connect = async (who: string): Promise<SocketIoClient> => {
      const socket = connectSocketIo(`http://127.0.0.1:${server.port}`, {
        auth: { name: who },
        transports,
        forceNew: true,
        reconnection: false,
      });
      clients.push(socket);
      await onceIo(socket, "connect");
      // Polling first: wait for the upgrade, so that the messages ride on the WebSocket.
      if (socket.io.engine.transport.name !== "websocket")
        await onceIo(socket.io.engine, "upgrade");
      await socket.emitWithAck("join", ROOM);
      return socket;
    };
    const ada = await connect("ada");
    const told = onceIo(ada, "presence");
    const bob = await connect("bob");
    await told;
    const handshake = server.bytes();
    let sent = "";
    let received = "";
    ada.io.engine.on("packetCreate", (packet: { type: string; data?: unknown }) => {
      if (packet.type === "message") sent = `4${String(packet.data)}`; // 4: Engine.IO message
    });
    bob.io.engine.on("packet", (packet: { type: string; data?: unknown }) => {
      if (packet.type === "message") received = `4${String(packet.data)}`;
    });
    for (let i = 0; i < MESSAGES; i++) {
      const heard = onceIo(bob, "chat");
      await ada.emitWithAck("chat", { room: ROOM, id: `m${i}`, text: TEXT });
      await heard;
    }
    const messages = server.bytes() - handshake;
    return { name, handshake, messages, sent, received };
  } finally {
    for (const socket of clients) socket.disconnect();
    await server.stop();
  }
}

console.log(
  `lesson-06 bench: ${MESSAGES} chat messages of ${Buffer.byteLength(TEXT)} bytes of text, one at a time, ` +
    "from one client to one other member of the room, on 127.0.0.1",
);
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores)\n`,
);

const rows: (Row | { name: string; problem: string })[] = [];
const attempts: [string, () => Promise<Row>][] = [
  ["hand-written echo (Steps 1-3)", echoRow],
  ["chat on ws (Step 4)", wsChatRow],
  ["Socket.IO (Step 5)", () => socketIoRow(["polling", "websocket"], "Socket.IO (Step 5)")],
  ["Socket.IO, WebSocket only", () => socketIoRow(["websocket"], "Socket.IO, WebSocket only")],
];
for (const [name, measure] of attempts) {
  try {
    rows.push(await measure());
  } catch (error) {
    // A part not written yet (its stub's message), or not in this tree: the other rows still run.
    rows.push({ name, problem: (error as Error).message });
  }
}

const header = ["", "handshake + join", "bytes/message", "text", "overhead"];
const table = rows.map((row) =>
  "problem" in row
    ? [row.name, "not measured", "", "", ""]
    : [
        row.name,
        row.handshake.toLocaleString("en"),
        (row.messages / MESSAGES).toFixed(1),
        String(Buffer.byteLength(TEXT)),
        `${(row.messages / MESSAGES / Buffer.byteLength(TEXT)).toFixed(1)}x`,
      ],
);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((cells) => cells[i]!.length)));
const line = (cells: string[]): string =>
  cells
    .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
    .join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const cells of table) console.log(line(cells));

console.log("\nOne message, as the sender's client framed it and as the other member got it:");
for (const row of rows) {
  if ("problem" in row) {
    console.log(`  ${row.name}: not measured: ${row.problem}`);
  } else {
    console.log(`  ${row.name}:\n    sent     ${row.sent}\n    received ${row.received}`);
  }
}
console.log(
  "\nbytes count both directions on the server's sockets: WebSocket frame headers (2 bytes down," +
    "\n6 up with the mask key, more for longer payloads), the chat's JSON or Socket.IO's packets," +
    "\nthe acks; for the chats, the sender's frame, the ack and the receiver's frame together." +
    "\nThe handshake column is everything before the first message: the upgrade requests, Socket.IO's" +
    "\npolling requests before it upgrades, and joining the room, for two clients (one for the echo).",
);
