import net from "node:net";
import { todo } from "#shared/todo.ts";
import type { Connection } from "./connection.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./lines.ts";

export interface ServerOptions {
  /** The longest request line accepted, in bytes (Step 4). */
  maxLineBytes?: number;
}

/**
 * A TCP server for the line protocol: a net.Server that knows its connections, so it can count
 * them and shut down gracefully.
 *
 * Given: the fields and the constructor (read its options: they matter in Step 3), which hands
 * every accepted socket to accept(). You write openConnections, accept(), shutdown() and
 * createServer() below the class.
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
    // TODO: How many connections are in the set.
    return todo("lesson-01-tcp-sockets", "LineServer.openConnections", "Step 3");
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
  shutdown(): Promise<void> {
    // TODO: Stop accepting at once: net.Server's close(), whose callback comes once no connection
    //       is left (an error there means the server was not listening).
    // TODO: Tell every open connection to finish (finishConnection() in ./connection.ts).
    // TODO: net calls back as soon as its last socket is destroyed, a moment before that socket's
    //       "close" event, where openConnections goes down. Resolve once both have happened, so
    //       that openConnections is 0 by then. A connection reset while it finishes ("error",
    //       then "close") is closed all the same: shutdown() still resolves.
    return todo("lesson-01-tcp-sockets", "LineServer.shutdown()", "Step 5");
  }

  private accept(socket: net.Socket): void {
    // TODO: Serve the socket (serveConnection() in ./connection.ts) and keep its connection in
    //       the set until the socket's "close" event.
    return todo("lesson-01-tcp-sockets", "LineServer.accept()", "Step 3");
  }
}

/** The server of this lesson, unstarted: whoever creates it calls listen(). */
export function createServer(options: ServerOptions = {}): LineServer {
  // TODO: Make a LineServer with these options. Do not listen: the caller does.
  return todo("lesson-01-tcp-sockets", "createServer()", "Step 3");
}
