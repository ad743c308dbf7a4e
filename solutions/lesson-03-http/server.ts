/**
 * An HTTP/1.1 server on a bare TCP server (node:net). Per connection, a short pipeline:
 *
 *   bytes --feed--> RequestParser --request--> handler --response--> serializeResponse --> socket
 *
 * One request per connection: the server answers with `Connection: close` and closes. HTTP/1.1
 * connections persist by default (RFC 9112 §9.3); lesson 04 keeps them open.
 */
import net from "node:net";
import { HttpError, RequestParser, type HttpRequest } from "./parser.ts";
import { errorResponse, json, serializeResponse, type HttpResponse } from "./response.ts";
import { createProfileApi, type Handler } from "./routes.ts";

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
  const parser = new RequestParser();
  let answered = false;

  socket.on("data", onData);
  // A client that resets the connection is not the server's problem; without a listener the
  // "error" event would crash the whole process, and every other client with it.
  socket.on("error", onError);

  function onData(chunk: Buffer): void {
    // Bytes after the response (a second request, the rest of a refused body) are read and
    // dropped while the connection closes: closing while bytes are unread, or still arriving,
    // would make the kernel send a reset, which can destroy the response before the client
    // reads it (RFC 9112 §9.6).
    if (answered) return;
    let requests: HttpRequest[];
    try {
      requests = parser.feed(chunk);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      // A request completed before the bad bytes, in the same chunk, is whole: answer it, as if
      // the bad bytes had come in a later chunk (they would have been dropped, see above).
      const before = parser.completedBeforeError[0];
      if (before !== undefined) {
        reply(respond(handler, before), before.method === "HEAD");
        return;
      }
      // A framing error leaves the rest of the stream meaningless: answer, then close.
      reply(errorResponse(error), false);
      return;
    }
    const request = requests[0];
    if (request === undefined) return; // need more bytes
    reply(respond(handler, request), request.method === "HEAD");
  }

  function reply(response: HttpResponse, head: boolean): void {
    answered = true;
    // end() sends the response, then FIN. The socket stays readable until the client closes.
    socket.end(serializeResponse(response, { head }));
  }

  function onError(): void {
    socket.destroy();
  }
}

/** The handler's response, or 500 if it throws: one broken request must not stop the server. */
function respond(handler: Handler, request: HttpRequest): HttpResponse {
  try {
    return handler(request);
  } catch (error) {
    console.error(`${request.method} ${request.target} failed:`, error);
    return json(500, { error: "Internal server error" });
  }
}
