import net from "node:net";
import { type Connection, finishConnection, serveConnection } from "./connection.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./lines.ts";

export interface ServerOptions {
  /** The longest request line accepted, in bytes (Step 4). */
  maxLineBytes?: number;
}

/**
 * A TCP server for the line protocol: a net.Server that knows its connections, so it can count
 * them and shut down gracefully.
 */
export class LineServer extends net.Server {
  readonly maxLineBytes: number;
  // Connections accepted and not yet closed. (Not called `connections`: net.Server already has a
  // deprecated property of that name.)
  private readonly accepted = new Set<Connection>();

  constructor({ maxLineBytes = DEFAULT_MAX_LINE_BYTES }: ServerOptions = {}) {
    super({
      // By default Node ends our side as soon as it reads the client's FIN. Here the server
      // decides: the connection ends it once every request is answered. (This server answers
      // each line the moment it is read, so the default would lose nothing yet; a reply that
      // takes time, like a database lookup, would be cut off by it.)
      allowHalfOpen: true,
      // Each reply is one small write; send it now instead of waiting to fill a segment (Nagle).
      noDelay: true,
    });
    this.maxLineBytes = maxLineBytes;
    this.on("connection", (socket: net.Socket) => this.accept(socket));
  }

  /** Connections accepted and not yet closed. */
  get openConnections(): number {
    return this.accepted.size;
  }

  /**
   * Graceful shutdown (Step 5). Stops accepting at once, lets each open connection finish, and
   * resolves when the last one has closed.
   *
   * net.Server's close() does the first and the last part: it closes the listening socket (a new
   * SYN now gets a reset: "connection refused") and calls back when no connection is left. But it
   * never tells an open connection to finish, so one idle client would keep the server up forever.
   * Since every reply here answers a request, an idle connection gets no goodbye line (a client
   * would take it for the reply to its next request): it gets our FIN.
   */
  async shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve, reject) => {
      this.close((error) => (error ? reject(error) : resolve()));
    });
    const open = [...this.accepted];
    for (const connection of open) finishConnection(connection);
    // net calls back once every socket is destroyed; each socket's "close" event, where
    // openConnections goes down, comes a moment later. Resolve when both have happened. (Not
    // events.once(socket, "close"): it rejects on an "error" event, and a connection reset while
    // finishing is closed all the same.)
    await Promise.all([stopped, ...open.map((connection) => closeOf(connection.socket))]);
  }

  private accept(socket: net.Socket): void {
    const connection = serveConnection(socket, this.maxLineBytes);
    this.accepted.add(connection);
    socket.once("close", () => this.accepted.delete(connection));
  }
}

// A connection in `accepted` has not closed yet: its "close" takes it out of the set.
function closeOf(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

/** The server of this lesson, unstarted: whoever creates it calls listen(). */
export function createServer(options: ServerOptions = {}): LineServer {
  return new LineServer(options);
}
