import type net from "node:net";
import { LineProtocolError } from "./errors.ts";
import { LineSplitter } from "./lines.ts";
import { lineTooLongReply, respond } from "./protocol.ts";

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
    // After our FIN nothing the client sends can be answered, but we keep reading it (and dropping
    // it) until the client closes too. Destroying the socket instead would be worse: a socket
    // closed with unread data answers with a reset (RFC 9293 §3.6.1), and a reset can wipe out our
    // last reply before the client has read it.
    if (this.state === "ENDED") return;
    try {
      for (const line of this.lines.feed(chunk)) {
        const reply = respond(line);
        this.send(reply.bytes);
        if (reply.close) return this.end();
      }
    } catch (error) {
      // Step 4: the line is too long. Say why, then close: the rest of the stream can no longer be
      // framed. Lines before it in this chunk were answered above.
      if (error instanceof LineProtocolError && error.code === "LINE_TOO_LONG") {
        this.send(lineTooLongReply(this.lines.maxLineBytes));
        return this.end();
      }
      throw error;
    }
    // Step 5: shutting down, and the line that was in progress is now answered.
    if (this.state === "FINISHING" && this.lines.pendingBytes === 0) this.end();
  }

  /** The client sent its FIN: "I have no more data to send" (RFC 9293 §3.6). */
  onEnd(): void {
    // Every complete line was answered as it arrived. An unfinished line without its LF is not a
    // request, so it gets no reply. Our direction is still open (allowHalfOpen), so we end it
    // ourselves: the FIN goes out after every reply already written.
    if (this.state !== "ENDED") this.end();
  }

  /** Our replies were written out to the kernel: read requests again. */
  onDrain(): void {
    this.socket.resume();
  }

  /**
   * The server is shutting down (Step 5). An idle connection ends now; one with a line in progress
   * gets that line answered first, then ends (see onData).
   */
  finish(): void {
    if (this.state !== "OPEN") return;
    this.state = "FINISHING";
    if (this.lines.pendingBytes === 0) this.end();
  }

  private send(bytes: Buffer): void {
    // Backpressure: write() returns false once writableHighWaterMark bytes or more wait to go out,
    // typically because the client sends requests without reading the replies. Stop reading its
    // requests until "drain", so a client that never reads cannot grow our memory forever.
    if (!this.socket.write(bytes)) this.socket.pause();
  }

  private end(): void {
    this.state = "ENDED";
    // end() queues our FIN after every byte written so far: the last reply is not lost.
    this.socket.end();
    // "Users must keep reading connections they close for sending until the TCP implementation
    // indicates there is no more data." (RFC 9293 §3.6) So read and drop until the client's FIN,
    // even if backpressure had paused us.
    this.socket.resume();
  }
}
