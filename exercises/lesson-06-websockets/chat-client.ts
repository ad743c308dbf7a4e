/**
 * A chat client that survives dropped connections: nothing it sends is lost or doubled, and it
 * misses nothing that was said while it was away.
 *
 *   const chat = connectChat({ url: "ws://127.0.0.1:8096/chat", token: "ada-token" });
 *   chat.on("message", (m) => console.log(`${m.from}: ${m.text}`));
 *   chat.join("lobby");
 *   chat.say("lobby", "hello");
 *
 * Each `say` gets the next `seq` and waits in `unacknowledged` until the server's ack. When the
 * connection drops, the client waits a backoff (lesson 05's full jitter), connects again, joins
 * its rooms again with `after` (the last room id it saw, so the server replays what it missed),
 * and resends every message still unacknowledged, in order. The server drops the ones it already
 * had (it acknowledges them again), so a resend can never show twice.
 *
 *   connecting --open--> open --close/error--> waiting --backoff--> connecting ...
 *        \______________refused (401, 403) or close()_______________> closed
 */
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { WebSocket } from "ws";
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  sleep,
  type BackoffOptions,
} from "#reference/lesson-05-polling/backoff.ts";
import {
  ChatError,
  parseServerMessage,
  type AckMessage,
  type ChatMessage,
  type ClientMessage,
  type PresenceMessage,
  type SayMessage,
  type ServerMessage,
} from "./chat-protocol.ts";
import { todo } from "#shared/todo.ts";

export interface ChatClientOptions {
  /** The chat's address: `ws://127.0.0.1:8096/chat`. */
  url: string | URL;
  /** Sent as the `access_token` query parameter of every upgrade request. */
  token: string;
  /** This client's id in every `say`; a random UUID by default. Keep it to resume a session. */
  clientId?: string;
  /** The Origin header to send, as a browser would. */
  origin?: string;
  backoff?: BackoffOptions;
  /** The random source for the backoff's jitter; Math.random by default. */
  random?: () => number;
}

export type ChatClientState = "connecting" | "open" | "waiting" | "closed";

export interface Retry {
  /** 0 for the first retry since the last connection that opened. */
  attempt: number;
  delayMs: number;
}

export interface ChatClientEvents {
  /** A connection opened (the first, or one after a drop); rooms are joined again. */
  open: [];
  /** A message from another member, once each, in the room's order. */
  message: [message: ChatMessage];
  presence: [presence: PresenceMessage];
  ack: [ack: AckMessage];
  /** The connection dropped; the next attempt comes after `delayMs`. */
  retry: [retry: Retry];
  /** The server refused one message (an `error` message); the connection goes on. */
  rejected: [error: ChatError];
  /** The client gave up: the upgrade was refused (CHAT_REFUSED), or a bad server message. */
  error: [error: Error];
  /** The client is closed, by close() or after an "error". */
  close: [];
}

export interface ChatClient extends EventEmitter<ChatClientEvents> {
  readonly clientId: string;
  readonly state: ChatClientState;
  /** How many of this client's messages the server has not acknowledged yet. */
  readonly unacknowledged: number;
  /** Joins a room, now or as soon as a connection opens, and again after every reconnection. */
  join(room: string): void;
  leave(room: string): void;
  /** Sends a message to a room this client has joined; returns its `seq`. */
  say(room: string, text: string): number;
  /** Closes the connection with 1000 and stops reconnecting. */
  close(): Promise<void>;
}

/** Opens a chat client; it connects at once, and again whenever the connection drops. */
export function connectChat(options: ChatClientOptions): ChatClient {
  // TODO: A client that connects at once with the token as access_token, and, whenever the
  // connection closes without close(), waits backoffDelay(attempt) (lesson 05's full jitter;
  // attempt starts over at 0 once a connection opens) and connects again. On every open it joins
  // its rooms again with `after`, the last room id it saw there, and resends every message not
  // yet acknowledged, in seq order. Each message from the server is checked; a room message at or
  // below the last id seen there, or its own, is not shown again. A 4xx to the upgrade (but 429)
  // is an "error" (CHAT_REFUSED), not a reason to retry.
  return todo("lesson-06-websockets", "connectChat()", "Step 4");
}
