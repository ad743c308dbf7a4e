/**
 * A client-side pool of persistent connections to one server, as browsers and HTTP client
 * libraries keep them:
 *
 *   request() --> an idle connection?      yes: send the request on it
 *                 fewer than maxSockets?   yes: open a connection, send on it
 *                 otherwise                wait in line, first come first served
 *   response  --> the server keeps the connection open?  back to idle, until idleTimeoutMs
 *                                          says Connection: close?  close it
 *
 * One request at a time per connection: no pipelining (see the README for why clients gave it up).
 * Requests are written by lesson 03's serializeRequest(), responses framed by its ResponseParser.
 */
import net from "node:net";
import {
  ResponseParser,
  serializeRequest,
  type ClientResponse,
} from "#reference/lesson-03-http/client.ts";
import { persists } from "./persistence.ts";
import { todo } from "#shared/todo.ts";

export interface PoolOptions {
  host: string;
  port: number;
  /** Connections open at once, at most; browsers keep about 6 per origin. */
  maxSockets?: number;
  /** An idle connection is closed after this long; keep it below the server's own timeout. */
  idleTimeoutMs?: number;
}

export interface PoolRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface PoolStats {
  /** Connections opened since the pool was created. */
  opened: number;
  /** Connections open now: idle, busy, or closing. */
  open: number;
  idle: number;
  busy: number;
  /** Requests waiting for a connection. */
  queued: number;
  /** Requests sent a second time after their connection closed under them. */
  retries: number;
}

export interface Pool {
  request(options?: PoolRequest): Promise<ClientResponse>;
  /** Closes idle connections now and busy ones after their response; rejects queued requests. */
  close(): void;
  readonly stats: PoolStats;
}

export type PoolErrorCode = "POOL_CONNECTION_CLOSED" | "POOL_CLOSED";

/** The pool's one error type. Malformed responses reject with lesson 03's HttpError. */
export class PoolError extends Error {
  readonly code: PoolErrorCode;

  constructor(code: PoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PoolError";
    this.code = code;
  }
}

/** RFC 9110 §9.2.2: "PUT, DELETE, and safe request methods are idempotent." */
export const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

export const POOL_DEFAULTS = { maxSockets: 6, idleTimeoutMs: 4_000 } as const;

/**
 * A pool of connections to `options.host`:`options.port`. The pool's design is yours: the
 * connections it holds, the requests waiting, and one named state per connection (below).
 *
 * The rules, in README Step 4:
 * - A request takes the most recently used idle connection, or a new one while fewer than
 *   `maxSockets` are open; otherwise it waits, first come, first served.
 * - One request at a time per connection. The request is written with serializeRequest(), and
 *   its response framed by a new ResponseParser(method): a response to HEAD has no body, whatever
 *   its Content-Length says (RFC 9110 §9.3.2). A 1xx response is interim (RFC 9110 §15.2).
 * - After the response, the connection is reused only if persists(response) (RFC 9112 §9.3: a
 *   response with "close" ends its use at once, §9.6), and only if the chunk that completed the
 *   response held nothing after it. An idle connection closes after `idleTimeoutMs`.
 * - A reused connection that closes before any byte of the response is the idle-close race (RFC
 *   9112 §9.5): an idempotent request (RFC 9110 §9.2.2) goes back to the front of the line, once.
 *   Anything else rejects with PoolError POOL_CONNECTION_CLOSED; a malformed response rejects
 *   with lesson 03's HttpError. Every request settles, whatever happens to its connection.
 * - close(): queued and later requests reject with POOL_CLOSED; idle connections close now, busy
 *   ones after their response.
 */
export function createPool(options: PoolOptions): Pool {
  // TODO (Step 4): a pool that follows the rules above, one named state per connection.
  return todo("lesson-04-keep-alive", "createPool()", "Step 4");
}

/**
 * Where a pooled connection stands:
 * - "busy": a request is on it, and its response has not ended (a new connection starts busy,
 *   with the request that opened it);
 * - "idle": in the idle list, ready for the next request, until its idle timer retires it;
 * - "closing": the pool will not use it again (retired, destroyed, or closed by the server), and
 *   waits for its "close".
 */
type ConnectionState = "busy" | "idle" | "closing";
