/**
 * The chat of Step 4 again, on Socket.IO: what a library adds over a bare WebSocket, and what it
 * costs on the wire.
 *
 * Socket.IO is two protocols stacked on a transport. Engine.IO opens a session (HTTP long polling
 * first, then an upgrade to a WebSocket on the same session) and keeps it alive with ping and
 * pong; Socket.IO puts named events, acknowledgements and namespaces on top. Every packet is a
 * line of text whose first characters say what it is:
 *
 *   0{"sid":"...","upgrades":["websocket"],"pingInterval":25000,...}   Engine.IO open
 *   2 / 3                                                            Engine.IO ping / pong
 *   40 / 40{"sid":"...","pid":"..."}                                 Socket.IO connect
 *   42["chat",{"room":"lobby",...},"<offset>"]                       Socket.IO event
 *   421["join","lobby"] ... 431[{"ok":true,...}]                     event with ack id 1, its ack
 *
 * The chat's events, client to server, each answered by an acknowledgement:
 *
 *   join  (room, ack)                  ack({ ok: true, members, history })  and "presence" to the room
 *   leave (room, ack)                  ack({ ok: true })                    and "presence" to the room
 *   chat  ({ room, id, text }, ack)    ack({ ok: true, seq }), and "chat" to the room's other members
 *
 * and a bad one is answered `{ ok: false, error: { code, field?, message } }`, never by dropping
 * the connection. The sender gives each message an id; a repeat of an id the room already has is
 * acknowledged again (so that the sender stops resending) and not broadcast twice.
 *
 * Connection state recovery: every event the server emits carries one more argument, its
 * offset, which the client keeps. A client that drops and comes back within `recoveryMs` sends its
 * session id and last offset, gets back its rooms and every event sent to a room of its while it
 * was away, and `socket.recovered` is true on both sides.
 */
import http from "node:http";
import { Server as SocketIoServer, type Socket } from "socket.io";
import { z } from "zod";

export { SocketIoServer };

export interface SocketIoChatOptions {
  /**
   * Origins allowed to connect (the browser's `Origin`), or a function that decides for each
   * request; a client without an Origin (not a browser page) is allowed.
   */
  origins?: readonly string[] | ((origin: string, request: http.IncomingMessage) => boolean);
  /** How long a dropped client may take to come back and recover its session (ms). */
  recoveryMs?: number;
  /** Engine.IO's heartbeat: a ping every `pingIntervalMs`; no pong within `pingTimeoutMs` closes. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /** How many messages each room keeps for a client that joins with `after` (its history). */
  historyLimit?: number;
  /** The largest packet Engine.IO accepts, in bytes (its `maxHttpBufferSize`). */
  maxPayload?: number;
}

export const DEFAULTS = {
  origins: [] as readonly string[],
  recoveryMs: 2 * 60 * 1000,
  pingIntervalMs: 25_000,
  pingTimeoutMs: 20_000,
  historyLimit: 100,
  maxPayload: 64 * 1024,
} satisfies Required<SocketIoChatOptions>;

/** A chat message as the room stores and broadcasts it. */
export interface ChatMessage {
  room: string;
  /** The sender's id for the message: the same id twice is the same message. */
  id: string;
  /** The room's sequence number, 1, 2, ...: a client that rejoins asks for what is after its last. */
  seq: number;
  from: string;
  text: string;
}

/** What an acknowledgement says when the event was refused. */
export interface ChatError {
  code: "SIO_BAD_MESSAGE" | "SIO_NOT_IN_ROOM";
  field?: string;
  message: string;
}

export type Ack<T> = ({ ok: true } & T) | { ok: false; error: ChatError };

const RoomName = z.string().min(1).max(64);
const JoinOptions = z.object({ after: z.number().int().min(0).optional() }).optional();
const ChatInput = z.object({
  room: RoomName,
  id: z.string().min(1).max(64),
  text: z.string().min(1).max(2_000),
});
/** The name a client gives in its handshake's `auth` payload: `io(url, { auth: { name } })`. */
const Name = z.string().min(1).max(32);

/** One room's messages: the newest `historyLimit` of them, and the ids already seen. */
interface Room {
  seq: number;
  history: ChatMessage[];
  byId: Map<string, number>;
}

