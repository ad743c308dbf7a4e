/**
 * An HTTP/1.1 server on a bare TCP server (node:net). Per connection, a short pipeline:
 *
 *   bytes --feed--> RequestParser --request--> handler --response--> serializeResponse --> socket
 *
 * One request per connection: the server answers with `Connection: close` and closes. HTTP/1.1
 * connections persist by default (RFC 9112 §9.3); lesson 04 keeps them open.
 */
import net from "node:net";
import { todo } from "#shared/todo.ts";
import type { Handler } from "./routes.ts";

/** An unstarted server; `handler` answers each parsed request (the profile API by default). */
export function createServer(handler?: Handler): net.Server {
  // TODO: Without a handler, use createProfileApi().
  // TODO: A net server that hands each new socket to serveConnection(socket, handler).
  return todo("lesson-03-http", "createServer()", "Step 5");
}

/**
 * One connection, from its first byte to its close: feed the parser, answer the first request (or
 * the error), close. Exported so that a test, or the next lesson's server, can reuse it.
 */
export function serveConnection(socket: net.Socket, handler: Handler): void {
  // TODO: One RequestParser per connection, and a flag: answered yet?
  // TODO: Listen for "error" too: a client that resets the connection is not the server's
  // problem; without a listener the "error" event would crash the whole process, and every other
  // client with it. Destroy the socket.
  // TODO: On "data" (a named function onData):
  //   - Bytes after the response (a second request, the rest of a refused body) are read and
  //     dropped while the connection closes: closing while bytes are unread, or still arriving,
  //     would make the kernel send a reset, which can destroy the response before the client
  //     reads it (RFC 9112 §9.6).
  //   - feed the chunk. An HttpError: a request completed before the bad bytes, in the same
  //     chunk (parser.completedBeforeError), is whole: answer it, as if the bad bytes had come in
  //     a later chunk. Otherwise a framing error leaves the rest of the stream meaningless:
  //     answer errorResponse(error), then close. Any other error is a bug: rethrow it.
  //   - No request yet: need more bytes. Otherwise answer the first request with the handler's
  //     response, without the body if it is HEAD. If the handler throws, log the error and
  //     answer json(500, ...): one broken request must not stop the server.
  // TODO: To answer: set the flag, then socket.end(serializeResponse(...)): end() sends the
  // response, then FIN. The socket stays readable until the client closes.
  return todo("lesson-03-http", "serveConnection()", "Step 5");
}
