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
import { todo } from "#shared/todo.ts";

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

export function createChat(options: ChatOptions): Chat {
  // TODO: A WebSocketServer in noServer mode (it completes the handshakes handleUpgrade hands it),
  // with maxPayload, so that ws closes a larger message with 1009 (RFC 6455 §7.4.1), and one
  // setInterval for the heartbeat. ws also emits "error" on the accepted WebSocket then (and for
  // any bad frame): every WebSocket needs an "error" listener, or Node throws it and the process
  // ends. handleUpgrade refuses with a plain HTTP response, before any 101: 403 for an Origin not
  // on the list (RFC 6455 §10.2), 401 without a valid access_token (RFC 6750 §2.3) naming the
  // scheme in WWW-Authenticate: Bearer (RFC 9110 §15.5.2), then the socket destroyed. Each
  // message is parsed; a bad one gets an error message and the connection goes on. join and
  // leave tell every member of the room who is in it; a say goes to the other members once (the
  // sender's high-water mark drops repeats), into the room's history, and is acknowledged. A join
  // with `after` gets CHAT_HISTORY_GONE first when a message after `after` is no longer kept (none
  // when the oldest kept is `after` + 1), then every kept message after it. A heartbeat
  // terminates a peer that has not answered the last ping, and pings the others; a send that
  // would put more than maxBufferedBytes in a peer's queue terminates it (terminate(), not
  // close(): a close frame would wait behind the queue the peer does not read). close() closes
  // every client with 1001.
  return todo("lesson-06-websockets", "createChat()", "Step 4");
}

/** A standalone http.Server with the chat at `/chat`; plain requests get 426. */
export function createChatServer(options: ChatOptions): http.Server {
  // TODO: An http.Server whose "upgrade" event hands requests for /chat to a chat's
  // handleUpgrade (any other path: 404, then the socket destroyed), and whose "close" closes the
  // chat. A request that is not an upgrade gets 426 Upgrade Required (RFC 9110 §15.5.22).
  return todo("lesson-06-websockets", "createChatServer()", "Step 4");
}
