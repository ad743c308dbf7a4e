import type net from "node:net";
import { todo } from "#shared/todo.ts";
import { LineSplitter } from "./lines.ts";
// TODO: Import respond and lineTooLongReply from ./protocol.ts, LineProtocolError from ./errors.ts.

/**
 * Where a connection is in its life:
 *
 *   OPEN       reading lines and answering each one
 *   FINISHING  the server is shutting down: answer the line in progress, then end (Step 5)
 *   ENDED      we sent our FIN; whatever still arrives is read and dropped
 */
type ConnectionState = "OPEN" | "FINISHING" | "ENDED";

/**
 * A reset (the client crashed, or aborted with RST) arrives as an "error" event, and "close"
 * follows it, where the server forgets the connection. There is nobody to tell, but without a
 * listener an "error" event would crash the whole server.
 */
function socketOnError(): void {}

/**
 * The server's side of one TCP connection. It owns the stream state (the line in progress and
 * where the connection is in its life), so it is a class; the server makes one per socket.
 *
 * Given: the fields and the constructor, which wires the socket's events to the methods below.
 * You write the methods.
 */
export class Connection {
  readonly socket: net.Socket;
  private readonly lines: LineSplitter;
  private state: ConnectionState = "OPEN";

  constructor(socket: net.Socket, maxLineBytes: number) {
    this.socket = socket;
    this.lines = new LineSplitter({ maxLineBytes });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.onDrain());
    socket.on("end", () => this.onEnd());
    socket.on("error", socketOnError);
  }

  /** A chunk arrived: any number of bytes, never "a message". Answer every line it completes. */
  onData(chunk: Buffer): void {
    // TODO: After our FIN (state ENDED) nothing the client sends can be answered: return, and so
    //       read and drop it until the client closes too.
    // TODO: For each line this.lines.feed(chunk) yields: respond(line), send the reply's bytes,
    //       and if the reply says close, end() and stop.
    // TODO (Step 4): The line is too long (a LineProtocolError with code LINE_TOO_LONG): send
    //       lineTooLongReply(this.lines.maxLineBytes), then end(). Rethrow any other error.
    // TODO (Step 5): Shutting down (FINISHING) and no line in progress any more: end().
    return todo("lesson-01-tcp-sockets", "Connection.onData()", "Step 3");
  }

  /** The client sent its FIN: "I have no more data to send" (RFC 9293 §3.6). */
  onEnd(): void {
    // TODO: Every complete line was answered as it arrived. An unfinished line without its LF is
    //       not a request, so it gets no reply. Our direction is still open (allowHalfOpen), so
    //       end it ourselves, unless it is ENDED already.
    return todo("lesson-01-tcp-sockets", "Connection.onEnd()", "Step 3");
  }

  /** Our replies were written out to the kernel: read requests again. */
  onDrain(): void {
    // TODO: Resume the socket that send() paused.
    return todo("lesson-01-tcp-sockets", "Connection.onDrain()", "Step 3");
  }

  /**
   * The server is shutting down (Step 5). An idle connection ends now; one with a line in progress
   * gets that line answered first, then ends (see onData).
   */
  finish(): void {
    // TODO: Only an OPEN connection changes: it becomes FINISHING.
    // TODO: No line in progress (this.lines.pendingBytes is 0)? Nothing is in flight: end() now.
    return todo("lesson-01-tcp-sockets", "Connection.finish()", "Step 5");
  }

  private send(bytes: Buffer): void {
    // TODO: Backpressure: write() returns false once writableHighWaterMark bytes or more wait to
    //       go out. Then pause the socket (stop reading requests) until "drain".
    return todo("lesson-01-tcp-sockets", "Connection.send()", "Step 3");
  }

  private end(): void {
    // TODO: The state becomes ENDED.
    // TODO: socket.end() queues our FIN after every byte written so far: the last reply is not lost.
    // TODO: "Users must keep reading connections they close for sending until the TCP
    //       implementation indicates there is no more data." (RFC 9293 §3.6) So resume the socket:
    //       read and drop until the client's FIN, even if backpressure had paused us.
    return todo("lesson-01-tcp-sockets", "Connection.end()", "Step 3");
  }
}
