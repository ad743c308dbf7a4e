/**
 * A chat on the `ws` package: rooms, presence, and messages that arrive once each, even when
 * connections drop. `ws` does the WebSocket protocol (Steps 1-3, done for you and well tested);
 * this file is what a real server adds around it:
 *
 *   HTTP "upgrade" --> Origin allowed? --> token valid? --> ws completes the handshake (101)
 *                        no: 403            no: 401           |
 *                                                             v
 *   every heartbeatMs: ping; no pong since the last one -> terminate
 *   each text message: parse (zod) -> join | leave | say -> presence / broadcast + ack
 *   each send: over maxBufferedBytes queued for a peer that does not read -> terminate
 *
 * It runs in ws's noServer mode: the http.Server is the application's (Step 5's combined server
 * routes `/chat` here), and the checks happen before ws answers, while a refusal can still be a
 * plain HTTP response.
 */
import http from "node:http";
import type stream from "node:stream";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import {
  ChatError,
  parseClientMessage,
  type ChatMessage,
  type ClientMessage,
  type ServerMessage,
} from "./chat-protocol.ts";

export interface ChatOptions {
  /**
   * Checks the token a client sends as the `access_token` query parameter of its upgrade
   * request: the user's name for a valid token, undefined otherwise (401).
   */
  tokens: (token: string) => string | undefined;
  /** Origins allowed to open a WebSocket (403 otherwise); a request without Origin is allowed. Without the list, any. */
  origins?: readonly string[];
  /** A ping every heartbeatMs; a peer whose pong has not come by the next one is terminated. */
  heartbeatMs?: number;
  /** A peer with more than this queued for it (bytes) is terminated: it is not reading. */
  maxBufferedBytes?: number;
  /** The largest message accepted (bytes); ws closes a connection that sends more with 1009. */
  maxPayload?: number;
  /** How many messages each room keeps for clients that come back with `after`. */
  historyLimit?: number;
  /** How many senders' high-water marks are kept to drop repeats; the oldest is forgotten first. */
  maxSenders?: number;
}

export interface Chat {
  /** For an http.Server's "upgrade" event on the chat's path; checks token and Origin first. */
  handleUpgrade(request: http.IncomingMessage, socket: stream.Duplex, head: Buffer): void;
  /** Closes every client with 1001 and stops the timers. */
  close(): Promise<void>;
}

export const DEFAULT_HEARTBEAT_MS = 30_000;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
export const DEFAULT_MAX_PAYLOAD = 64 * 1024;
export const DEFAULT_HISTORY_LIMIT = 1_000;
export const DEFAULT_MAX_SENDERS = 10_000;

/**
 * One open WebSocket. `heartbeat` is "answered" once a pong has come since the last ping, and
 * "pinged" while one is awaited.
 */
interface Connection {
  readonly socket: WebSocket;
  readonly user: string;
  readonly rooms: Set<Room>;
  heartbeat: "answered" | "pinged";
}

interface Room {
  readonly name: string;
  readonly members: Set<Connection>;
  /** The last `historyLimit` messages, oldest first. */
  readonly history: ChatMessage[];
  lastId: number;
}

interface State {
  readonly options: Required<Omit<ChatOptions, "origins">> & { origins?: readonly string[] };
  readonly wss: WebSocketServer;
  readonly connections: Set<Connection>;
  readonly rooms: Map<string, Room>;
  /** Per sender (`client` id): the highest `seq` accepted. Map order is the eviction order. */
  readonly senders: Map<string, number>;
  readonly timer: NodeJS.Timeout;
  phase: "open" | "closed";
}

export function createChat(options: ChatOptions): Chat {
  const settings = {
    heartbeatMs: DEFAULT_HEARTBEAT_MS,
    maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES,
    maxPayload: DEFAULT_MAX_PAYLOAD,
    historyLimit: DEFAULT_HISTORY_LIMIT,
    maxSenders: DEFAULT_MAX_SENDERS,
    ...withoutUndefined(options),
  };
  const state: State = {
    options: settings,
    // noServer: ws never listens; it completes handshakes we hand it. No permessage-deflate: it
    // costs memory per connection, and would make bufferedAmount count compressed bytes.
    wss: new WebSocketServer({
      noServer: true,
      maxPayload: settings.maxPayload,
      perMessageDeflate: false,
    }),
    connections: new Set(),
    rooms: new Map(),
    senders: new Map(),
    timer: setInterval(() => heartbeat(state), settings.heartbeatMs),
    phase: "open",
  };
  // The server's own timer must not keep a process alive that has nothing else to do.
  state.timer.unref();
  return {
    handleUpgrade: (request, socket, head) => handleUpgrade(state, request, socket, head),
    close: () => close(state),
  };
}

