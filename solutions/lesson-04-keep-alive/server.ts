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
 * Each connection is a small record (`Connection`), and the socket's events go to module-level
 * functions that take it (`socketOnData`, `socketOnEnd`, ...), as in Node's own HTTP server.
 * Whatever happens, they change the record and then call progress(), which moves the connection
 * along from where it stands.
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
  // allowHalfOpen: a client may send its requests and then its FIN (a half-close), and
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
  fields: Record<string, string>;
  state: "waiting" | "running" | "ready";
  bytes?: Buffer;
}

/**
 * Where a connection stands:
 * - "open": reading requests;
 * - "closing": the last exchange is queued (a request with close, the request limit, an error, a
 *   timeout, the client's FIN). No request is read any more; once the queue is written, FIN;
 * - "closed": the socket is closed or being destroyed. Nothing more to do.
 */
type ConnectionState = "open" | "closing" | "closed";

/** Everything one connection needs. */
interface Connection {
  readonly socket: net.Socket;
  readonly parser: RequestParser;
  readonly settings: Settings;
  readonly stats: ServerStats;
  state: ConnectionState;
  /** The exchanges not yet written, in the order their requests arrived. */
  readonly queue: Exchange[];
  /** Requests accepted on this connection, for maxRequestsPerConnection. */
  served: number;
  /** While nothing is owed: the idle timeout. After the FIN: the wait for the client's. */
  idleTimer: NodeJS.Timeout | undefined;
  /** From the first byte of a head until the head is complete. */
  headersTimer: NodeJS.Timeout | undefined;
}

/** One connection, from its first byte to its close. */
export function serveConnection(socket: net.Socket, settings: Settings, stats: ServerStats): void {
  const connection: Connection = {
    socket,
    parser: new RequestParser(),
    settings,
    stats,
    state: "open",
    queue: [],
    served: 0,
    idleTimer: undefined,
    headersTimer: undefined,
  };
  stats.connectionsOpened += 1;
  stats.connectionsOpen += 1;
  socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
  socket.on("end", () => socketOnEnd(connection));
  socket.on("drain", () => socketOnDrain(connection));
  socket.on("close", () => socketOnClose(connection));
  // A client that resets the connection is not the server's problem; without a listener the
  // "error" event would crash the process, and every other client with it.
  socket.on("error", () => socketOnError(connection));
  // A connection that never sends a byte is idle from the start.
  armIdleTimer(connection);
}

// --- The socket's events --------------------------------------------------------------------

function socketOnData(connection: Connection, chunk: Buffer): void {
  // After the last exchange, bytes are read and dropped while the connection closes: closing
  // with unread bytes would send a reset, which can destroy responses the client has not read.
  if (connection.state !== "open") return;
  try {
    readRequests(connection, chunk);
  } catch (error) {
    // Not bad input (that is an HttpError, answered in readRequests) but a bug: it ends this
    // connection, not the server. The error goes to the socket's "error" listeners.
    destroy(connection, error);
  }
}

function socketOnEnd(connection: Connection): void {
  // The client will send nothing more (a half-close): answer what it asked, then close.
  if (connection.state === "open") connection.state = "closing";
  progress(connection);
}

function socketOnDrain(connection: Connection): void {
  // The client has read what was waiting: write again, and read again.
  progress(connection);
}

function socketOnClose(connection: Connection): void {
  // Timers are cleared with the connection, so none fires on a closed socket or holds the
  // process open.
  connection.state = "closed";
  clearTimeout(connection.idleTimer);
  stopHeadersTimer(connection);
  connection.queue.length = 0;
  connection.stats.connectionsOpen -= 1;
}

function socketOnError(connection: Connection): void {
  // A reset or a failed write: the socket destroys itself, and "close" follows.
  connection.state = "closed";
}

// --- Reading ----------------------------------------------------------------------------------

/** Feeds a chunk to the parser and queues what it completes, in order. */
function readRequests(connection: Connection, chunk: Buffer): void {
  const { parser } = connection;
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
  watchTimers(connection, requests.length > 0);
  for (const request of requests) accept(connection, request);
  // A framing error leaves the rest of the stream meaningless: answer it after every request
  // before it, then close.
  if (failure !== undefined) finish(connection, errorResponse(failure));
  // Once per chunk, not once per request: the pipelined requests of one chunk are all queued
  // before progress() writes, so their responses leave together, in one write.
  progress(connection);
}

