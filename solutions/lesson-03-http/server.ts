/**
 * An HTTP/1.1 server on a bare TCP server (node:net). Per connection, a short pipeline:
 *
 *   bytes --feed--> RequestParser --request--> handler --response--> serializeResponse --> socket
 *
 * One request per connection: the server answers with `Connection: close` and closes. HTTP/1.1
 * connections persist by default (RFC 9112 §9.3); lesson 04 keeps them open.
 */
import net from "node:net";
import { HttpError } from "./errors.ts";
import { RequestParser, type HttpRequest } from "./parser.ts";
import { errorResponse, serializeResponse, type HttpResponse } from "./response.ts";
import { createProfileApi, type Handler } from "./routes.ts";

/**
 * What one connection needs; the listeners below are module-level functions that take it.
 *
 *   "open"     reading the request
 *   "closing"  answered and FIN sent; what still arrives is read and dropped until the client
 *              closes its side
 */
interface Connection {
  readonly socket: net.Socket;
  readonly parser: RequestParser;
  readonly handler: Handler;
  state: "open" | "closing";
}

/** An unstarted server; `handler` answers each parsed request (the profile API by default). */
export function createServer(handler?: Handler): net.Server {
  const handle = handler ?? createProfileApi();
  return net.createServer((socket) => serveConnection(socket, handle));
}

/**
 * One connection, from its first byte to its close: feed the parser, answer the first request (or
 * the error), close. Exported so that a test, or the next lesson's server, can reuse it.
 */
export function serveConnection(socket: net.Socket, handler: Handler): void {
  const connection: Connection = { socket, parser: new RequestParser(), handler, state: "open" };
  socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
  // A client that resets the connection is not the server's problem; without a listener the
  // "error" event would crash the whole process, and every other client with it.
  socket.on("error", socketOnError);
}

function socketOnData(connection: Connection, chunk: Buffer): void {
  // Bytes after the response (a second request, the rest of a refused body) are read and
  // dropped while the connection closes: closing while bytes are unread, or still arriving,
  // would make the kernel send a reset, which can destroy the response before the client reads
  // it (RFC 9112 §9.6). Reading on is also how the server sees the client's FIN.
  if (connection.state === "closing") return;
  let requests: HttpRequest[];
  try {
    requests = connection.parser.feed(chunk);
  } catch (error) {
    if (!(error instanceof HttpError)) return failed(connection, "Parsing a request", error);
    // A request completed before the bad bytes, in the same chunk, is whole: answer it, as if
    // the bad bytes had come in a later chunk (they would have been dropped, see above).
    // Otherwise a framing error leaves the rest of the stream meaningless: answer, then close.
    const before = connection.parser.completedBeforeError[0];
    if (before !== undefined) return answer(connection, before);
    return reply(connection, () => errorResponse(error), false, "Refusing a request");
  }
  // RFC 9112 §9.6: after a response with "close", a server "MUST NOT process any further
  // requests received on that connection". Only the first request is answered.
  const request = requests[0];
  if (request !== undefined) answer(connection, request);
}

function socketOnError(this: net.Socket): void {
  this.destroy();
}

/** The handler's response; a handler that throws is a bug of the server: 500. */
function answer(connection: Connection, request: HttpRequest): void {
  const build = (): HttpResponse => connection.handler(request);
  reply(connection, build, request.method === "HEAD", `${request.method} ${request.target}`);
}

/** Writes the response, then FIN; the socket stays readable until the client closes. */
function reply(
  connection: Connection,
  build: () => HttpResponse,
  head: boolean,
  what: string,
): void {
  let bytes: Buffer;
  try {
    bytes = serializeResponse(build(), { head });
  } catch (error) {
    return failed(connection, what, error);
  }
  connection.state = "closing";
  connection.socket.end(bytes);
}

/**
 * A bug in the server, not in the request (the handler, the parser or the writer threw something
 * other than an HttpError): log it, answer 500 (RFC 9110 §15.6.1) without its details, close.
 * Thrown from a socket listener instead, it would crash the process, and every other client's
 * connection with it. The reply is precomputed: it must not depend on the code that failed.
 */
function failed(connection: Connection, what: string, error: unknown): void {
  console.error(`${what} failed:`, error);
  connection.state = "closing";
  connection.socket.end(INTERNAL_ERROR);
}

const INTERNAL_ERROR_BODY = '{"error":"Internal server error"}';
const INTERNAL_ERROR = Buffer.from(
  "HTTP/1.1 500 Internal Server Error\r\n" +
    "Content-Type: application/json\r\n" +
    `Content-Length: ${INTERNAL_ERROR_BODY.length}\r\n` +
    "Connection: close\r\n" +
    "\r\n" +
    INTERNAL_ERROR_BODY,
  "latin1",
);
