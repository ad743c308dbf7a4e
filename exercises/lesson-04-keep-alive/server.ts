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
 *
 * As given, this is lesson 03's server in that shape, and it works: one request per connection,
 * answered with `Connection: close`, then FIN. createServer(), answer(), the types and the
 * stats are given and stay as they are. The TODOs mark what you change, step by step; the
 * functions and fields you add to do it are yours to design.
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
// Step 1 uses these.
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

/**
 * One request and, once the handler has answered, its response's bytes. Step 2: the connection
 * keeps a queue of these, one per request, in the order the requests arrived.
 */
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
  // TODO (Step 1): what the connection must remember to apply maxRequestsPerConnection.
  // TODO (Step 2): the Exchanges not yet written, in the order their requests arrived.
  // TODO (Step 3): the idle timer and the headers timer.
}

/** One connection, from its first byte to its close. */
export function serveConnection(socket: net.Socket, settings: Settings, stats: ServerStats): void {
  const connection: Connection = {
    socket,
    parser: new RequestParser(),
    settings,
    stats,
    state: "open",
  };
  stats.connectionsOpened += 1;
  stats.connectionsOpen += 1;
  socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
  socket.on("end", () => socketOnEnd(connection));
  socket.on("close", () => socketOnClose(connection));
  // A client that resets the connection is not the server's problem; without a listener the
  // "error" event would crash the process, and every other client with it.
  socket.on("error", () => socketOnError(connection));
  // TODO (Step 3): Backpressure: when a write() returns false, the socket emits "drain" once the
  // client has read what was waiting; listen for it.
  // TODO (Step 3): RFC 9112 §9.5: a server may close a connection nobody uses, with a graceful
  // close (FIN) and no response. A connection that never sends a byte is idle from the start.
}

// --- The socket's events --------------------------------------------------------------------

/** As given: the whole of it stays. */
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
  // The client will send nothing more (a half-close). As given: with nothing asked, close.
  // TODO (Step 2): The server is created with allowHalfOpen: a client may send its requests, then
  // its FIN, and still expect every answer. Answer every request already read, then close.
  if (connection.state !== "open") return;
  connection.state = "closing";
  connection.socket.end();
}

function socketOnClose(connection: Connection): void {
  connection.state = "closed";
  connection.stats.connectionsOpen -= 1;
  // TODO (Step 3): Clear the connection's timers with it, so that none fires on a closed socket
  // or holds the process open.
}

function socketOnError(connection: Connection): void {
  // A reset or a failed write: the socket destroys itself, and "close" follows.
  connection.state = "closed";
}

// --- Reading ----------------------------------------------------------------------------------

/** Feeds a chunk to the parser and answers what it completes, in order. */
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
  // TODO (Step 3): Timers, from where the parser stands after this chunk (parser.phase): the
  // idle timer runs only while nothing is owed (no request arriving, queued, running, or
  // unwritten). A head under way runs the headers timer, started by the chunk with the head's
  // first byte and NOT restarted by later bytes of the same head (a slowloris client trickles
  // one byte at a time); it stops when the head is complete.
  for (const request of requests) accept(connection, request);
  // A framing error leaves the rest of the stream meaningless: answer it, then close.
  // TODO (Step 2): Answer it after every request before it, with Connection: close.
  if (failure !== undefined && connection.state === "open") {
    reply(connection, Promise.resolve(serializeResponse(errorResponse(failure))));
  }
}

/** A complete request, in arrival order. As given: it is answered at once, and is the last. */
function accept(connection: Connection, request: HttpRequest): void {
  // RFC 9112 §9.6: after the request with "close", "The server MUST NOT process any further
  // requests received on that connection."
  if (connection.state !== "open") return;
  connection.stats.requests += 1;
  // TODO (Step 1): RFC 9112 §9.3: the connection persists after this request unless persists()
  // says otherwise, or the connection has served maxRequestsPerConnection requests. The response
  // says which with connectionFields() (Keep-Alive: max= counts the requests left). Only the
  // last request's response is followed by FIN.
  // TODO (Step 2): RFC 9112 §9.3.2: pipelined requests are answered in the order they arrived,
  // even when a later one is ready first. Safe methods (RFC 9110 §9.2.1) may run side by side; an
  // unsafe one runs alone, after every request before it. At most maxPipelinedRequests run or
  // wait to be written (Step 3: then read no more). The responses ready at the front of the queue
  // go out together.
  reply(connection, answer(connection.settings.handler, request, { Connection: "close" }));
}

/** As given: the one response, then FIN. Anything after it is read and dropped. */
function reply(connection: Connection, bytes: Promise<Buffer>): void {
  connection.state = "closing";
  void bytes.then((response) => connection.socket.end(response));
  // TODO (Step 3): Backpressure: while a write() has returned false and "drain" has not come,
  // write no more and read no more (socket.pause()); on "drain", go on (socket.resume()).
  // TODO (Step 3): A client that never closes its side after the server's FIN is destroyed an
  // idle timeout later: a half-closed connection must not linger forever.
}

function destroy(connection: Connection, error?: unknown): void {
  connection.state = "closed";
  connection.socket.destroy(error instanceof Error ? error : undefined);
}

// TODO (Step 3): The timeouts. Idle: RFC 9112 §9.5, "A client or server that wishes to time out
// SHOULD issue a graceful close on the connection": a FIN and no response, since nothing was
// asked. Headers: RFC 9110 §15.5.9, 408 means "the server did not receive a complete request
// message within the time that it was prepared to wait. [...] If the current connection is not
// usable (e.g., as it would be in HTTP/1.1 because request delimitation is lost), a "close"
// connection option should be sent." Half a head is such a connection: 408 with
// Connection: close, after every response before it, then FIN. Use setTimeout and clearTimeout.

/** The response's bytes; a handler that throws or rejects gets a 500, not a dead connection. */
async function answer(
  handler: Handler,
  request: HttpRequest,
  fields: Record<string, string>,
): Promise<Buffer> {
  const head = request.method === "HEAD";
  try {
    return serializeResponse(await handler(request), { connection: fields, head });
  } catch (error) {
    console.error(`${request.method} ${request.target} failed:`, error);
    return serializeResponse(json(500, { error: "Internal server error" }), {
      connection: fields,
      head,
    });
  }
}
