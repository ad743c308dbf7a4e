/**
 * A persistent HTTP/1.1 server on node:net: lesson 03's pipeline, in a loop, per connection.
 *
 *   bytes --feed--> RequestParser --requests, in order--> handler --responses, in order--> socket
 *     ^                                                                                       |
 *     '---- again, until: Connection: close, HTTP/1.0, the request limit, a malformed request,
 *           a timeout, or the client's FIN
 *
 * HTTP/1.1 connections persist by default (RFC 9112 §9.3); lesson 03's server closed after each
 * response on purpose. Keeping them open brings three jobs: answer pipelined requests in order,
 * close connections nobody uses, and stop reading from a client that does not read its answers.
 */
import net from "node:net";
import { HttpError, RequestParser, type HttpRequest } from "#reference/lesson-03-http/parser.ts";
import {
  errorResponse,
  json,
  serializeResponse,
  type HttpResponse,
} from "#reference/lesson-03-http/response.ts";
import { createProfileApi } from "#reference/lesson-03-http/routes.ts";
import { connectionFields, persists } from "./persistence.ts";

/** Lesson 03's handler, which may now answer later: a slow answer is what blocks a pipeline. */
export type Handler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

export interface ServerOptions {
  /** Answers each request; the profile API of lesson 03 by default. */
  handler?: Handler;
  /** A connection with nothing to answer and nothing arriving closes after this long. */
  idleTimeoutMs?: number;
  /** A request's head must be complete this long after its first byte, or the answer is 408. */
  headersTimeoutMs?: number;
  /** Requests one connection serves; the last response says Connection: close. */
  maxRequestsPerConnection?: number;
  /** Unanswered requests one connection may have; at the cap, the server stops reading. */
  maxPipelinedRequests?: number;
}

export type Settings = Required<ServerOptions>;

export const DEFAULTS = {
  idleTimeoutMs: 5_000,
  headersTimeoutMs: 10_000,
  maxRequestsPerConnection: 100,
  maxPipelinedRequests: 16,
} as const;

/** What the server has seen, so that reuse shows: ten requests on one connection, or on ten. */
export interface ServerStats {
  connectionsOpened: number;
  connectionsOpen: number;
  requests: number;
}

export interface KeepAliveServer extends net.Server {
  stats(): ServerStats;
}

/** An unstarted server. `npm run serve` calls it with no arguments. */
export function createServer(options: ServerOptions = {}): KeepAliveServer {
  const settings: Settings = {
    handler: options.handler ?? createProfileApi(),
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs,
    maxRequestsPerConnection: options.maxRequestsPerConnection ?? DEFAULTS.maxRequestsPerConnection,
    maxPipelinedRequests: options.maxPipelinedRequests ?? DEFAULTS.maxPipelinedRequests,
  };
  const stats: ServerStats = { connectionsOpened: 0, connectionsOpen: 0, requests: 0 };
  // allowHalfOpen: a client may send its requests and then its FIN (`printf ... | nc -N`), and
  // still read the answers. noDelay: a response leaves in one write, so Nagle could only delay it.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    serveConnection(socket, settings, stats);
  });
  return Object.assign(server, { stats: (): ServerStats => ({ ...stats }) });
}

/** Methods whose requests may be handled side by side (RFC 9110 §9.2.1). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** One request and, once the handler has answered, its response's bytes. */
interface Exchange {
  /** Undefined for an answer the server makes itself (a refusal, a 408): ready at once. */
  request: HttpRequest | undefined;
  /** The response's Connection and Keep-Alive fields, fixed when the request arrived. */
  connection: Record<string, string>;
  state: "waiting" | "running" | "ready";
  bytes?: Buffer;
}

/**
 * One connection, from its first byte to its close. The same shape as lesson 03's, with a queue
 * between the parser and the socket instead of a single answer.
 */
