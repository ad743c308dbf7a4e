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
import { todo } from "#shared/todo.ts";
import { persists } from "./persistence.ts";

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

export function createPool(options: PoolOptions): Pool {
  return new ConnectionPool(options);
}

/** A request waiting for, or using, a connection. */
interface Job {
  method: string;
  bytes: Buffer;
  resolve(response: ClientResponse): void;
  reject(error: unknown): void;
  retried: boolean;
}

/** One pooled connection. */
interface Connection {
  socket: net.Socket;
  /** Responses read on it so far: a connection that has served one is a reused connection. */
  served: number;
  /** The request on it now, its parser, and how many response bytes have arrived for it. */
  job: Job | undefined;
  parser: ResponseParser | undefined;
  received: number;
  idleTimer: NodeJS.Timeout | undefined;
  error: Error | undefined;
}

/**
 * Given: the fields, the constructor and `stats`. You write the methods below them (Step 4).
 */
class ConnectionPool implements Pool {
  private readonly host: string;
  private readonly port: number;
  private readonly maxSockets: number;
  private readonly idleTimeoutMs: number;
  private readonly connections = new Set<Connection>();
  /** Idle connections; the most recently used is reused first, so the others can time out. */
  private readonly idle: Connection[] = [];
  /** Requests waiting for a connection, oldest first. */
  private readonly queue: Job[] = [];
  private opened = 0;
  private retries = 0;
  private closed = false;

  constructor(options: PoolOptions) {
    this.host = options.host;
    this.port = options.port;
    this.maxSockets = options.maxSockets ?? POOL_DEFAULTS.maxSockets;
    this.idleTimeoutMs = options.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs;
  }

  get stats(): PoolStats {
    let busy = 0;
    for (const connection of this.connections) if (connection.job !== undefined) busy += 1;
    return {
      opened: this.opened,
      open: this.connections.size,
      idle: this.idle.length,
      busy,
      queued: this.queue.length,
      retries: this.retries,
    };
  }

  request(options: PoolRequest = {}): Promise<ClientResponse> {
    // TODO: Closed: reject with PoolError POOL_CLOSED. Otherwise serializeRequest() (lesson 03's,
    // given; method GET by default; a bad header value rejects), queue a Job and dispatch().
    return todo("lesson-04-keep-alive", "ConnectionPool.request()", "Step 4");
  }

  close(): void {
    // TODO: Mark the pool closed; reject every queued job with POOL_CLOSED; retire every idle
    // connection. Busy ones are retired after their response (complete() checks `closed`).
    return todo("lesson-04-keep-alive", "ConnectionPool.close()", "Step 4");
  }

  /** Hands waiting requests to idle connections, or to new ones while there is room. */
  private dispatch(): void {
    // TODO: While requests wait: the most recently used idle connection, or a new one while fewer
    // than maxSockets are open; none: every connection is busy, the rest wait their turn.
    // Send the oldest request on it.
    return todo("lesson-04-keep-alive", "ConnectionPool.dispatch()", "Step 4");
  }

  private open(): Connection {
    // TODO: net.connect; setNoDelay(true): a request leaves in one write, Nagle could only hold it
    // back. Count it, add it to the set, and listen: "data" -> onData, "end" -> onEnd, "error" -> keep
    // the error ("close" follows, and decides what happens to the request), "close" -> onClose.
    return todo("lesson-04-keep-alive", "ConnectionPool.open()", "Step 4");
  }

  private send(connection: Connection, job: Job): void {
    // TODO: Clear the idle timer; the job, a new ResponseParser(job.method) (the method matters to
    // framing: a response to HEAD has no body, whatever it says), received = 0; write the bytes.
    return todo("lesson-04-keep-alive", "ConnectionPool.send()", "Step 4");
  }

  private onData(connection: Connection, chunk: Buffer): void {
    // TODO: No job: bytes nobody asked for; destroy the connection. Otherwise count the bytes, feed
    // the parser (an error fails the job), and complete() with the first final response (a 1xx is
    // interim, RFC 9110 §15.2). Anything after it was not asked for either, another whole response
    // or the start of one (the parser's phase is not "between"): not clean, not reusable. Reused,
    // the connection would hand the rest of those bytes to the next request as its response.
    return todo("lesson-04-keep-alive", "ConnectionPool.onData()", "Step 4");
  }

  private onEnd(connection: Connection): void {
    // TODO: With a job: the server closed during a response. parser.end() completes a body framed by
    // the close (not reusable), or throws for one cut short (fail). With no byte at all, onClose
    // decides whether to retry.
    return todo("lesson-04-keep-alive", "ConnectionPool.onEnd()", "Step 4");
  }

  private complete(connection: Connection, response: ClientResponse, clean: boolean): void {
    // TODO: Clear the job, count the response, resolve. RFC 9112 §9.3 applies to the response too:
    // reuse the connection only if it was clean, persists(response) and the pool is open: back to
    // idle (the end of the list: the most recently used), with a timer that retires it after
    // idleTimeoutMs. Clean but not reusable: retire it. Not clean: destroy it. Then dispatch().
    return todo("lesson-04-keep-alive", "ConnectionPool.complete()", "Step 4");
  }

  private fail(connection: Connection, error: unknown): void {
    // TODO: Clear the job, reject it with the error, destroy the connection.
    return todo("lesson-04-keep-alive", "ConnectionPool.fail()", "Step 4");
  }

  /** Closes a connection the pool will not use again. It counts until its "close". */
  private retire(connection: Connection): void {
    // TODO: Clear its idle timer, take it out of the idle list, end() it.
    return todo("lesson-04-keep-alive", "ConnectionPool.retire()", "Step 4");
  }

  private onClose(connection: Connection): void {
    // TODO: Clear its timer, forget it (set and idle list). A job still on it: retryOrReject().
    // Then dispatch(): there is room for a new connection.
    return todo("lesson-04-keep-alive", "ConnectionPool.onClose()", "Step 4");
  }

  /**
   * The connection closed with a request on it and no response. If the server closed it as idle
   * just as the request left (RFC 9112 §9.5: "a client might have started to send a new request
   * at the same time that the server has decided to close the "idle" connection"), the server
   * never saw it, and sending it again is safe, but only for an idempotent method: RFC 9110 §9.2.2,
   * "A client SHOULD NOT automatically retry a request with a non-idempotent method unless it has
   * some means to know that the request semantics are actually idempotent [...] or some means to
   * detect that the original request was never applied." A POST might have been applied.
   */
  private retryOrReject(connection: Connection, job: Job): void {
    // TODO: The race: a reused connection (served > 0) and no response byte. Then an idempotent
    // method not retried yet, in an open pool, goes back to the FRONT of the queue (it was first in
    // line), once. Anything else rejects with PoolError POOL_CONNECTION_CLOSED (cause: the socket error).
    return todo("lesson-04-keep-alive", "ConnectionPool.retryOrReject()", "Step 4");
  }
}
