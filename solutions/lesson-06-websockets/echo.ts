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
 * What one connection needs; the listeners below are module-level functions that take it.
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
  // Reading the request: the bytes so far, and lesson 03's parser for the head once it is whole.
  pending: Buffer;
  readonly requestParser: RequestParser;
  frames: FrameParser | undefined;
  messages: MessageReader | undefined;
}

/** A node:net server: lesson 03's parser reads the request; an upgrade to any path is the echo. */
export function createEchoServer(options: EchoOptions = {}): net.Server {
  return net.createServer((socket) => {
    const connection = track(socket, options);
    socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
  });
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
  const connection = track(socket, options);
  socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
  upgrade(connection, request, head);
}

/** The record and the listeners every connection has, whichever way it came in. */
function track(socket: net.Socket, options: EchoOptions): Connection {
  const connection: Connection = {
    socket,
    options,
    state: "connecting",
    pending: Buffer.alloc(0),
    requestParser: new RequestParser(),
    frames: undefined,
    messages: undefined,
  };
  socket.on("drain", socketOnDrain);
  socket.on("timeout", socketOnTimeout);
  socket.on("close", () => socketOnClose(connection));
  // A client that resets the connection is not the server's problem; without a listener the
  // "error" event would crash the whole process, and every other client with it.
  socket.on("error", socketOnError);
  return connection;
}

function socketOnData(connection: Connection, chunk: Buffer): void {
  switch (connection.state) {
    case "connecting":
      return readRequest(connection, chunk);
    case "open":
      return receive(connection, chunk);
    case "closing":
    case "closed":
      // §5.5.1: after a close, nothing more is processed. Reading on (and dropping) is how the
      // server sees the client's FIN, and unread bytes at close would make the kernel reset.
      return;
  }
}

function socketOnDrain(this: net.Socket): void {
  this.resume();
}

/** A client that never closes its side after the server's FIN is let go of. */
function socketOnTimeout(this: net.Socket): void {
  this.destroy();
}

function socketOnClose(connection: Connection): void {
  connection.state = "closed";
}

function socketOnError(this: net.Socket): void {
  this.destroy();
}

/**
 * The request head, up to its empty line, goes to lesson 03's parser; what follows it in the same
 * chunk is not HTTP any more but the first frame's bytes, kept for upgrade().
 */
function readRequest(connection: Connection, chunk: Buffer): void {
  connection.pending = Buffer.concat([connection.pending, chunk]);
  let from = 0;
  for (;;) {
    const end = connection.pending.indexOf("\r\n\r\n", from);
    if (end === -1) break;
    let requests: HttpRequest[];
    try {
      requests = connection.requestParser.feed(connection.pending.subarray(from, end + 4));
    } catch (error) {
      if (!(error instanceof HttpError)) return failed(connection, "Reading a request", error);
      return refuse(connection, new HandshakeError("WS_BAD_REQUEST", error.message));
    }
    const request = requests[0];
    const rest = connection.pending.subarray(end + 4);
    if (request !== undefined) {
      connection.pending = Buffer.alloc(0);
      return route(connection, request, rest);
    }
    if (connection.requestParser.phase === "body") {
      return refuse(connection, new HandshakeError("WS_BAD_REQUEST", "A handshake has no body"));
    }
    from = end + 4; // empty lines before the request line, skipped by the parser
  }
  if (connection.pending.length > MAX_HEADER_BYTES) {
    refuse(connection, new HandshakeError("WS_BAD_REQUEST", "The request head is too large"));
  }
}

/** A plain GET of the page gets the page; everything else is a handshake. */
function route(connection: Connection, request: HttpRequest, rest: Buffer): void {
  const plain = request.headers["upgrade"] === undefined;
  if (plain && request.method === "GET" && PAGE_PATHS.includes(request.target)) {
    connection.state = "closing";
    connection.socket.end(pageResponse());
    return;
  }
  upgrade(connection, request, rest);
}