export function serveConnection(socket: net.Socket, settings: Settings, stats: ServerStats): void {
  const parser = new RequestParser();
  // The exchanges not yet written, in the order their requests arrived.
  const queue: Exchange[] = [];
  let served = 0; // requests accepted on this connection, for maxRequestsPerConnection
  // Set once the last exchange is queued: no further request is read, the connection closes
  // after the queue is written.
  let finished = false;
  let writable = true; // false from a write() that returned false until "drain"
  let idleTimer: NodeJS.Timeout | undefined;
  let headersTimer: NodeJS.Timeout | undefined;

  stats.connectionsOpened += 1;
  stats.connectionsOpen += 1;
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("drain", onDrain);
  socket.on("close", onClose);
  // A client that resets the connection is not the server's problem; without a listener the
  // "error" event would crash the process, and every other client with it.
  socket.on("error", onError);
  // A connection that never sends a byte is idle from the start.
  armIdleTimer();

  function onData(chunk: Buffer): void {
    // After the last exchange, bytes are read and dropped while the connection closes: closing
    // with unread bytes would send a reset, which can destroy responses the client has not read.
    if (finished) return;
    let requests: readonly HttpRequest[];
    let failure: HttpError | undefined;
    try {
      requests = parser.feed(chunk);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      // The requests completed before the malformed byte, in the same chunk, are whole.
      requests = parser.completedBeforeError;
      failure = error;
    }
    watchTimers(requests.length > 0);
    for (const request of requests) accept(request);
    // A framing error leaves the rest of the stream meaningless: answer it after every request
    // before it, then close.
    if (failure !== undefined) finish(errorResponse(failure));
  }

  /**
   * After each chunk, from where the parser stands. The idle timer runs only while nothing is
   * owed: the bytes of a request clear it, and only progress() arms it again, once the queue is
   * empty, so a slow handler is not idleness. A head under way runs the headers timer. That one
   * starts at the chunk with the head's first byte and is not restarted by later bytes: a client
   * that sends one byte every few seconds (slowloris) must not hold the connection forever.
   */
  function watchTimers(completed: boolean): void {
    if (completed || parser.phase !== "between") clearTimeout(idleTimer);
    // A request completed in this chunk: a head still arriving is the next one's, with its own
    // clock.
    if (completed || parser.phase !== "head") stopHeadersTimer();
    if (parser.phase === "head" && headersTimer === undefined) {
      headersTimer = setTimeout(onHeadersTimeout, settings.headersTimeoutMs);
    }
  }

  function stopHeadersTimer(): void {
    clearTimeout(headersTimer);
    headersTimer = undefined;
  }

  /** A complete request, in arrival order: it takes its place in the queue. */
  function accept(request: HttpRequest): void {
    // RFC 9112 §9.6: after the request with "close", "The server MUST NOT process any further
    // requests received on that connection."
    if (finished) return;
    served += 1;
    stats.requests += 1;
    const open = persists(request) && served < settings.maxRequestsPerConnection;
    const remaining = settings.maxRequestsPerConnection - served;
    queue.push({
      request,
      connection: connectionFields({ open, idleTimeoutMs: settings.idleTimeoutMs, remaining }),
      state: "waiting",
    });
    if (!open) finished = true;
    progress();
  }

  /** The server's own last answer (an error, a timeout), after every response before it. */
  function finish(response: HttpResponse): void {
    if (finished) return;
    finished = true;
    stopHeadersTimer();
    const connection = { Connection: "close" };
    const bytes = serializeResponse(response, { connection });
    queue.push({ request: undefined, connection, state: "ready", bytes });
    progress();
  }

  /** Moves the connection along after anything happened: start, write, close, pause, wait. */
  function progress(): void {
    if (socket.destroyed) return;
    startHandlers();
    flush();
    closeWhenDone();
    pauseWhenFull();
    if (queue.length === 0 && parser.phase === "between" && !finished) armIdleTimer();
  }

  /**
   * RFC 9112 §9.3.2: "A server MAY process a sequence of pipelined requests in parallel if they
   * all have safe methods (Section 9.2.1 of [HTTP]), but it MUST send the corresponding responses
   * in the same order that the requests were received." So a GET starts while earlier GETs run;
   * a POST waits for everything before it, and everything after it waits for the POST.
   */
  function startHandlers(): void {
    let running = false;
    let unsafeRunning = false;
    for (const [index, exchange] of queue.entries()) {
      if (index >= settings.maxPipelinedRequests) return;
      const { request } = exchange;
      if (request === undefined) continue;
      const safe = SAFE_METHODS.has(request.method);
      if (exchange.state === "waiting") {
        if (unsafeRunning || (running && !safe)) return;
        run(exchange, request);
      }
      if (exchange.state === "running") {
        running = true;
        if (!safe) unsafeRunning = true;
      }
    }
  }

  function run(exchange: Exchange, request: HttpRequest): void {
    exchange.state = "running";
    void answer(settings.handler, request, exchange.connection).then((bytes) => {
      exchange.bytes = bytes;
      exchange.state = "ready";
      progress();
    });
  }

  /**
   * Writes the ready responses at the front of the queue. A ready response behind one that is
   * not waits: that is head-of-line blocking.
   */
  function flush(): void {
    // Corked, the responses ready now leave in one write, not one small segment each.
    socket.cork();
    while (writable && queue[0]?.state === "ready") {
      const exchange = queue.shift() as Exchange;
      // false: the socket's buffer is over its high-water mark. Wait for "drain".
      writable = socket.write(exchange.bytes as Buffer);
    }
    socket.uncork();
  }

  /** After the last response: FIN, then a while for the client's FIN. */
  function closeWhenDone(): void {
    if (!finished || queue.length > 0 || socket.writableEnded) return;
    stopHeadersTimer();
    socket.end();
    // A client that never closes its side is destroyed after the idle timeout: a half-closed
    // connection that lingers forever is a leak.
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => socket.destroy(), settings.idleTimeoutMs);
  }

  /**
   * Backpressure: while the client does not read what the server writes, or has the maximum of
   * unanswered requests, read no more from it. Its requests wait in the kernel's buffers, and
   * TCP's flow control slows the client down.
   */
  function pauseWhenFull(): void {
    const full = !writable || queue.length >= settings.maxPipelinedRequests;
    if (full && !socket.isPaused()) socket.pause();
    else if (!full && socket.isPaused()) socket.resume();
  }

  function armIdleTimer(): void {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(onIdleTimeout, settings.idleTimeoutMs);
  }

  function onIdleTimeout(): void {
    // RFC 9112 §9.5: "A client or server that wishes to time out SHOULD issue a graceful close on
    // the connection." Nothing is owed, so no response: just the FIN.
    finished = true;
    progress();
  }

  function onHeadersTimeout(): void {
    // RFC 9110 §15.5.9: 408 means "the server did not receive a complete request message within
    // the time that it was prepared to wait. [...] If the current connection is not usable (e.g.,
    // as it would be in HTTP/1.1 because request delimitation is lost), a "close" connection
    // option should be sent." Half a head is such a connection.
    finish(json(408, { error: `No complete request head within ${settings.headersTimeoutMs} ms` }));
  }

  function onDrain(): void {
    writable = true;
    progress();
  }

  function onEnd(): void {
    // The client will send nothing more (a half-close): answer what it asked, then close.
    finished = true;
    progress();
  }

  function onClose(): void {
    // Timers are cleared with the connection, so none fires on a closed socket or holds the
    // process open.
    clearTimeout(idleTimer);
    stopHeadersTimer();
    queue.length = 0;
    stats.connectionsOpen -= 1;
  }

  function onError(): void {
    socket.destroy();
  }
}

/** The response's bytes; a handler that throws or rejects gets a 500, not a dead connection. */
async function answer(
  handler: Handler,
  request: HttpRequest,
  connection: Record<string, string>,
): Promise<Buffer> {
  const head = request.method === "HEAD";
  try {
    return serializeResponse(await handler(request), { connection, head });
  } catch (error) {
    console.error(`${request.method} ${request.target} failed:`, error);
    return serializeResponse(json(500, { error: "Internal server error" }), { connection, head });
  }
}