/** A complete request, in arrival order: it takes its place in the queue. */
function accept(connection: Connection, request: HttpRequest): void {
  // RFC 9112 §9.6: after the request with "close", "The server MUST NOT process any further
  // requests received on that connection."
  if (connection.state !== "open") return;
  const { settings } = connection;
  connection.served += 1;
  connection.stats.requests += 1;
  const open = persists(request) && connection.served < settings.maxRequestsPerConnection;
  const remaining = settings.maxRequestsPerConnection - connection.served;
  const fields = connectionFields({ open, idleTimeoutMs: settings.idleTimeoutMs, remaining });
  connection.queue.push({ request, fields, state: "waiting" });
  if (!open) connection.state = "closing";
}

/** The server's own last answer (an error, a timeout), after every response before it. */
function finish(connection: Connection, response: HttpResponse): void {
  if (connection.state !== "open") return;
  connection.state = "closing";
  stopHeadersTimer(connection);
  const fields = { Connection: "close" };
  const bytes = serializeResponse(response, { connection: fields });
  connection.queue.push({ request: undefined, fields, state: "ready", bytes });
  progress(connection);
}

// --- Moving along -----------------------------------------------------------------------------

/** After anything happened: start handlers, write, close, pause, or wait idle. */
function progress(connection: Connection): void {
  if (connection.state === "closed") return;
  startHandlers(connection);
  flush(connection);
  closeWhenDone(connection);
  pauseWhenFull(connection);
  const idle = connection.queue.length === 0 && connection.parser.phase === "between";
  if (idle && connection.state === "open") armIdleTimer(connection);
}

/**
 * RFC 9112 §9.3.2: "A server MAY process a sequence of pipelined requests in parallel if they
 * all have safe methods (Section 9.2.1 of [HTTP]), but it MUST send the corresponding responses
 * in the same order that the requests were received." So a GET starts while earlier GETs run;
 * a POST waits for everything before it, and everything after it waits for the POST.
 */
function startHandlers(connection: Connection): void {
  let running = false;
  let unsafeRunning = false;
  for (const [index, exchange] of connection.queue.entries()) {
    if (index >= connection.settings.maxPipelinedRequests) return;
    const { request } = exchange;
    if (request === undefined) continue;
    const safe = SAFE_METHODS.has(request.method);
    if (exchange.state === "waiting") {
      if (unsafeRunning || (running && !safe)) return;
      run(connection, exchange, request);
    }
    if (exchange.state === "running") {
      running = true;
      if (!safe) unsafeRunning = true;
    }
  }
}

function run(connection: Connection, exchange: Exchange, request: HttpRequest): void {
  exchange.state = "running";
  const { handler } = connection.settings;
  let response: ReturnType<Handler>;
  try {
    response = handler(request);
  } catch (error) {
    response = Promise.reject(error);
  }
  // A handler that answers at once (the profile API does) is served at once: its response is
  // ready before flush() runs, in the same turn as the bytes that asked for it. Waiting for a
  // promise, even one already resolved, would cost a microtask per request, and the responses of
  // one pipelined chunk would leave one write each instead of together.
  if (!(response instanceof Promise)) {
    exchange.bytes = responseBytes(response, request, exchange.fields);
    exchange.state = "ready";
    return;
  }
  void answer(response, request, exchange.fields).then((bytes) => {
    exchange.bytes = bytes;
    exchange.state = "ready";
    progress(connection);
  });
}

/**
 * Writes the ready responses at the front of the queue. A ready response behind one that is
 * not waits: that is head-of-line blocking.
 */
function flush(connection: Connection): void {
  const { socket, queue } = connection;
  // Corked, the responses ready now leave in one write, not one small segment each.
  socket.cork();
  // writableNeedDrain: a write() returned false (the socket's buffer is over its high-water
  // mark), and "drain" has not come yet.
  while (!socket.writableNeedDrain && queue[0]?.state === "ready") {
    const exchange = queue.shift() as Exchange;
    socket.write(exchange.bytes as Buffer);
  }
  socket.uncork();
}

/** After the last response: FIN, then a while for the client's FIN. */
function closeWhenDone(connection: Connection): void {
  const { socket } = connection;
  if (connection.state !== "closing" || connection.queue.length > 0 || socket.writableEnded) {
    return;
  }
  stopHeadersTimer(connection);
  socket.end();
  // A client that never closes its side is destroyed after the idle timeout: a half-closed
  // connection that lingers forever is a leak.
  clearTimeout(connection.idleTimer);
  connection.idleTimer = setTimeout(onLingerTimeout, connection.settings.idleTimeoutMs, connection);
}

