import type net from "node:net";
import { LineProtocolError } from "./errors.ts";
import { LineSplitter } from "./lines.ts";
import { lineTooLongReply, respond } from "./protocol.ts";

/**
 * Where a connection is in its life:
 *
 *   open       reading lines and answering each one
 *   finishing  the server is shutting down: answer the line in progress, then end (Step 5)
 *   ended      we sent our FIN; whatever still arrives is read and dropped
 */
export type ConnectionState = "open" | "finishing" | "ended";

/**
 * The server's side of one TCP connection: what the listeners below need, and nothing else. The
 * stream state (the line in progress) belongs to the LineSplitter; the connection holds one.
 */
export interface Connection {
  readonly socket: net.Socket;
  readonly lines: LineSplitter;
  state: ConnectionState;
}

/** Serves the line protocol on a socket the server has accepted, until either side closes. */
export function serveConnection(socket: net.Socket, maxLineBytes: number): Connection {
  const connection: Connection = {
    socket,
    lines: new LineSplitter({ maxLineBytes }),
    state: "open",
  };
  socket.on("data", (chunk: Buffer) => socketOnData(connection, chunk));
  socket.on("end", () => socketOnEnd(connection));
  socket.on("drain", () => socketOnDrain(connection));
  socket.on("error", socketOnError);
  return connection;
}

/**
 * The server is shutting down (Step 5). An idle connection ends now; one with a line in progress
 * gets that line answered first, then ends (see socketOnData).
 */
export function finishConnection(connection: Connection): void {
  if (connection.state !== "open") return;
  connection.state = "finishing";
  if (connection.lines.pendingBytes === 0) end(connection);
}

/** A chunk arrived: any number of bytes, never "a message". Answer every line it completes. */
function socketOnData(connection: Connection, chunk: Buffer): void {
  // After our FIN nothing the client sends can be answered, but we keep reading it (and dropping
  // it) until the client closes too. Destroying the socket instead would be worse: a socket
  // closed with unread data answers with a reset (RFC 9293 §3.6.1), and a reset can wipe out our
  // last reply before the client has read it.
  if (connection.state === "ended") return;
  try {
    for (const line of connection.lines.feed(chunk)) {
      const reply = respond(line);
      send(connection, reply.bytes);
      if (reply.close) return end(connection);
    }
  } catch (error) {
    // Step 4: the line is too long. Say why, then close: the rest of the stream can no longer be
    // framed. Lines before it in this chunk were answered above.
    if (error instanceof LineProtocolError && error.code === "LINE_TOO_LONG") {
      send(connection, lineTooLongReply(connection.lines.maxLineBytes));
      return end(connection);
    }
    throw error;
  }
  // Step 5: shutting down, and the line that was in progress is now answered.
  if (connection.state === "finishing" && connection.lines.pendingBytes === 0) end(connection);
}

/** The client sent its FIN: "I have no more data to send" (RFC 9293 §3.6). */
function socketOnEnd(connection: Connection): void {
  // Every complete line was answered as it arrived. An unfinished line without its LF is not a
  // request, so it gets no reply. Our direction is still open (allowHalfOpen), so we end it
  // ourselves: the FIN goes out after every reply already written.
  if (connection.state !== "ended") end(connection);
}

/** Our replies were written out to the kernel: read requests again. */
function socketOnDrain(connection: Connection): void {
  connection.socket.resume();
}

/**
 * A reset (the client crashed, or aborted with RST) arrives as an "error" event, and "close"
 * follows it, where the server forgets the connection. There is nobody to tell, but without a
 * listener an "error" event would crash the whole server.
 */
function socketOnError(): void {}

function send(connection: Connection, bytes: Buffer): void {
  // Backpressure: write() returns false once writableHighWaterMark bytes or more wait to go out,
  // typically because the client sends requests without reading the replies. Stop reading its
  // requests until "drain", so a client that never reads cannot grow our memory forever.
  if (!connection.socket.write(bytes)) connection.socket.pause();
}

function end(connection: Connection): void {
  connection.state = "ended";
  // end() queues our FIN after every byte written so far: the last reply is not lost.
  connection.socket.end();
  // "Users must keep reading connections they close for sending until the TCP implementation
  // indicates there is no more data." (RFC 9293 §3.6) So read and drop until the client's FIN,
  // even if backpressure had paused us.
  connection.socket.resume();
}