/** Answers the handshake; once open, `head` is the first frame's bytes. */
function upgrade(connection: Connection, request: HttpRequest, head: Buffer): void {
  let response: Buffer;
  try {
    response = handshakeResponse(checkHandshake(request, connection.options));
  } catch (error) {
    if (error instanceof HandshakeError) return refuse(connection, error);
    return failed(connection, "Answering a handshake", error);
  }
  const { maxMessageBytes = MAX_MESSAGE_BYTES, maxFragments = MAX_FRAGMENTS } = connection.options;
  connection.frames = new FrameParser({ role: "server", maxPayloadBytes: maxMessageBytes });
  connection.messages = new MessageReader({ maxMessageBytes, maxFragments });
  connection.state = "open";
  connection.socket.write(response);
  if (head.length > 0) receive(connection, head);
}

/** A refused handshake: the status, then the close. */
function refuse(connection: Connection, error: HandshakeError): void {
  connection.state = "closing";
  connection.socket.end(refusalResponse(error));
}

/** Frames in, in order; a frame that breaks the protocol fails the connection after the ones before it. */
function receive(connection: Connection, chunk: Buffer): void {
  const parser = connection.frames as FrameParser;
  let frames: readonly Frame[];
  let failure: unknown;
  try {
    frames = parser.feed(chunk);
  } catch (error) {
    // The frames before the bad one are whole: they are handled first, then the error.
    frames = error instanceof WebSocketError ? parser.completedBeforeError : [];
    failure = error;
  }
  try {
    for (const frame of frames) {
      if (connection.state !== "open") return;
      handleFrame(connection, frame);
    }
    if (failure !== undefined) throw failure;
  } catch (error) {
    if (error instanceof WebSocketError) return fail(connection, error);
    return failed(connection, "Reading frames", error);
  }
}

function handleFrame(connection: Connection, frame: Frame): void {
  const incoming = (connection.messages as MessageReader).push(frame);
  if (incoming === undefined) return;
  switch (incoming.kind) {
    case "message": {
      // An echo: the same message, as one frame of the same type.
      const { message } = incoming;
      if (message.type === "text") send(connection, OPCODE.TEXT, Buffer.from(message.data, "utf8"));
      else send(connection, OPCODE.BINARY, message.data);
      return;
    }
    case "ping":
      // §5.5.3: "the Pong frame sent in response to a Ping frame must have identical
      // "Application data" as found in the message body of the Ping frame being replied to."
      return send(connection, OPCODE.PONG, incoming.payload);
    case "pong":
      // §5.5.3: "A response to an unsolicited Pong frame is not expected."
      return;
    case "close":
      // §5.5.1: the endpoint "MUST send a Close frame in response ... It SHOULD do so as soon as
      // practical", "typically echoing the status code it received". §7.1.1: then "the server
      // SHOULD close" the TCP connection first.
      return close(connection, incoming.code);
  }
}

/** §7.1.7 Fail the WebSocket Connection: a close frame with the error's code, then the FIN. */
function fail(connection: Connection, error: WebSocketError): void {
  close(connection, error.closeCode);
}

/**
 * A bug in the server, not in the peer's bytes (an error that is not the protocol's): log it,
 * answer 500 during the handshake or close 1011 once open, and go on serving everyone else.
 */
function failed(connection: Connection, what: string, error: unknown): void {
  console.error(`${what} failed:`, error);
  if (connection.state === "open") return close(connection, CLOSE.INTERNAL_ERROR);
  connection.state = "closing";
  connection.socket.end(INTERNAL_ERROR);
}

/** The close frame, once; then nothing more is sent (§5.5.1), and the FIN. */
function close(connection: Connection, code: number | undefined): void {
  send(connection, OPCODE.CLOSE, closePayload(code));
  connection.state = "closing";
  connection.socket.end();
  // The client answers the FIN with its own; one that does not is not waited for forever.
  connection.socket.setTimeout(CLOSE_TIMEOUT_MS);
}

/** How long a closing connection waits for the client's FIN. */
const CLOSE_TIMEOUT_MS = 10_000;

/** One frame, unmasked (§5.1); when the socket's buffer is full, stop reading until "drain". */
function send(connection: Connection, opcode: Opcode, payload: Buffer): void {
  if (connection.state !== "open") return;
  if (!connection.socket.write(encodeFrame({ opcode, payload }))) connection.socket.pause();
}

const INTERNAL_ERROR = Buffer.from(
  "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
  "latin1",
);
