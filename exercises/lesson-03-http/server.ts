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
  // TODO: Each new connection is served by serveConnection(), with the profile API
  // (createProfileApi()) when no handler is given.
  return todo("lesson-03-http", "createServer()", "Step 3");
}

/**
 * One connection, from its first byte to its close: feed the parser, answer the first request (or
 * the error), close. Exported so that a test, or the next lesson's server, can reuse it.
 *
 * The course's shape for a connection: a small record (its socket, its parser, its handler and
 * ONE named state, "open" while the request is read, "closing" once it is answered) and
 * module-level named listeners that take it (socketOnData, socketOnError), as Node's own HTTP
 * server does.
 */
export function serveConnection(socket: net.Socket, handler: Handler): void {
  // TODO (Step 3): A TCP chunk is not a request: feed every chunk to this connection's
  // RequestParser; answer once a request is complete.
  // TODO (Step 3): RFC 9112 §9.6: the response says Connection: close, and the server "MUST NOT
  // process any further requests received on that connection": answer the first request only,
  // then end the connection (FIN). A response to HEAD has no body.
  // TODO (Step 6): An HttpError gets errorResponse(error), then the close. A request that was
  // complete before the bad bytes, in the same chunk (completedBeforeError), is answered
  // instead, as if the bad bytes had come in a later chunk.
  // TODO (Step 6): RFC 9112 §9.6: after answering, keep reading and dropping what arrives
  // until the client closes: closing while input is unread or still arriving makes the kernel
  // send a reset, which can destroy the response before the client reads it.
  // TODO (Step 6): A handler that throws, or any error that is not an HttpError, is the
  // server's bug (RFC 9110 §15.6.1): log it and answer 500; the server goes on serving. Thrown
  // from a socket listener, it would crash the process.
  // TODO (Step 6): A client that resets its connection makes the socket emit "error"; with no
  // listener, Node throws it and the whole server dies.
  return todo("lesson-03-http", "serveConnection()", "Step 3");
}