/** A standalone http.Server with the chat at `/chat`; plain requests get 426. */
export function createChatServer(options: ChatOptions): http.Server {
  const chat = createChat(options);
  const server = http.createServer((_request, response) => {
    response.writeHead(426, { Upgrade: "websocket", "Content-Type": "text/plain" });
    response.end("This is a WebSocket endpoint: connect to /chat with a WebSocket client.\n");
  });
  server.on("upgrade", (request: http.IncomingMessage, socket: stream.Duplex, head: Buffer) => {
    if (new URL(request.url ?? "/", "http://chat.invalid").pathname !== "/chat") {
      refuse(socket, 404, "No WebSocket endpoint here: the chat is at /chat.");
      return;
    }
    chat.handleUpgrade(request, socket, head);
  });
  server.on("close", () => void chat.close());
  return server;
}

function handleUpgrade(
  state: State,
  request: http.IncomingMessage,
  socket: stream.Duplex,
  head: Buffer,
): void {
  // Before the upgrade the socket is ours: a reset by the peer must not crash the server.
  socket.on("error", () => socket.destroy());
  if (state.phase === "closed") {
    refuse(socket, 503, "The chat is shutting down.");
    return;
  }
  // Cross-site WebSocket hijacking: a browser sends any page's WebSocket to any site, with that
  // site's cookies. Origin (RFC 6455 §4.1, §10.2) says which page opened it; only browsers send it.
  const origin = request.headers.origin;
  const { origins } = state.options;
  if (origin !== undefined && origins !== undefined && !origins.includes(origin)) {
    refuse(socket, 403, `Origin ${origin} may not open the chat.`);
    return;
  }
  // A browser's WebSocket cannot set header fields, so the token travels in the query string
  // (RFC 6750 §2.3 names it access_token). Checked here, before any upgrade: a refusal is a plain
  // HTTP response, and no WebSocket is ever opened for a stranger.
  const token = new URL(request.url ?? "/", "http://chat.invalid").searchParams.get("access_token");
  const user = token === null ? undefined : state.options.tokens(token);
  if (user === undefined) {
    refuse(socket, 401, "A valid access_token is required.", {
      "WWW-Authenticate": 'Bearer realm="chat"',
    });
    return;
  }
  state.wss.handleUpgrade(request, socket, head, (ws) => accept(state, ws, user));
}

/** A canned HTTP refusal, then the socket destroyed once the response has left. */
function refuse(
  socket: stream.Duplex,
  status: number,
  body: string,
  fields: Record<string, string> = {},
): void {
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(fields).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.once("finish", () => socket.destroy());
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
}

function accept(state: State, socket: WebSocket, user: string): void {
  const connection: Connection = { socket, user, rooms: new Set(), heartbeat: "answered" };
  state.connections.add(connection);
  socket.on("pong", () => {
    connection.heartbeat = "answered";
  });
  socket.on("message", (data, isBinary) => onMessage(state, connection, data, isBinary));
  socket.on("close", () => onClose(state, connection));
  // After the upgrade, ws reports socket errors here (and closes): nothing more to do.
  socket.on("error", () => {});
}

function onMessage(state: State, connection: Connection, data: RawData, isBinary: boolean): void {
  try {
    if (isBinary) throw new ChatError("CHAT_BAD_JSON", "the chat speaks JSON in text messages");
    handle(state, connection, parseClientMessage(data.toString()));
  } catch (error) {
    if (error instanceof ChatError) {
      // A bad message is answered, and the connection goes on: one mistake is not a reason to
      // drop a client and every room it is in.
      send(state, connection, {
        type: "error",
        code: error.code,
        field: error.field,
        message: error.message,
      });
      return;
    }
    // A bug in the server. Log it, and close with 1011 (RFC 6455 §7.4.1: "an unexpected
    // condition"), rather than let it escape from ws's event and crash the process.
    console.error(error);
    connection.socket.close(1011, "internal error");
  }
}

function handle(state: State, connection: Connection, message: ClientMessage): void {
  switch (message.type) {
    case "join":
      return join(state, connection, message.room, message.after);
    case "leave":
      return leave(state, connection, member(connection, message.room));
    case "say":
      return say(
        state,
        connection,
        member(connection, message.room),
        message.client,
        message.seq,
        message.text,
      );
  }
}

function member(connection: Connection, name: string): Room {
  for (const room of connection.rooms) if (room.name === name) return room;
  throw new ChatError("CHAT_NOT_A_MEMBER", `room ${JSON.stringify(name)} is not joined`, {
    field: "room",
  });
}