/**
 * Backpressure: while the client does not read what the server writes, or has the maximum of
 * unanswered requests, read no more from it. Its requests wait in the kernel's buffers, and
 * TCP's flow control slows the client down.
 */
function pauseWhenFull(connection: Connection): void {
  const { socket, queue, settings } = connection;
  const full = socket.writableNeedDrain || queue.length >= settings.maxPipelinedRequests;
  if (full && !socket.isPaused()) socket.pause();
  else if (!full && socket.isPaused()) socket.resume();
}

function destroy(connection: Connection, error?: unknown): void {
  connection.state = "closed";
  connection.socket.destroy(error instanceof Error ? error : undefined);
}

// --- Timers -----------------------------------------------------------------------------------

/**
 * After each chunk, from where the parser stands. The idle timer runs only while nothing is
 * owed: the bytes of a request clear it, and only progress() arms it again, once the queue is
 * empty, so a slow handler is not idleness. A head under way runs the headers timer. That one
 * starts at the chunk with the head's first byte and is not restarted by later bytes: a client
 * that sends one byte every few seconds (slowloris) must not hold the connection forever.
 */
function watchTimers(connection: Connection, completed: boolean): void {
  const { phase } = connection.parser;
  if (completed || phase !== "between") clearTimeout(connection.idleTimer);
  // A request completed in this chunk: a head still arriving is the next one's, with its own
  // clock.
  if (completed || phase !== "head") stopHeadersTimer(connection);
  if (phase === "head" && connection.headersTimer === undefined) {
    const { headersTimeoutMs } = connection.settings;
    connection.headersTimer = setTimeout(onHeadersTimeout, headersTimeoutMs, connection);
  }
}

function stopHeadersTimer(connection: Connection): void {
  clearTimeout(connection.headersTimer);
  connection.headersTimer = undefined;
}

function armIdleTimer(connection: Connection): void {
  clearTimeout(connection.idleTimer);
  const { idleTimeoutMs } = connection.settings;
  connection.idleTimer = setTimeout(onIdleTimeout, idleTimeoutMs, connection);
}

function onIdleTimeout(connection: Connection): void {
  // RFC 9112 §9.5: "A client or server that wishes to time out SHOULD issue a graceful close on
  // the connection." Nothing is owed, so no response: just the FIN.
  connection.state = "closing";
  progress(connection);
}

function onHeadersTimeout(connection: Connection): void {
  // RFC 9110 §15.5.9: 408 means "the server did not receive a complete request message within
  // the time that it was prepared to wait. [...] If the current connection is not usable (e.g.,
  // as it would be in HTTP/1.1 because request delimitation is lost), a "close" connection
  // option should be sent." Half a head is such a connection.
  const { headersTimeoutMs } = connection.settings;
  finish(
    connection,
    json(408, { error: `No complete request head within ${headersTimeoutMs} ms` }),
  );
}

function onLingerTimeout(connection: Connection): void {
  // The server's FIN went out an idle timeout ago, and the client's never came.
  destroy(connection);
}

/** The response's bytes, once it comes; a handler that rejects gets a 500. */
async function answer(
  pending: Promise<HttpResponse>,
  request: HttpRequest,
  fields: Record<string, string>,
): Promise<Buffer> {
  let response: HttpResponse;
  try {
    response = await pending;
  } catch (error) {
    return internalError(request, fields, error);
  }
  return responseBytes(response, request, fields);
}

/** The bytes of a handler's response; one the writer refuses (a bad status, a bad field) is a 500. */
function responseBytes(
  response: HttpResponse,
  request: HttpRequest,
  fields: Record<string, string>,
): Buffer {
  try {
    return serializeResponse(response, { connection: fields, head: request.method === "HEAD" });
  } catch (error) {
    return internalError(request, fields, error);
  }
}

/** A bug in the handler, not in the request: logged, and answered 500, not a dead connection. */
function internalError(
  request: HttpRequest,
  fields: Record<string, string>,
  error: unknown,
): Buffer {
  console.error(`${request.method} ${request.target} failed:`, error);
  return serializeResponse(json(500, { error: "Internal server error" }), {
    connection: fields,
    head: request.method === "HEAD",
  });
}
