import { once } from "node:events";
import net from "node:net";
import { LineProtocolError } from "./errors.ts";
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from "./lines.ts";
import { encodeLine } from "./protocol.ts";

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
 * Where the client is:
 *
 *   open    requests go out, replies come back
 *   closed  close() was called: new requests are refused (CLIENT_CLOSED), but every request sent
 *           before still gets its reply
 *   lost    the connection ended without close(): the server closed it, a reset, or a reply that
 *           broke the protocol. New requests are refused with the reason
 */
type ClientState = "open" | "closed" | "lost";

/**
 * A client for the line protocol. Requests may be pipelined: several can be in flight at once,
 * written one after another without waiting. TCP keeps bytes in order and the server answers every
 * line with one line, in order, so the first reply belongs to the oldest waiting request.
 *
 * A class, because it is an object its caller keeps and calls; its stream state (the reply in
 * progress) is the LineSplitter's.
 */
export class LineClient {
  private readonly socket: net.Socket;
  private readonly lines: LineSplitter;
  // Oldest first. (A long queue would want a real deque; shift() is fine at this size.)
  private readonly waiting: Waiting[] = [];
  private state: ClientState = "open";
  // Why the connection was lost, once it is: the socket's error, or the client's own.
  private failure: Error | undefined;

  constructor(socket: net.Socket, maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.socket = socket;
    this.lines = new LineSplitter({ maxLineBytes });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    // Without an "error" listener, a reset from the server would crash the whole process.
    socket.on("error", (error: Error) => this.onError(error));
    socket.on("close", () => this.onClose());
  }

  /** Sends one request line and resolves with its reply line, decoded as UTF-8. */
  request(line: string): Promise<string> {
    // A line break inside the request would put two requests on the wire and one waiting entry in
    // the queue: every later reply would go to the wrong request.
    if (line.includes("\n")) {
      const error = new LineProtocolError(
        "NEWLINE_IN_REQUEST",
        `a request is one line, got a line break in ${JSON.stringify(line)}`,
      );
      return Promise.reject(error);
    }
    if (this.state === "closed") {
      const error = new LineProtocolError(
        "CLIENT_CLOSED",
        `request(${JSON.stringify(line)}) after close()`,
      );
      return Promise.reject(error);
    }
    if (this.state === "lost") return Promise.reject(this.lostError());
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      // No backpressure wait here: the caller holds a promise per request, which bounds how much
      // it can queue, and the socket buffers what the kernel cannot take yet.
      this.socket.write(encodeLine(line));
    });
  }

  /**
   * Half-closes: sends our FIN ("no more requests"), keeps reading until the server has answered
   * every request already sent and closed its side too, then resolves.
   */
  async close(): Promise<void> {
    this.state = "closed";
    if (this.socket.closed) return;
    const closed = once(this.socket, "close");
    this.socket.end();
    await closed;
  }

  private onData(chunk: Buffer): void {
    try {
      for (const line of this.lines.feed(chunk)) {
        const waiting = this.waiting.shift();
        if (waiting === undefined) {
          throw new LineProtocolError(
            "UNEXPECTED_REPLY",
            `reply ${JSON.stringify(line.toString("utf8"))} arrived, but no request was waiting`,
          );
        }
        // Decode late: only a whole line is sure to hold whole UTF-8 characters.
        waiting.resolve(line.toString("utf8"));
      }
    } catch (error) {
      // A reply too long, or one nobody asked for: the stream can no longer be trusted.
      this.socket.destroy(error as Error);
    }
  }

  private onError(error: Error): void {
    this.failure ??= error;
  }

  private onClose(): void {
    if (this.state === "open") this.state = "lost";
    // Whatever still waits now will never get its reply.
    const error = this.lostError();
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
  }

  /** The error for a request the connection can no longer answer. */
  private lostError(): LineProtocolError {
    if (this.failure instanceof LineProtocolError) return this.failure;
    return new LineProtocolError(
      "CONNECTION_CLOSED",
      "the connection closed before the reply came",
      {
        cause: this.failure,
      },
    );
  }
}

/** Connects (one round trip: the TCP handshake) and resolves with a client once connected. */
export async function createClient({
  host = "127.0.0.1",
  port,
  maxLineBytes,
}: ClientOptions): Promise<LineClient> {
  const socket = net.connect({ host, port, noDelay: true });
  // Rejects with the socket's error (ECONNREFUSED when nothing listens) if it comes first.
  await once(socket, "connect");
  return new LineClient(socket, maxLineBytes);
}
