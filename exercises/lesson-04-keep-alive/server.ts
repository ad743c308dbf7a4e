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
 *
 * As given, serveConnection() works the way lesson 03's did: one request, `Connection: close`,
 * FIN. The TODOs say where it becomes persistent. createServer() and answer() are given.
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
 * One connection, from its first byte to its close. As given: one request, then close.
 */
export function serveConnection(socket: net.Socket, settings: Settings, stats: ServerStats): void {
  const parser = new RequestParser();
  let answered = false;
  // TODO (Step 1): A count of requests served on this connection (`served`), and a flag
  // `finished` in place of `answered`: set once the last request is accepted; no further request
  // is read, and the connection closes after the last response is written.
  // TODO (Step 2): A queue of Exchanges not yet written, in the order their requests arrived.
  // TODO (Step 3): A flag for backpressure (false from a write() that returned false until
  // "drain"), and two timers: idle and headers.

  stats.connectionsOpened += 1;
  stats.connectionsOpen += 1;
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("close", onClose);
  // A client that resets the connection is not the server's problem; without a listener the
  // "error" event would crash the process, and every other client with it.
  socket.on("error", onError);
  // TODO (Step 3): Listen for "drain". A connection that never sends a byte is idle from the
  // start: arm the idle timer.

  function onData(chunk: Buffer): void {
    // After the last exchange, bytes are read and dropped while the connection closes: closing
    // with unread bytes would send a reset, which can destroy responses the client has not read.
    if (answered) return;
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
    // TODO (Step 3): watchTimers(requests.length > 0).
    for (const request of requests) accept(request);
    // A framing error leaves the rest of the stream meaningless: answer it after every request
    // before it, then close.
    // TODO (Step 2): Queue it behind the requests before it: finish(errorResponse(failure)).
    if (failure !== undefined && !answered) {
      reply(Promise.resolve(serializeResponse(errorResponse(failure))));
    }
  }

  // TODO (Step 3): watchTimers(completed): after each chunk, from where the parser stands
  // (parser.phase). The idle timer runs only while nothing is owed: the bytes of a request (or a
  // request completed in this chunk) clear it, and only progress() arms it again, once the queue
  // is empty. A request that has arrived but is not answered yet (queued, running in a slow
  // handler, unwritten) keeps it off, however long that takes. A head under way runs the headers
  // timer. That one starts at the chunk with the head's first byte and is not restarted by later
  // bytes: a client that sends one byte every few seconds (slowloris) must not hold the connection
  // forever. A request completed in this chunk: a head still arriving is the next one's, with its
  // own clock. stopHeadersTimer(): clear the timer and forget it.

  /** A complete request, in arrival order. */
  function accept(request: HttpRequest): void {
    // TODO (Step 1): RFC 9112 §9.6: after the request with "close", "The server MUST NOT process
    // any further requests received on that connection." Count the request; it is the last one
    // unless it persists() and the connection has served fewer than maxRequestsPerConnection;
    // its response's fields are connectionFields({ open, idleTimeoutMs, remaining }). The last
    // one sets finished. For now, answer at once, and end() only after the last response.
    // TODO (Step 2): Push an Exchange ("waiting") instead of answering at once; then progress().
    if (answered) return;
    stats.requests += 1;
    reply(answer(settings.handler, request, { Connection: "close" }));
  }

  // TODO (Step 2): finish(response): the server's own last answer (an error, a timeout), after
  // every response before it. Unless finished: set finished, stop the headers timer, push a
  // "ready" exchange with the bytes of the response and { Connection: "close" }, progress().

  // TODO (Step 2): progress(), after anything happened: unless the socket is destroyed,
  // startHandlers(), flush(), closeWhenDone(), pauseWhenFull() (Step 3); and if the queue is
  // empty, the parser is "between" requests and the connection is not finished, arm the idle
  // timer.

  // TODO (Step 2): startHandlers(). RFC 9112 §9.3.2: "A server MAY process a sequence of
  // pipelined requests in parallel if they all have safe methods (Section 9.2.1 of [HTTP]), but it
  // MUST send the corresponding responses in the same order that the requests were received." So
  // a GET starts while earlier GETs run; a POST waits for everything before it, and everything
  // after it waits for the POST. Walk the queue (at most maxPipelinedRequests entries) and run()
  // each waiting exchange that may start; stop at the first that may not.

  // TODO (Step 2): run(exchange, request): mark it running; when answer() resolves, keep the
  // bytes, mark it ready, progress().

  // TODO (Step 2): flush(): write the ready responses at the front of the queue. A ready response
  // behind one that is not waits: that is head-of-line blocking. Corked, the responses ready now
  // leave in one write, not one small segment each. (Step 3: stop when write() returns false.)

  // TODO (Step 2): closeWhenDone(): when finished and the queue is empty (and not ended yet),
  // socket.end(). (Step 3: a client that never closes its side is destroyed after the idle
  // timeout: a half-closed connection that lingers forever is a leak.)

  // TODO (Step 3): pauseWhenFull(). Backpressure: while the client does not read what the server
  // writes, or has the maximum of unanswered requests, read no more from it. Its requests wait in
  // the kernel's buffers, and TCP's flow control slows the client down.

  // TODO (Step 3): armIdleTimer(), onIdleTimeout(): RFC 9112 §9.5: "A client or server that
  // wishes to time out SHOULD issue a graceful close on the connection." Nothing is owed, so no
  // response: set finished, progress().

  // TODO (Step 3): onHeadersTimeout(). RFC 9110 §15.5.9: 408 means "the server did not receive a
  // complete request message within the time that it was prepared to wait. [...] If the current
  // connection is not usable (e.g., as it would be in HTTP/1.1 because request delimitation is
  // lost), a "close" connection option should be sent." Half a head is such a connection:
  // finish(json(408, ...)).

  // TODO (Step 3): onDrain(): writable again, progress().

  /** As given: the one response, then FIN. Anything after it is read and dropped. */
  function reply(bytes: Promise<Buffer>): void {
    answered = true;
    void bytes.then((response) => socket.end(response));
  }

  function onEnd(): void {
    // The client will send nothing more (a half-close): answer what it asked, then close.
    // TODO (Step 2): Set finished, progress().
  }

  function onClose(): void {
    // TODO (Step 3): Timers are cleared with the connection, so none fires on a closed socket or
    // holds the process open. Empty the queue.
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
