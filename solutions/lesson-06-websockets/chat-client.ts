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
  return new ReconnectingChat(options);
}

class ReconnectingChat extends EventEmitter<ChatClientEvents> implements ChatClient {
  readonly clientId: string;
  state: ChatClientState = "connecting";
  private readonly options: ChatClientOptions;
  private socket: WebSocket | undefined;
  private seq = 0;
  /** Sent or not yet, but not acknowledged: by seq, so in the order they were said. */
  private readonly pending = new Map<number, SayMessage>();
  /** The rooms joined, each with the last room id seen there (0: none yet). */
  private readonly rooms = new Map<string, number>();
  private attempt = 0;
  private readonly stop = new AbortController();

  constructor(options: ChatClientOptions) {
    super();
    this.options = options;
    this.clientId = options.clientId ?? randomUUID();
    this.connect();
  }

  get unacknowledged(): number {
    return this.pending.size;
  }

  join(room: string): void {
    if (!this.rooms.has(room)) this.rooms.set(room, 0);
    this.send({ type: "join", room, after: this.rooms.get(room) });
  }

  leave(room: string): void {
    this.rooms.delete(room);
    this.send({ type: "leave", room });
  }

  say(room: string, text: string): number {
    if (!this.rooms.has(room)) {
      throw new ChatError(
        "CHAT_NOT_A_MEMBER",
        `join ${JSON.stringify(room)} before saying anything there`,
        {
          field: "room",
        },
      );
    }
    const message: SayMessage = { type: "say", room, client: this.clientId, seq: ++this.seq, text };
    this.pending.set(message.seq, message);
    this.send(message);
    return message.seq;
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.finish();
    const socket = this.socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.close(1000);
    await closed;
  }

  /** Sends now if a connection is open; otherwise the next "open" sends it. */
  private send(message: ClientMessage): void {
    if (this.state === "open") this.socket?.send(JSON.stringify(message));
  }

  private connect(): void {
    this.state = "connecting";
    const url = new URL(this.options.url);
    url.searchParams.set("access_token", this.options.token);
    const socket = new WebSocket(url, { origin: this.options.origin, perMessageDeflate: false });
    this.socket = socket;
    socket.on("open", () => this.onOpen());
    socket.on("message", (data, isBinary) => this.onMessage(data.toString(), isBinary));
    socket.on("unexpected-response", (_request, response) => {
      response.resume();
      // 401 or 403: this token or Origin will be refused however often we ask. A 5xx (a proxy
      // whose server is restarting) or 429 is worth another try, after the backoff.
      const status = response.statusCode ?? 0;
      if (status >= 400 && status < 500 && status !== 429) {
        this.fail(new ChatError("CHAT_REFUSED", `the server refused the upgrade with ${status}`));
      }
      socket.terminate();
    });
    // Refused, reset, unreachable: "close" follows, and that is where the retry is decided.
    socket.on("error", () => {});
    socket.on("close", () => this.onClose(socket));
  }

  private onOpen(): void {
    this.state = "open";
    this.attempt = 0; // a connection that opened resets the backoff
    this.emit("open");
    // Rooms first, so that the resent messages find their rooms joined.
    for (const [room, after] of this.rooms) this.send({ type: "join", room, after });
    for (const message of this.pending.values()) this.send(message);
  }

  private onMessage(text: string, isBinary: boolean): void {
    let message: ServerMessage;
    try {
      if (isBinary) throw new ChatError("CHAT_BAD_RESPONSE", "the server sent a binary message");
      message = parseServerMessage(text);
    } catch (error) {
      // A server that speaks something else: nothing this client says will be understood.
      this.fail(error as Error);
      this.socket?.close(1002, "bad message");
      return;
    }
    switch (message.type) {
      case "ack":
        if (message.client === this.clientId) this.pending.delete(message.seq);
        this.emit("ack", message);
        return;
      case "message": {
        const last = this.rooms.get(message.room);
        // Not (or no longer) in that room, or seen already: a replay overlaps what came live.
        if (last === undefined || message.id <= last) return;
        this.rooms.set(message.room, message.id);
        // Our own message, in a replay after a reconnection: we have it.
        if (message.client === this.clientId) return;
        this.emit("message", message);
        return;
      }
      case "presence":
        this.emit("presence", message);
        return;
      case "error":
        this.emit(
          "rejected",
          new ChatError(message.code, message.message, { field: message.field }),
        );
        return;
    }
  }

  private onClose(socket: WebSocket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    if (this.state === "closed") return;
    this.state = "waiting";
    const delayMs = backoffDelay(
      this.attempt,
      this.options.backoff ?? DEFAULT_BACKOFF,
      this.options.random,
    );
    this.emit("retry", { attempt: this.attempt, delayMs });
    this.attempt++;
    void sleep(delayMs, this.stop.signal).then((slept) => {
      if (slept && this.state === "waiting") this.connect();
    });
  }

  /** Gives up for good: "error", then "close". */
  private fail(error: Error): void {
    if (this.state === "closed") return;
    this.finish();
    this.emit("error", error);
  }

  private finish(): void {
    this.state = "closed";
    this.stop.abort();
    queueMicrotask(() => this.emit("close"));
  }
}