function join(state: State, connection: Connection, name: string, after: number | undefined): void {
  let room = state.rooms.get(name);
  if (room === undefined) {
    room = { name, members: new Set(), history: [], lastId: 0 };
    state.rooms.set(name, room);
  }
  room.members.add(connection);
  connection.rooms.add(room);
  presence(state, room);
  if (after === undefined) return;
  // Replay what the client missed. The oldest kept is history[0]; anything between `after` and it
  // is gone, and the client is told so rather than shown a silent gap.
  const oldest = room.history[0]?.id ?? room.lastId + 1;
  if (after + 1 < oldest) {
    send(state, connection, {
      type: "error",
      code: "CHAT_HISTORY_GONE",
      field: "after",
      message: `messages ${after + 1} to ${oldest - 1} of room ${JSON.stringify(name)} are gone`,
    });
  }
  for (const message of room.history) if (message.id > after) send(state, connection, message);
}

function leave(state: State, connection: Connection, room: Room): void {
  room.members.delete(connection);
  connection.rooms.delete(room);
  // The one who left is told too: that is its confirmation.
  send(state, connection, { type: "presence", room: room.name, members: names(room) });
  presence(state, room);
}

function say(
  state: State,
  connection: Connection,
  room: Room,
  client: string,
  seq: number,
  text: string,
): void {
  // A repeat: the client resends what it has no ack for, and the ack may be what was lost. Drop
  // it, but acknowledge it again, or the client would resend it forever.
  const highest = state.senders.get(client);
  if (highest === undefined || seq > highest) {
    remember(state, client, seq);
    const message: ChatMessage = {
      type: "message",
      room: room.name,
      id: ++room.lastId,
      from: connection.user,
      client,
      seq,
      text,
    };
    room.history.push(message);
    if (room.history.length > state.options.historyLimit) room.history.shift();
    for (const other of room.members) if (other !== connection) send(state, other, message);
  }
  // The ack comes last: once the client hears it, the message is in the room's history.
  send(state, connection, { type: "ack", client, seq });
}

/** Records a sender's high-water mark, forgetting the least recently heard sender past the cap. */
function remember(state: State, client: string, seq: number): void {
  state.senders.delete(client); // re-inserted last: Map order is least recently heard first
  state.senders.set(client, seq);
  if (state.senders.size > state.options.maxSenders) {
    const oldest = state.senders.keys().next().value;
    if (oldest !== undefined) state.senders.delete(oldest);
  }
}

function onClose(state: State, connection: Connection): void {
  state.connections.delete(connection);
  for (const room of connection.rooms) {
    room.members.delete(connection);
    presence(state, room);
  }
  connection.rooms.clear();
}

/** Tells every member of `room` who is in it now. */
function presence(state: State, room: Room): void {
  const message: ServerMessage = { type: "presence", room: room.name, members: names(room) };
  for (const connection of room.members) send(state, connection, message);
}

function names(room: Room): string[] {
  return [...new Set([...room.members].map((connection) => connection.user))].sort();
}

/**
 * Sends a message, unless the peer is not reading. `bufferedAmount` is what ws has queued for
 * the peer and the kernel has not taken: it grows only when the peer's TCP window is shut. A close
 * frame would wait behind that backlog, unread, for ws's 30 s close timeout, so the connection is
 * terminated at once: the memory is freed now, and the client, when it reconnects, gets what it
 * missed from the room's history.
 */
function send(state: State, connection: Connection, message: ServerMessage): void {
  const { socket } = connection;
  if (socket.readyState !== WebSocket.OPEN) return;
  const text = JSON.stringify(message);
  if (socket.bufferedAmount + Buffer.byteLength(text) > state.options.maxBufferedBytes) {
    socket.terminate();
    return;
  }
  socket.send(text);
}

/**
 * One heartbeat: a peer that has not answered the last ping is gone (its machine slept, a NAT
 * forgot the connection): TCP alone may not notice for hours. Terminate it; ping everyone else.
 */
function heartbeat(state: State): void {
  for (const connection of state.connections) {
    if (connection.heartbeat === "pinged") {
      connection.socket.terminate();
      continue;
    }
    connection.heartbeat = "pinged";
    connection.socket.ping();
  }
}

async function close(state: State): Promise<void> {
  if (state.phase === "closed") return;
  state.phase = "closed";
  clearInterval(state.timer);
  const closed = [...state.connections].map(
    ({ socket }) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once("close", () => resolve());
        // 1001 Going Away (RFC 6455 §7.4.1): "a server going down".
        socket.close(1001, "server shutting down");
      }),
  );
  await Promise.all(closed);
  state.wss.close();
}

/** The options a caller gave, without those it set to undefined, so the defaults stand. */
function withoutUndefined<T extends object>(options: T): T {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as T;
}
