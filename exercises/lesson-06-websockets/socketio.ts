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
import { Server as SocketIoServer } from "socket.io";
import { todo } from "#shared/todo.ts";

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

/** Attaches the chat to `server`, at Socket.IO's own path `/socket.io/`, and returns the io. */
export function attachSocketIo(
  server: http.Server,
  options: SocketIoChatOptions = {},
): SocketIoServer {
  // TODO: new SocketIoServer(server, {...}) with the options over DEFAULTS: the client script
  // served by Socket.IO itself (serveClient), Engine.IO's heartbeat (pingInterval, pingTimeout),
  // its packet cap (maxHttpBufferSize), an Origin check on the handshake request (allowRequest:
  // no Origin, or one `origins` allows; Step 1's cross-site WebSocket hijacking), and connection
  // state recovery with maxDisconnectionDuration = recoveryMs.
  // TODO: A middleware (io.use) reads the name from the handshake's auth payload: 1 to 32
  // characters, or next(new Error(...)) with a message that names auth.name, which the client
  // gets as its connect_error.
  // TODO: On "connection", the three events, each answered through its acknowledgement callback
  // (the event's last argument), a bad one with { ok: false, error: { code, field, message } }:
  //   join(room, { after }?, ack): into the room; ack members and the history after `after`;
  //     "presence" { room, members } to the others;
  //   leave(room, ack): out of the room; "presence" to those who stay;
  //   chat({ room, id, text }, ack): SIO_BAD_MESSAGE naming the field, SIO_NOT_IN_ROOM for a room
  //     not joined; an id the room already has is acknowledged with its seq again and not
  //     broadcast; otherwise give it the room's next seq, keep it (historyLimit), send it to the
  //     room's OTHER members as one event to the room (not socket by socket: an event to the room
  //     is kept for its members who are away, and replayed when they recover), and ack { ok: true, seq }.
  // TODO: On "disconnecting" (the socket is still in its rooms), "presence" without it to each room.
  return todo("lesson-06-websockets", "attachSocketIo()", "Step 5");
}

/** An unstarted HTTP server with the chat at `/socket.io/` (tests and the bench listen on it). */
export function createSocketIoServer(options: SocketIoChatOptions = {}): http.Server {
  // TODO: http.createServer(), with the chat attached.
  return todo("lesson-06-websockets", "createSocketIoServer()", "Step 5");
}
