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

/**
 * Where a pooled connection stands:
 * - "busy": a request is on it, and its response has not ended (a new connection starts busy,
 *   with the request that opened it);
 * - "idle": in the idle list, ready for the next request, until its idle timer retires it;
 * - "closing": the pool will not use it again (retired, destroyed, or closed by the server), and
 *   waits for its "close".
 */
type ConnectionState = "busy" | "idle" | "closing";

/** One pooled connection. */
interface Connection {
  socket: net.Socket;
  state: ConnectionState;
  /** Responses read on it so far: a connection that has served one is a reused connection. */
  served: number;
  /** The request on it now, its parser, and how many response bytes have arrived for it. */
  job: Job | undefined;
  parser: ResponseParser | undefined;
  received: number;
  idleTimer: NodeJS.Timeout | undefined;
  error: Error | undefined;
}

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
    for (const connection of this.connections) if (connection.state === "busy") busy += 1;
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
    if (this.closed) return Promise.reject(new PoolError("POOL_CLOSED", "The pool is closed"));
    const method = options.method ?? "GET";
    let bytes: Buffer;
    try {
      bytes = serializeRequest({ host: this.host, port: this.port, ...options, method });
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ method, bytes, resolve, reject, retried: false });
      this.dispatch();
    });
  }

  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      job.reject(new PoolError("POOL_CLOSED", "The pool closed before the request was sent"));
    }
    for (const connection of this.idle.splice(0)) this.retire(connection);
  }

  /** Hands waiting requests to idle connections, or to new ones while there is room. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      const connection =
        this.idle.pop() ?? (this.connections.size < this.maxSockets ? this.open() : undefined);
      if (connection === undefined) return; // every connection is busy: the rest wait their turn
      this.send(connection, this.queue.shift() as Job);
    }
  }

  private open(): Connection {
    const socket = net.connect({ host: this.host, port: this.port });
    // A request leaves in one write; Nagle could only hold it back.
    socket.setNoDelay(true);
    const connection: Connection = {
      socket,
      state: "busy",
      served: 0,
      job: undefined,
      parser: undefined,
      received: 0,
      idleTimer: undefined,
      error: undefined,
    };
    this.connections.add(connection);
    this.opened += 1;
    socket.on("data", (chunk: Buffer) =>
      this.guarded(connection, () => this.onData(connection, chunk)),
    );
    socket.on("end", () => this.guarded(connection, () => this.onEnd(connection)));
    socket.on("error", (error) => {
      connection.error = error; // "close" follows, and decides what happens to the request
    });
    socket.on("close", () => this.onClose(connection));
    return connection;
  }

  /**
   * What a listener throws rejects the request on the connection, which is destroyed: a malformed
   * response (lesson 03's HttpError, from the parser), a response cut short by the close, or a bug.
   * A request must settle, whatever happens to its connection.
   */
  private guarded(connection: Connection, listener: () => void): void {
    try {
      listener();
    } catch (error) {
      if (connection.job === undefined) throw error;
      this.fail(connection, error);
    }
  }

  private send(connection: Connection, job: Job): void {
    clearTimeout(connection.idleTimer);
    connection.state = "busy";
    connection.job = job;
    // The method matters to framing: a response to HEAD has no body, whatever it says.
    connection.parser = new ResponseParser(job.method);
    connection.received = 0;
    // Written before the connection is established, it waits in the socket until then.
    connection.socket.write(job.bytes);
  }

  private onData(connection: Connection, chunk: Buffer): void {
    const { job, parser } = connection;
    if (job === undefined || parser === undefined) {
      // Bytes nobody asked for: the next response on this connection could not be trusted.
      this.destroy(connection);
      return;
    }
    connection.received += chunk.length;
    const responses = parser.feed(chunk);
    // A 1xx response is interim (RFC 9110 §15.2): the final response follows it.
    const final = responses.findIndex((response) => response.status >= 200);
    if (final === -1) return;
    // Anything after the final response was not asked for either: another whole response, or
    // the start of one the parser now holds. Reused, the connection would hand the rest of those
    // bytes to the next request as its response.
    const clean = final === responses.length - 1 && parser.phase === "between";
    this.complete(connection, responses[final] as ClientResponse, clean);
  }

  private onEnd(connection: Connection): void {
    const { job, parser } = connection;
    if (job === undefined || parser === undefined) return; // an idle connection: "close" follows
    // The server closed during a response: that ends a body framed by the close, or cuts a
    // response short. With no byte at all, "close" decides whether to retry.
    const response = parser.end().find((r) => r.status >= 200);
    if (response !== undefined) this.complete(connection, response, false);
  }

  private complete(connection: Connection, response: ClientResponse, clean: boolean): void {
    const job = connection.job as Job;
    // RFC 9112 §9.3 applies to the response too: "close", or an HTTP/1.0 response without
    // keep-alive, and the server closes the connection after it. Decided before the request
    // resolves, so that whoever awaits it finds the connection where it belongs.
    const reusable = clean && persists(response) && !this.closed;
    connection.job = undefined;
    connection.parser = undefined;
    connection.served += 1;
    if (reusable) {
      connection.state = "idle";
      this.idle.push(connection);
      connection.idleTimer = setTimeout(() => this.retire(connection), this.idleTimeoutMs);
    } else if (clean) {
      this.retire(connection);
    } else {
      // Bytes nobody asked for, or a body that ended with the close: nothing to say goodbye to.
      this.destroy(connection);
    }
    job.resolve(response);
    this.dispatch();
  }

  private fail(connection: Connection, error: unknown): void {
    const job = connection.job as Job;
    connection.job = undefined;
    this.destroy(connection);
    job.reject(error);
  }

  /** Closes a connection the pool will not use again. It counts until its "close". */
  private retire(connection: Connection): void {
    connection.state = "closing";
    clearTimeout(connection.idleTimer);
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    connection.socket.end();
  }

  private destroy(connection: Connection): void {
    connection.state = "closing";
    connection.socket.destroy();
  }

  private onClose(connection: Connection): void {
    connection.state = "closing";
    clearTimeout(connection.idleTimer);
    this.connections.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    const job = connection.job;
    connection.job = undefined;
    if (job !== undefined) this.retryOrReject(connection, job);
    this.dispatch();
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
    const race = connection.served > 0 && connection.received === 0;
    if (race && IDEMPOTENT_METHODS.has(job.method) && !job.retried && !this.closed) {
      job.retried = true;
      this.retries += 1;
      this.queue.unshift(job); // it was first in line
      return;
    }
    const what = connection.received === 0 ? "before any response byte" : "during the response";
    job.reject(
      new PoolError("POOL_CONNECTION_CLOSED", `The connection closed ${what} (${job.method})`, {
        cause: connection.error,
      }),
    );
  }
}
