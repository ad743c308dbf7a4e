import type net from "node:net";
import { todo } from "#shared/todo.ts";
import type { LineSplitter } from "./lines.ts";

/**
 * Where a connection is in its life:
 *
 *   open       reading lines and answering each one
 *   finishing  the server is shutting down: answer the line in progress, then end (Step 5)
 *   ended      we sent our FIN; whatever still arrives is read and dropped
 */
export type ConnectionState = "open" | "finishing" | "ended";

/**
 * The server's side of one TCP connection: what its listeners need, and nothing else. The stream
 * state (the line in progress) belongs to the LineSplitter; the connection holds one.
 */
export interface Connection {
  readonly socket: net.Socket;
  readonly lines: LineSplitter;
  state: ConnectionState;
}

/** Serves the line protocol on a socket the server has accepted, until either side closes. */
export function serveConnection(socket: net.Socket, maxLineBytes: number): Connection {
  // TODO: Make the connection's record (a LineSplitter with maxLineBytes, state "open") and
  //       listen to the socket with named functions at module level that take it: "data", "end",
  //       "drain" and "error".
  // TODO: A "data" event is a chunk, never a message. Every line it completes gets exactly one
  //       reply, respond()'s, in order. A reply that says close ends the connection: the lines
  //       after it get no answer.
  // TODO: Backpressure: once write() returns false, read no more requests until "drain".
  // TODO: The client's FIN ("end", RFC 9293 §3.6: "I have no more data to send"): every complete
  //       line is answered already, and a last line without its LF is not a request. End our
  //       side, unless it is ended already.
  // TODO: To end: socket.end() sends our FIN after every reply written, never destroy(). Then
  //       "users must keep reading connections they close for sending until the TCP
  //       implementation indicates there is no more data" (RFC 9293 §3.6): read and drop whatever
  //       still comes, even if backpressure had paused the socket.
  // TODO (Step 4): A line too long (LineProtocolError LINE_TOO_LONG from ./errors.ts): send
  //       lineTooLongReply() from ./protocol.ts with the cap, then end. The lines before it in the
  //       same chunk are answered first.
  // TODO: A reset arrives as an "error" event, and "close" follows. Nobody needs telling, but an
  //       "error" event without a listener crashes the whole server.
  return todo("lesson-01-tcp-sockets", "serveConnection()", "Step 3");
}

/**
 * The server is shutting down (Step 5). An idle connection ends now; one with a line in progress
 * gets that line answered first, then ends.
 */
export function finishConnection(connection: Connection): void {
  // TODO: Only an open connection changes.
  // TODO: Idle (the splitter holds no bytes): end it now, with our FIN and no goodbye line (the
  //       client would take a goodbye line for the reply to its next request).
  // TODO: A line in progress: the connection is finishing. Once that line is answered and no other
  //       is in progress, end it.
  return todo("lesson-01-tcp-sockets", "finishConnection()", "Step 5");
}