/** Attaches the chat to `server`, at Socket.IO's own path `/socket.io/`, and returns the io. */
export function attachSocketIo(
  server: http.Server,
  options: SocketIoChatOptions = {},
): SocketIoServer {
  const settings = { ...DEFAULTS, ...options };
  const io = new SocketIoServer(server, {
    // The client script is served by Socket.IO itself at /socket.io/socket.io.js: no CDN.
    serveClient: true,
    pingInterval: settings.pingIntervalMs,
    pingTimeout: settings.pingTimeoutMs,
    maxHttpBufferSize: settings.maxPayload,
    // Cross-site WebSocket hijacking again (Step 1): a page from another site may not connect.
    allowRequest: (request, callback) => {
      const origin = request.headers.origin;
      const { origins } = settings;
      const allowed =
        origin === undefined ||
        (typeof origins === "function" ? origins(origin, request) : origins.includes(origin));
      callback(null, allowed);
    },
    connectionStateRecovery: {
      maxDisconnectionDuration: settings.recoveryMs,
      skipMiddlewares: true,
    },
  });
  const rooms = new Map<string, Room>();

  // A middleware runs once per connection, before "connection": the handshake's auth payload.
  io.use((socket, next) => {
    const name = Name.safeParse((socket.handshake.auth as { name?: unknown }).name);
    if (!name.success) {
      next(new Error("auth.name must be a name of 1 to 32 characters"));
      return;
    }
    socket.data.name = name.data;
    next();
  });

  io.on("connection", (socket) => {
    // A recovered socket is back in its rooms with its data, and has had what it missed; its
    // handlers are new, as the socket object is.
    socket.on("join", (room: unknown, ...rest: unknown[]) => {
      const ack = lastFunction(rest);
      const name = RoomName.safeParse(room);
      const opts = JoinOptions.safeParse(rest.length > 1 ? rest[0] : undefined);
      if (!name.success) return ack?.(refused("SIO_BAD_MESSAGE", "room", name.error));
      if (!opts.success) return ack?.(refused("SIO_BAD_MESSAGE", "after", opts.error));
      void socket.join(name.data);
      const after = opts.data?.after ?? 0;
      const history = roomOf(rooms, name.data).history.filter((m) => m.seq > after);
      ack?.({ ok: true, members: members(io, name.data), history });
      socket.to(name.data).emit("presence", { room: name.data, members: members(io, name.data) });
    });

    socket.on("leave", (room: unknown, ...rest: unknown[]) => {
      const ack = lastFunction(rest);
      const name = RoomName.safeParse(room);
      if (!name.success) return ack?.(refused("SIO_BAD_MESSAGE", "room", name.error));
      void socket.leave(name.data);
      ack?.({ ok: true });
      io.to(name.data).emit("presence", { room: name.data, members: members(io, name.data) });
    });

    socket.on("chat", (input: unknown, ...rest: unknown[]) => {
      const ack = lastFunction(rest);
      const parsed = ChatInput.safeParse(input);
      if (!parsed.success) {
        const field = String(parsed.error.issues[0]?.path[0] ?? "message");
        return ack?.(refused("SIO_BAD_MESSAGE", field, parsed.error));
      }
      const { room, id, text } = parsed.data;
      if (!socket.rooms.has(room)) {
        return ack?.({
          ok: false,
          error: { code: "SIO_NOT_IN_ROOM", field: "room", message: `join ${room} first` },
        });
      }
      const store = roomOf(rooms, room);
      // A resend after a lost acknowledgement: the room has it, so acknowledge, do not repeat.
      const seen = store.byId.get(id);
      if (seen !== undefined) return ack?.({ ok: true, seq: seen, duplicate: true });
      const message: ChatMessage = {
        room,
        id,
        seq: ++store.seq,
        from: String(socket.data.name),
        text,
      };
      store.history.push(message);
      store.byId.set(id, message.seq);
      if (store.history.length > settings.historyLimit) {
        const dropped = store.history.shift() as ChatMessage;
        store.byId.delete(dropped.id);
      }
      // To the room, not to its sockets one by one: a loop reaches only the sockets connected now,
      // while an event to the room is kept for the members who are away (their sessions still
      // list the room), and replayed when they recover.
      socket.to(room).emit("chat", message);
      ack?.({ ok: true, seq: message.seq });
    });

    socket.on("disconnecting", () => {
      for (const room of socket.rooms) {
        if (room === socket.id) continue;
        const others = members(io, room, socket);
        socket.to(room).emit("presence", { room, members: others });
      }
    });
  });
  return io;
}

/** An unstarted HTTP server with the chat at `/socket.io/` (tests and the bench listen on it). */
export function createSocketIoServer(options: SocketIoChatOptions = {}): http.Server {
  const server = http.createServer();
  attachSocketIo(server, options);
  return server;
}

/** Socket.IO passes the acknowledgement callback as the event's last argument, if the client asked. */
function lastFunction(args: unknown[]): ((answer: unknown) => void) | undefined {
  const last = args[args.length - 1];
  return typeof last === "function" ? (last as (answer: unknown) => void) : undefined;
}

function refused(code: ChatError["code"], field: string, error: z.ZodError): Ack<never> {
  return { ok: false, error: { code, field, message: error.issues[0]?.message ?? "invalid" } };
}

function roomOf(rooms: Map<string, Room>, name: string): Room {
  let room = rooms.get(name);
  if (!room) {
    room = { seq: 0, history: [], byId: new Map() };
    rooms.set(name, room);
  }
  return room;
}

/** The names of a room's members, sorted, without `leaving` (a socket on its way out). */
function members(io: SocketIoServer, room: string, leaving?: Socket): string[] {
  const ids = io.sockets.adapter.rooms.get(room) ?? new Set<string>();
  const names: string[] = [];
  for (const id of ids) {
    const socket = io.sockets.sockets.get(id);
    if (socket && socket !== leaving) names.push(String(socket.data.name));
  }
  return names.sort();
}
