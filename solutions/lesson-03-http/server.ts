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
import { errorResponse, json, serializeResponse, type HttpResponse } from "./response.ts";
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
    if (!(error instanceof HttpError)) throw error;
    // A request completed before the bad bytes, in the same chunk, is whole: answer it, as if
    // the bad bytes had come in a later chunk (they would have been dropped, see above).
    // Otherwise a framing error leaves the rest of the stream meaningless: answer, then close.
    const before = connection.parser.completedBeforeError[0];
    if (before !== undefined) answer(connection, before);
    else close(connection, errorResponse(error), false);
    return;
  }
  // RFC 9112 §9.6: after a response with "close", a server "MUST NOT process any further
  // requests received on that connection". Only the first request is answered.
  const request = requests[0];
  if (request !== undefined) answer(connection, request);
}

function socketOnError(this: net.Socket): void {
  this.destroy();
}

/** The handler's response, or 500 if it throws: one broken request must not stop the server. */
function answer(connection: Connection, request: HttpRequest): void {
  let response: HttpResponse;
  try {
    response = connection.handler(request);
  } catch (error) {
    console.error(`${request.method} ${request.target} failed:`, error);
    response = json(500, { error: "Internal server error" });
  }
  close(connection, response, request.method === "HEAD");
}

function close(connection: Connection, response: HttpResponse, head: boolean): void {
  connection.state = "closing";
  // end() sends the response, then FIN. The socket stays readable until the client closes.
  connection.socket.end(serializeResponse(response, { head }));
}
