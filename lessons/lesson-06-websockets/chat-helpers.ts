/**
 * Test helpers for Step 4: the chat server on port 0, `ws` clients that speak its JSON (Peer),
 * and a watch on the learner's ChatClient. Every wait is bounded, and each one ends at once with
 * the stub's own message when the server or the client reaches an unwritten stub.
 */
import type http from "node:http";
import type net from "node:net";
import { onTestFinished } from "vitest";
import { WebSocket } from "ws";
import { createChatServer, type ChatOptions } from "#lesson/lesson-06-websockets/chat.ts";
import { listen, type Address } from "../../shared/testing/net.ts";
import { PATIENCE_MS, within } from "../../shared/testing/patience.ts";
import { isNotWritten } from "../../shared/testing/server-log.ts";

/** The tokens the tests' servers accept, and the user each one names. */
export const USERS = new Map([
  ["ada-token", "ada"],
  ["bob-token", "bob"],
  ["cy-token", "cy"],
]);

export function tokens(token: string): string | undefined {
  return USERS.get(token);
}

export interface Started {
  server: http.Server;
  address: Address;
  /** `ws://127.0.0.1:PORT/chat` */
  url: string;
  /** The TCP connections the server holds now: a test destroys them to cut the clients off. */
  sockets: Set<net.Socket>;
}

/**
 * Rejects with the first unwritten stub the code under test reached inside an event (a server
 * logs what its message handler threw, and closes with 1011; a client emits "error"). Every wait
 * of these helpers races against it, so the test ends at once with the stub's own message.
 */
let stubReached: { promise: Promise<never>; reject: (error: Error) => void } | undefined;

function stubWatch(): Promise<never> {
  if (stubReached === undefined) {
    let reject!: (error: Error) => void;
    const promise = new Promise<never>((_resolve, rejectWith) => (reject = rejectWith));
    promise.catch(() => {}); // a test that never waits on it is not an unhandled rejection
    stubReached = { promise, reject };
    const original = console.error;
    console.error = (...args: unknown[]) => {
      const stub = args.find(isNotWritten);
      if (stub === undefined) return original.apply(console, args);
      original.call(console, `The chat closed a connection with 1011: ${stub.message}`);
      stubReached?.reject(stub);
    };
    onTestFinished(() => {
      console.error = original;
      stubReached = undefined;
    });
  }
  return stubReached.promise;
}

/** Reports an error the code under test raised in an event, if it is an unwritten stub's. */
export function reportIfNotWritten(error: unknown): void {
  if (isNotWritten(error)) {
    stubWatch();
    stubReached?.reject(error);
  }
}

/**
 * Errors thrown where no caller could catch them while the test runs: above all an "error" event
 * that nobody listens to, which Node throws, and which in a real server would end the process and
 * every connection in it. A test checks `errors` once the event that matters has happened.
 */
export function uncaught(): { errors: Error[] } {
  const errors: Error[] = [];
  const onError = (error: unknown): void => {
    errors.push(error instanceof Error ? error : new Error(String(error)));
  };
  process.on("uncaughtException", onError);
  onTestFinished(() => {
    process.off("uncaughtException", onError);
  });
  return { errors };
}

/** `promise` bounded by within(), and ended at once by a stub the code under test reached. */
export function bounded<T>(
  promise: Promise<T>,
  expected: string | (() => string),
  ms = PATIENCE_MS,
): Promise<T> {
  return within(Promise.race([promise, stubWatch()]), expected, ms);
}

/**
 * createChatServer() with the test tokens (or `create`, the reference's, for the client's tests),
 * on 127.0.0.1:0; closed when the test ends.
 */
export async function startChat(
  options: Partial<ChatOptions> = {},
  create: (options: ChatOptions) => http.Server = createChatServer,
): Promise<Started> {
  stubWatch();
  const server = create({ tokens, ...options });
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const address = await listen(server);
  return { server, address, url: `ws://${address.host}:${address.port}/chat`, sockets };
}

/** The URL with `access_token` set. */
export function withToken(url: string, token: string): string {
  const target = new URL(url);
  target.searchParams.set("access_token", token);
  return target.href;
}

export interface Closed {
  code: number;
  reason: string;
}

export interface PeerOptions {
  token?: string;
  origin?: string;
  /** false: the peer does not answer pings (a peer that is gone, as the server sees it). */
  autoPong?: boolean;
}

