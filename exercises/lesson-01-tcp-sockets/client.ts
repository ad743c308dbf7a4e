import net from "node:net";
import { todo } from "#shared/todo.ts";
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from "./lines.ts";
// TODO: Import once from node:events, LineProtocolError from ./errors.ts and encodeLine from
//       ./protocol.ts.

export interface ClientOptions {
  host?: string;
  port: number;
  /** The longest reply line accepted, in bytes. */
  maxLineBytes?: number;
}

/** A request waiting for its reply. */
interface Waiting {
  resolve(reply: string): void;
  reject(error: Error): void;
}

/**
 * A client for the line protocol. Requests may be pipelined: several can be in flight at once,
 * written one after another without waiting. TCP keeps bytes in order and the server answers every
 * line with one line, in order, so the first reply belongs to the oldest waiting request.
 *
 * Given: the fields and the constructor, which wires the socket's events to the methods below.
 * You write the methods, and createClient() below the class.
 */
export class LineClient {
  private readonly socket: net.Socket;
  private readonly lines: LineSplitter;
  // Oldest first. (A long queue would want a real deque; shift() is fine at this size.)
  private readonly waiting: Waiting[] = [];
  private closing = false;
  private failure: Error | undefined;

  constructor(socket: net.Socket, maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.socket = socket;
    this.lines = new LineSplitter({ maxLineBytes });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error: Error) => this.onError(error));
    socket.on("close", () => this.onClose());
  }

  /** Sends one request line and resolves with its reply line, decoded as UTF-8. */
  request(line: string): Promise<string> {
    // TODO: A line break inside the request would put two requests on the wire and one waiting
    //       entry in the queue: every later reply would go to the wrong request. Reject with
    //       LineProtocolError NEWLINE_IN_REQUEST, and send nothing.
    // TODO: After close(): reject with CLIENT_CLOSED. Socket no longer writable (the server
    //       closed it): reject with CONNECTION_CLOSED.
    // TODO: Otherwise return a new Promise: push its resolve and reject onto `waiting`, then
    //       write encodeLine(line). No backpressure wait here: the caller holds a promise per
    //       request, which bounds how much it can queue.
    return todo("lesson-01-tcp-sockets", "LineClient.request()", "Step 6");
  }

  /**
   * Half-closes: sends our FIN ("no more requests"), keeps reading until the server has answered
   * every request already sent and closed its side too, then resolves.
   */
  close(): Promise<void> {
    // TODO: Remember that close() was called. If the socket is closed already, you are done.
    // TODO: Otherwise end() the socket (not destroy()!) and wait for its "close" event.
    return todo("lesson-01-tcp-sockets", "LineClient.close()", "Step 6");
  }

  private onData(chunk: Buffer): void {
    // TODO: For each line this.lines.feed(chunk) yields, the oldest waiting request gets it:
    //       shift() it off `waiting` and resolve it with the line decoded as UTF-8. Decode late:
    //       only a whole line is sure to hold whole UTF-8 characters.
    // TODO: No request waiting? That is LineProtocolError UNEXPECTED_REPLY.
    // TODO: A reply too long, or one nobody asked for: the stream can no longer be trusted.
    //       Destroy the socket with the error.
    return todo("lesson-01-tcp-sockets", "LineClient.onData()", "Step 6");
  }

  private onError(error: Error): void {
    // TODO: Remember the error: onClose() comes next and reports it.
    return todo("lesson-01-tcp-sockets", "LineClient.onError()", "Step 6");
  }

  private onClose(): void {
    // TODO: Whatever still waits now will never get its reply. Reject each with the remembered
    //       LineProtocolError, or else with a new CONNECTION_CLOSED one (cause: the failure).
    return todo("lesson-01-tcp-sockets", "LineClient.onClose()", "Step 6");
  }
}

/** Connects (one round trip: the TCP handshake) and resolves with a client once connected. */
export function createClient({
  host = "127.0.0.1",
  port,
  maxLineBytes,
}: ClientOptions): Promise<LineClient> {
  // TODO: net.connect({ host, port, noDelay: true }).
  // TODO: Wait for "connect" with once(): it rejects with the socket's error (ECONNREFUSED when
  //       nothing listens) if that comes first. Then wrap the socket in a LineClient.
  return todo("lesson-01-tcp-sockets", "createClient()", "Step 6");
}
