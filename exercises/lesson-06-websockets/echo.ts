/**
 * A WebSocket echo server on a bare TCP server (node:net). Per connection, a short pipeline:
 *
 *   bytes --> RequestParser (lesson 03) --> checkHandshake --> 101 ------------------.
 *                                                                                    v
 *   bytes --> FrameParser --frames--> MessageReader --messages--> the same message, back
 *                                         |--ping--> pong, same payload
 *                                         '--close-> close with the peer's code, then FIN
 *
 * The handshake and the frames travel on the SAME TCP connection: once the 101 is written, the
 * socket that carried an HTTP request carries WebSocket frames, and the bytes that came after the
 * request's empty line are already the first frame's.
 */
import net from "node:net";
import {
  HttpError,
  MAX_HEADER_BYTES,
  RequestParser,
  type HttpRequest,
} from "#reference/lesson-03-http/parser.ts";
import { todo } from "#shared/todo.ts";
import { CLOSE, HandshakeError, WebSocketError } from "./errors.ts";
import { FrameParser, encodeFrame, OPCODE, type Frame, type Opcode } from "./frames.ts";
import { checkHandshake, handshakeResponse, refusalResponse } from "./handshake.ts";
import { closePayload, MAX_FRAGMENTS, MAX_MESSAGE_BYTES, MessageReader } from "./messages.ts";
import { PAGE_PATHS, pageResponse } from "./page.ts";

export interface EchoOptions {
  /** Origins allowed to open a WebSocket; a request without Origin (not a browser) is allowed. */
  origins?: readonly string[];
  /** Subprotocols the server speaks, in order of preference. */
  protocols?: readonly string[];
  /** Cap on one message's payload (bytes); more is close 1009. 1 MiB by default. */
  maxMessageBytes?: number;
  /** Cap on the number of frames of one message; more is close 1009. 1024 by default. */
  maxFragments?: number;
}

/**
 * What one connection needs, and its ONE named state; the other fields (the parsers) are yours.
 * The socket's events go to module-level named listeners that take it (socketOnData,
 * socketOnDrain, socketOnError, ...), as in Node's own HTTP server.
 *
 *   "connecting"  reading the HTTP request (createEchoServer) and answering the handshake
 *   "open"        frames flow both ways
 *   "closing"     a close frame and a FIN are sent; what still arrives is read and dropped
 *                 until the client closes its side
 *   "closed"      the TCP connection is gone
 */
interface Connection {
  readonly socket: net.Socket;
  readonly options: EchoOptions;
  state: "connecting" | "open" | "closing" | "closed";
}

/** A node:net server: lesson 03's parser reads the request; an upgrade to any path is the echo. */
export function createEchoServer(options: EchoOptions = {}): net.Server {
  // TODO (Step 1): Read the request head with lesson 03's RequestParser. Bytes after its empty
  // line, in the same chunk, are not HTTP but the first frame's: feed the parser the head only
  // (up to and including the empty line, refused past MAX_HEADER_BYTES), keep the rest.
  // TODO (Step 1): A plain GET (no Upgrade field) of one of PAGE_PATHS gets pageResponse(), given,
  // then the close; every other request is a handshake, answered as serveUpgrade() does.
  // TODO (Step 1): A request lesson 03's parser refuses (an HttpError) is a HandshakeError
  // WS_BAD_REQUEST: 400, then the close.
  return todo("lesson-06-websockets", "createEchoServer()", "Step 1");
}

/**
 * Takes over a socket whose request head has been read: answers the handshake, then echoes.
 * `head` is what arrived after the request's blank line (the first frame's bytes).
 */
export function serveUpgrade(
  socket: net.Socket,
  request: HttpRequest,
  head: Buffer,
  options: EchoOptions = {},
): void {
  // TODO (Step 1): checkHandshake(); a HandshakeError is answered with refusalResponse(), then
  // the close (FIN); a valid one with the 101, and the connection is "open". A client that resets
  // makes the socket emit "error": with no listener, Node throws it and the whole server dies.
  // TODO (Step 1): Any other error (not a HandshakeError) is the server's own bug, not the
  // client's: log it (console.error), answer 500 with Connection: close, then the FIN. The server
  // goes on serving everyone else.
  // TODO (Step 2): Once open, every chunk goes to this connection's FrameParser, `head` first.
  // TODO (Step 3): Each frame goes to a MessageReader: a message is echoed as one frame of the
  // same type (a server never masks, §5.1); a ping gets a pong with the same payload (§5.5.3);
  // an unsolicited pong needs no answer.
  // TODO (Step 3): §5.5.1: a close is answered with a close echoing the peer's code (none if it
  // sent none), and nothing is sent after a close frame. §7.1.1: then the server closes the TCP
  // connection first (FIN), reading and dropping what still arrives.
  // TODO (Step 3): §7.1.7: a WebSocketError fails the connection: a close frame with its
  // closeCode, then the FIN. The frames before the bad one in the same chunk are handled first.
  // TODO (Step 3): Backpressure: socket.write() returning false means the client is not reading
  // what the server sends (its receive buffer and the server's send buffer are full). Stop
  // reading its frames (socket.pause()) until the socket's "drain", then read again (resume()):
  // otherwise a client that sends without reading makes the server hold every echo in memory.
  return todo("lesson-06-websockets", "serveUpgrade()", "Step 1");
}