/** A `ws` client that sends and receives the chat's JSON, and keeps every message it received. */
export class Peer {
  readonly socket: WebSocket;
  readonly received: Record<string, unknown>[] = [];
  /** Texts that were not JSON, or binary messages: a chat server should send neither. */
  readonly garbage: string[] = [];
  closed: Closed | undefined;
  pings = 0;
  private readonly waiters = new Set<() => void>();
  private readonly name: string;

  private constructor(socket: WebSocket, name: string) {
    this.socket = socket;
    this.name = name;
    socket.on("message", (data, isBinary) => {
      const text = data.toString();
      try {
        if (isBinary) throw new Error("binary");
        this.received.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        this.garbage.push(text);
      }
      this.wake();
    });
    socket.on("ping", () => {
      this.pings++;
      this.wake();
    });
    socket.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    socket.on("error", () => {});
  }

  /** Opens a connection to the chat (with `ada-token` unless told otherwise); fails on a refusal. */
  static async open(url: string, options: PeerOptions = {}): Promise<Peer> {
    const token = options.token ?? "ada-token";
    const socket = new WebSocket(withToken(url, token), {
      origin: options.origin,
      autoPong: options.autoPong ?? true,
      perMessageDeflate: false,
    });
    onTestFinished(() => socket.terminate());
    const opened = new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("unexpected-response", (_request, response) => {
        response.resume();
        reject(
          new Error(
            `Expected 101 Switching Protocols for a client with token ${token}` +
              `${options.origin === undefined ? "" : ` and Origin ${options.origin}`}, but the ` +
              `server answered ${response.statusCode} ${response.statusMessage}`,
          ),
        );
        socket.terminate();
      });
      socket.once("error", (error) => reject(error));
    });
    await bounded(opened, `the WebSocket handshake to ${url} to complete (101)`);
    return new Peer(socket, USERS.get(token) ?? token);
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /**
   * The first message received at or after index `from` for which `match` holds. Fails if the
   * connection closes first, or after PATIENCE_MS, saying what was `expected` and what came.
   */
  async next(
    match: (message: Record<string, unknown>) => boolean,
    expected: string,
    from = 0,
    ms = PATIENCE_MS,
  ): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await this.until(
      () => {
        found = this.received.slice(from).find(match);
        return found !== undefined;
      },
      expected,
      ms,
    );
    return found as Record<string, unknown>;
  }

  /** Resolves once `done()` holds, checked on every message, ping and close. */
  until(done: () => boolean, expected: string, ms = PATIENCE_MS): Promise<void> {
    let check = (): void => {};
    const reached = new Promise<void>((resolve, reject) => {
      check = () => {
        if (done()) resolve();
        else if (this.closed !== undefined) reject(new Error(this.why(expected)));
      };
      this.waiters.add(check);
      check();
    });
    return bounded(reached, () => this.why(expected), ms).finally(() => this.waiters.delete(check));
  }

  /** Resolves with the close code and reason once the connection has closed. */
  async closing(expected: string, ms = PATIENCE_MS): Promise<Closed> {
    let check = (): void => {};
    const closed = new Promise<Closed>((resolve) => {
      check = () => {
        if (this.closed !== undefined) resolve(this.closed);
      };
      this.waiters.add(check);
      check();
    });
    return bounded(closed, () => this.why(expected), ms).finally(() => this.waiters.delete(check));
  }

  /** What went wrong, for a failure message: what was expected, what came, and how it ended. */
  why(expected: string): string {
    const shown = this.received.slice(-6).map((message) => JSON.stringify(message));
    const end =
      this.closed === undefined
        ? "and the connection is still open"
        : `and then the server closed the connection with ${this.closed.code}` +
          `${this.closed.reason === "" ? "" : ` "${this.closed.reason}"`}`;
    return (
      `Expected ${expected}.\n  ${this.name} received ${this.received.length} message(s)` +
      `${shown.length === 0 ? "" : `, the last: ${shown.join(" ")}`}` +
      `${this.garbage.length === 0 ? "" : `\n  and ${this.garbage.length} that are not JSON: ${this.garbage[0]?.slice(0, 80)}`}` +
      `\n  ${end}.`
    );
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** The messages of one type a peer received, in order. */
export function ofType(peer: Peer, type: string): Record<string, unknown>[] {
  return peer.received.filter((message) => message.type === type);
}

/** Opens a peer and joins it to `room`; resolves once the server has told it the room's presence. */
export async function member(url: string, room: string, options: PeerOptions = {}): Promise<Peer> {
  const peer = await Peer.open(url, options);
  peer.send({ type: "join", room });
  await peer.next(
    (message) => message.type === "presence" && message.room === room,
    `a presence message for room "${room}" after {"type":"join","room":"${room}"}`,
  );
  return peer;
}
